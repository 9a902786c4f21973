"""An OpenAI-compatible chat server on loopback for end-to-end, fault and throughput tests.

Replies come from an :class:`~evalr.testing.oracle.Oracle` (deterministic per prompt, seed and
choice index). Faults are decided per request by a stable hash of (fault seed, prompt, seed, how
many times that pair has arrived), so they do not depend on arrival order under concurrency.
``GET /stats`` counts requests per (prompt, seed) so a test can prove stored work was not
requested again; ``POST /control`` changes latency and faults on a running server.

Run it: ``python -m evalr.testing.server --port 0 --latency-ms 500 --fail-rate 0.2 --no-n``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from evalr.testing.oracle import Oracle, Reply, unit_hash
from evalr.testing.requestlog import RequestKey, RequestLog
from evalr.testing.sse import stream_reply

HOST = "127.0.0.1"
FailMode = Literal["429", "500", "503", "drop", "hang", "html", "garbage"]
FAIL_MODES: tuple[str, ...] = ("429", "500", "503", "drop", "hang", "html", "garbage")
WEB_PAGE = "<!DOCTYPE html><html><head><title>Welcome</title></head><body>It works!</body></html>"


@dataclass(frozen=True)
class ServerConfig:
    oracle: Oracle = field(default_factory=Oracle)
    model: str = "evalr-test"
    # False behaves like llama.cpp's server: ``n`` is ignored and one choice comes back.
    supports_n: bool = True
    honors_seed: bool = True
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    # Added per generated token (longest choice), so a 1-token probe returns fast as on a real
    # engine while a full reply takes its time.
    token_latency_ms: float = 0.0
    fail_rate: float = 0.0
    fail_modes: tuple[FailMode, ...] = ("429", "500", "drop")
    fail_seed: int = 0
    retry_after_s: float = 0.0
    # Prompts containing any of these always fail with ``fail_match_status``.
    fail_match: tuple[str, ...] = ()
    fail_match_status: int = 500
    hang_s: float = 30.0
    # 1 serves one request at a time, queueing the rest, like llama.cpp's server.
    max_concurrency: int | None = None
    api_key: str | None = None
    strict_model: bool = False
    # Error bodies repeat the request's Authorization header, as some proxies' debug pages do.
    echo_headers: bool = False
    # Every path answers 200 with an HTML page: a web server, not an OpenAI-compatible API.
    web_page: bool = False


@dataclass(frozen=True)
class _Call:
    """One parsed chat request, with where it stands in the request log."""

    body: Mapping[str, Any]
    prompt: str
    prefix: str  # a forced assistant turn (R1's "<think>\\n"), continued, not echoed
    key: RequestKey
    n: int
    max_tokens: int | None
    nonce: str  # what varies the reply: the seed, or the call count where seeds are ignored
    arrival: int  # how many requests with this key came before


def _error(
    status: int,
    message: str,
    kind: str,
    headers: Mapping[str, str] | None = None,
    echo: Mapping[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"error": {"message": message, "type": kind, "code": status}}
    if echo:
        body["error"]["request_headers"] = dict(echo)
    return web.json_response(body, status=status, headers=headers)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class ChatCompletionsServer:
    """The aiohttp application plus its state; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self._log = RequestLog()
        self._gate = self._make_gate()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self._ids = 0
        # Called with each parsed chat body on arrival, so a test can look at the world (say,
        # the run directory) at the moment the first request lands.
        self.observers: list[Callable[[Mapping[str, Any]], None]] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return f"{self.url}/v1"

    def stats(self, detail: bool = True) -> dict[str, Any]:
        # The server's own CPU time, so a benchmark can tell the client's cost from ours.
        return {**self._log.snapshot(detail), "process_cpu_s": time.process_time()}

    def reset_stats(self) -> None:
        self._log = RequestLog()

    def reconfigure(self, **changes: Any) -> None:
        """Replace config fields (and oracle fields such as ``p_correct``) on the running server."""
        oracle_fields = {f.name for f in dataclasses.fields(Oracle)}
        oracle = {k: changes.pop(k) for k in list(changes) if k in oracle_fields}
        for name, value in changes.items():
            if isinstance(value, list):
                changes[name] = tuple(value)
        config = dataclasses.replace(self.config, **changes)
        if oracle:
            config = dataclasses.replace(
                config, oracle=dataclasses.replace(config.oracle, **oracle)
            )
        limit_changed = config.max_concurrency != self.config.max_concurrency
        self.config = config
        if limit_changed:
            self._gate = self._make_gate()

    def _make_gate(self) -> asyncio.Semaphore | None:
        limit = self.config.max_concurrency
        return asyncio.Semaphore(limit) if limit else None

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=64 * 1024 * 1024, middlewares=[self._web_page_middleware]
        )
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/version", self._version)
        app.router.add_get("/stats", self._get_stats)
        app.router.add_post("/stats/reset", self._reset_stats)
        app.router.add_post("/control", self._control)
        return app

    async def start(self, port: int = 0) -> str:
        self._gate = self._make_gate()  # bind the semaphore to the serving loop
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, port, backlog=1024, reuse_address=True)
        await site.start()
        server: Any = site._server
        assert server is not None and server.sockets  # set by start()
        self.port = server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ChatCompletionsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- handlers -----------------------------------------------------------------------------

    @web.middleware
    async def _web_page_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.config.web_page and not request.path.startswith(("/stats", "/control")):
            self._log.statuses["html"] += 1
            return web.Response(text=WEB_PAGE, content_type="text/html")
        return await handler(request)

    def _echo(self, request: web.Request) -> dict[str, str] | None:
        if not self.config.echo_headers:
            return None
        return {"Authorization": request.headers.get("Authorization", "")}

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "evalr-test-server"})

    async def _models(self, request: web.Request) -> web.Response:
        if (denied := self._check_key(request)) is not None:
            return denied
        model = {"id": self.config.model, "object": "model", "owned_by": "evalr-test"}
        return web.json_response({"object": "list", "data": [model]})

    async def _get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats(detail=request.query.get("detail", "1") != "0"))

    async def _reset_stats(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return web.json_response({"status": "ok"})

    async def _control(self, request: web.Request) -> web.Response:
        try:
            self.reconfigure(**await request.json())
        except (TypeError, ValueError) as exc:
            return _error(400, f"bad control request: {exc}", "invalid_request_error")
        return web.json_response({"status": "ok"})

    def _check_key(self, request: web.Request) -> web.Response | None:
        expected = self.config.api_key
        if expected is None or request.headers.get("Authorization") == f"Bearer {expected}":
            return None
        self._log.statuses["401"] += 1
        return _error(
            401, "Incorrect API key provided.", "authentication_error", echo=self._echo(request)
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._check_key(request)) is not None:
            return denied
        try:
            call = self._parse(json.loads(await request.read()))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._log.statuses["400"] += 1
            return _error(400, f"invalid request: {exc}", "invalid_request_error")
        for observe in self.observers:
            observe(call.body)
        cfg = self.config
        if cfg.strict_model and call.body.get("model") != cfg.model:
            self._log.statuses["404"] += 1
            model = call.body.get("model")
            return _error(404, f"The model `{model}` does not exist.", "not_found_error")
        fault = self._fault(call)
        if fault == "429":  # rate limits answer at once, before any work
            self._log.statuses["429"] += 1
            wait = cfg.retry_after_s
            headers = {"Retry-After": str(max(0, round(wait))), "retry-after-ms": str(wait * 1000)}
            return _error(429, "Rate limit reached, retry later.", "rate_limit_error", headers)
        if self._gate is None:
            return await self._serve(request, call, fault)
        async with self._gate:
            return await self._serve(request, call, fault)

    def _parse(self, body: dict[str, Any]) -> _Call:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list")
        users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
        prompt = users[-1] if users else _text(messages[-1].get("content"))
        last = messages[-1]
        seed = body.get("seed")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        key = (hashlib.sha256(prompt.encode()).hexdigest(), seed)
        params = (
            body.get("model"),
            body.get("temperature"),
            body.get("top_p"),
            max_tokens,
            body.get("n"),
        )
        known = self.config.oracle.key.lookup(prompt) is not None
        arrival, prompt_calls = self._log.arrive(key, prompt[:80], params, known)
        # A server that ignores seeds still varies its samples from call to call.
        honored = self.config.honors_seed and seed is not None
        return _Call(
            body=body,
            prompt=prompt,
            prefix=_text(last.get("content")) if last.get("role") == "assistant" else "",
            key=key,
            n=int(body.get("n") or 1) if self.config.supports_n else 1,
            max_tokens=max_tokens,
            nonce=f"seed:{seed}" if honored else f"call:{prompt_calls}",
            arrival=arrival,
        )

    async def _serve(
        self, request: web.Request, call: _Call, fault: str | None
    ) -> web.StreamResponse:
        cfg, log = self.config, self._log
        log.enter()
        try:
            oracle = cfg.oracle
            replies = [
                oracle.reply(call.prompt, call.nonce, i, call.max_tokens, call.prefix)
                for i in range(0 if fault else call.n)
            ]
            jitter = cfg.jitter_ms * unit_hash("jitter", cfg.fail_seed, *call.key, call.arrival)
            # Choices decode side by side, so the longest one sets the generation time.
            longest = max((r.completion_tokens for r in replies), default=0)
            delay = cfg.latency_ms + jitter + cfg.token_latency_ms * longest
            if delay > 0:
                await asyncio.sleep(delay / 1000)
            if fault is not None:
                return await self._inject(request, fault)
            payload = self._answer(call, replies)
            if call.body.get("stream"):
                return await stream_reply(request, payload, call.body.get("stream_options"))
            return web.Response(body=json.dumps(payload).encode(), content_type="application/json")
        finally:
            log.leave()

    def _answer(self, call: _Call, replies: list[Reply]) -> dict[str, Any]:
        cfg, log = self.config, self._log
        choices, completion_tokens, reasoning_tokens = [], 0, 0
        for index, reply in enumerate(replies):
            message: dict[str, Any] = {"role": "assistant", "content": reply.content}
            if reply.reasoning is not None:
                message["reasoning_content"] = reply.reasoning
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            )
            completion_tokens += reply.completion_tokens
            reasoning_tokens += reply.reasoning_tokens
            log.correct += reply.correct
            if not reply.matched:
                log.unmatched.add(call.key[0])
        prompt_tokens = sum(len(_text(m.get("content")).split()) for m in call.body["messages"])
        self._ids += 1
        payload = {
            "id": f"chatcmpl-{self._ids}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.body.get("model") or cfg.model,
            "system_fingerprint": "evalr-test",
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
            },
        }
        log.answered[call.key] += 1
        log.choices += call.n
        if call.key[0] in log.known:
            log.known_choices += call.n
            log.last_known_answer_at = time.time()
        log.statuses["200"] += 1
        return payload

    def _fault(self, call: _Call) -> str | None:
        cfg = self.config
        if any(part in call.prompt for part in cfg.fail_match):
            return str(cfg.fail_match_status)
        if cfg.fail_rate <= 0:
            return None
        sha, seed = call.key
        if unit_hash("fault", cfg.fail_seed, sha, seed, call.arrival) >= cfg.fail_rate:
            return None
        pick = unit_hash("mode", cfg.fail_seed, sha, seed, call.arrival)
        return cfg.fail_modes[int(pick * len(cfg.fail_modes))]

    async def _inject(self, request: web.Request, fault: str) -> web.StreamResponse:
        self._log.statuses[fault] += 1
        if fault == "drop":
            # Headers and half a body, then the connection goes: the client sees a broken read.
            response = web.StreamResponse(
                status=200, headers={"Content-Type": "application/json", "Content-Length": "4096"}
            )
            await response.prepare(request)
            await response.write(b'{"id": "chatcmpl-dropped", "choi')
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        if fault == "hang":
            await asyncio.sleep(self.config.hang_s)
            fault = "503"
        if fault == "html":  # a proxy's or load balancer's page, with a 200
            return web.Response(text=WEB_PAGE, content_type="text/html")
        if fault == "garbage":
            return web.Response(body=b"\x00\x17 not json {", content_type="application/json")
        status = int(fault)
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return _error(status, f"injected failure ({status})", kind, echo=self._echo(request))


async def start_server(
    config: ServerConfig | None = None, port: int = 0
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Start a server on the running loop; returns its ``/v1`` base URL and a stop coroutine."""
    server = ChatCompletionsServer(config)
    base_url = await server.start(port)
    return base_url, server.stop


if __name__ == "__main__":
    from evalr.testing.server_cli import main

    main()
