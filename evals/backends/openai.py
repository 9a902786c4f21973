"""Any OpenAI-compatible chat endpoint: OpenAI, DeepSeek, vLLM, SGLang, llama.cpp servers.

Spec: ``openai:MODEL?base_url=URL&api_key_env=VAR&native_n=auto|true|false&timeout_s=S
&stream=false|true``. The key is read from the environment at start and lives only in request
headers; credentials in the URL (``http://user:pass@host/v1``) become a Basic header and are
never stored. Every request goes through aiohttp.

``stream=true`` asks for server-sent events: a long reasoning generation then keeps the
connection busy through proxies that cut idle ones; the deltas are assembled into the same
reply a non-streamed request returns, so the stored records are identical.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from evalr.backends import Capabilities
from evalr.errors import ConfigError, FatalBackendError, TransientBackendError
from evalr.reasoning import estimate_tokens, split_reasoning
from evalr.secrets import redact_url, url_secrets
from evalr.specs import ModelSpec
from evalr.types import Completion, FinishReason, GenerationRequest, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "eos": "stop"}
_SNIPPET = 240  # characters of an error body kept in messages (and so in stored records)
_FLAGS = {"true": True, "false": False}


@dataclass(frozen=True)
class OpenAIOptions:
    base_url: str  # without user-info
    api_key_env: str | None
    native_n: bool | None  # None: detect at start
    timeout_s: float
    max_connections: int
    stream: bool
    basic_auth: str | None  # from the URL's user-info, never shown

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> OpenAIOptions:
        opts = dict(spec.options)
        known = {"base_url", "api_key_env", "native_n", "timeout_s", "max_connections", "stream"}
        unknown = sorted(set(opts) - known)
        if unknown:
            raise ConfigError(
                f"openai backend: unknown option {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        raw_url = opts.get("base_url", DEFAULT_BASE_URL).rstrip("/")
        url = urlsplit(raw_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                "openai backend: base_url must look like http://HOST:PORT/v1, not "
                f"{redact_url(raw_url)!r}"
            )
        basic = None
        if url.username is not None:
            pair = f"{unquote(url.username)}:{unquote(url.password or '')}"
            basic = base64.b64encode(pair.encode()).decode()
        key_env = opts.get("api_key_env") or ("OPENAI_API_KEY" if "base_url" not in opts else None)
        n_text = opts.get("native_n", "auto" if spec.native_n is None else str(spec.native_n))
        if n_text.lower() not in ("auto", "true", "false"):
            raise ConfigError(
                f"openai backend: native_n must be auto, true or false, not {n_text!r}"
            )
        stream = opts.get("stream", "false").lower()
        if stream not in _FLAGS:
            raise ConfigError(f"openai backend: stream must be true or false, not {stream!r}")
        try:
            timeout = float(opts.get("timeout_s", "3600"))
            conns = int(opts.get("max_connections", "256"))
        except ValueError:
            raise ConfigError(
                "openai backend: timeout_s and max_connections must be numbers"
            ) from None
        return cls(
            redact_url(raw_url),
            key_env,
            _FLAGS.get(n_text.lower()),
            timeout,
            conns,
            _FLAGS[stream],
            basic,
        )


def to_payload(model: str, request: GenerationRequest, n: int, seed: int) -> dict[str, Any]:
    """The request body for one call; pure, so tests can check exactly what is sent."""
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    payload: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": request.sampling.temperature,
        "top_p": request.sampling.top_p,
        "max_tokens": request.sampling.max_tokens,
        "seed": seed,
    }
    if n > 1:
        payload["n"] = n
    if request.assistant_prefix:
        # vLLM / SGLang semantics: continue a partial assistant turn instead of opening a new one.
        messages.append({"role": "assistant", "content": request.assistant_prefix})
        payload["continue_final_message"] = True
        payload["add_generation_prompt"] = False
    return payload


def from_response(
    body: Mapping[str, Any], request: GenerationRequest, sent: Mapping[str, Any], latency: float
) -> list[Completion]:
    """Completions from a chat-completions reply, reasoning split from the answer."""
    # A proxy's error page can be valid JSON that is not an object: retry, do not crash the run.
    choices = body.get("choices") if isinstance(body, Mapping) else None
    if not isinstance(choices, list) or not choices:
        raise TransientBackendError("reply has no choices", cause="malformed reply")
    usage = body.get("usage") or {}
    details = usage.get("completion_tokens_details") or {}
    out = []
    for choice in sorted(choices, key=lambda c: c.get("index", 0)):
        message = choice.get("message") or {}
        content = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning is None:
            reasoning, content = split_reasoning(content, request.assistant_prefix)
        # Usage covers all choices of a request; split it evenly when n > 1.
        share = len(choices)
        completion_tokens = int(usage.get("completion_tokens") or 0) // share
        reasoning_tokens = int(details.get("reasoning_tokens") or 0) // share
        if not reasoning_tokens and reasoning:
            reasoning_tokens = estimate_tokens(reasoning)
        out.append(
            Completion(
                text=content,
                reasoning=reasoning,
                finish_reason=_FINISH.get(str(choice.get("finish_reason")), "unknown"),
                usage=Usage(
                    int(usage.get("prompt_tokens") or 0), completion_tokens, reasoning_tokens
                ),
                latency_s=latency,
                request=sent,
                model=body.get("model"),
            )
        )
    return out


def assemble_stream(events: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The non-streamed reply body that a list of chat-completion chunks adds up to."""
    choices: dict[int, dict[str, Any]] = {}
    body: dict[str, Any] = {}
    for event in events:
        body.setdefault("model", event.get("model"))
        if event.get("usage"):
            body["usage"] = event["usage"]
        for delta_choice in event.get("choices") or []:
            index = int(delta_choice.get("index", 0))
            slot = choices.setdefault(
                index, {"index": index, "content": [], "reasoning": [], "finish_reason": None}
            )
            delta = delta_choice.get("delta") or {}
            if delta.get("content"):
                slot["content"].append(delta["content"])
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if thought:
                slot["reasoning"].append(thought)
            if delta_choice.get("finish_reason"):
                slot["finish_reason"] = delta_choice["finish_reason"]
    body["choices"] = [
        {
            "index": slot["index"],
            "message": {
                "role": "assistant",
                "content": "".join(slot["content"]),
                **({"reasoning_content": "".join(slot["reasoning"])} if slot["reasoning"] else {}),
            },
            "finish_reason": slot["finish_reason"],
        }
        for slot in sorted(choices.values(), key=lambda s: s["index"])
    ]
    return body


def _snippet(data: bytes) -> str:
    return " ".join(data[: _SNIPPET * 2].decode("utf-8", "replace").split())[:_SNIPPET]


class OpenAIBackend:
    def __init__(self, spec: ModelSpec, extra_body: Mapping[str, Any] | None = None) -> None:
        self.model = spec.target
        # Fixed request fields from the code that builds this backend (never from user text).
        self._extra = dict(extra_body or {})
        self.options = OpenAIOptions.from_spec(spec)
        self._native_n = self.options.native_n
        self._ignores = spec.ignores
        self._url_secrets = url_secrets(str(spec.options.get("base_url", "")))
        self._headers: dict[str, str] = {"Content-Type": "application/json"}
        if self.options.basic_auth:
            self._headers["Authorization"] = f"Basic {self.options.basic_auth}"
        self._key: str | None = None
        self._given: dict[str, str] = {}
        self._session: Any = None
        self._aiohttp: Any = None
        self._server: dict[str, Any] = {}

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(native_n=self._native_n is not False, seeds=True, ignores=self._ignores)

    def secrets(self) -> list[str]:
        """Values that must never reach disk or logs (the run scrubs them everywhere)."""
        found = list(self._url_secrets)
        if self._key:
            found.append(self._key)
        if self.options.basic_auth:
            found.append(self.options.basic_auth)
        return found

    def use_keys(self, values: Mapping[str, str]) -> None:
        """API-key values by variable name, used before this process's environment (a Ray
        worker gets the driver's keys this way, as values, never through its environment)."""
        self._given = dict(values)

    def _url(self, path: str) -> str:
        return f"{self.options.base_url}{path}"

    async def start(self, run_dir: Path) -> None:
        import aiohttp

        env = self.options.api_key_env
        if env:
            key = self._given.get(env) or os.environ.get(env)
            if not key:
                raise ConfigError(f"{env} is not set: export {env}=... to use {self.model}")
            self._key = key
            self._headers["Authorization"] = f"Bearer {key}"
        self._aiohttp = aiohttp
        self._session = aiohttp.ClientSession(
            headers=self._headers,
            connector=aiohttp.TCPConnector(limit=self.options.max_connections),
            timeout=self._timeout(),
        )
        try:
            await self._probe()
        except BaseException:
            await self.aclose()
            raise

    def _timeout(self) -> Any:
        if self.options.stream:  # a stream may run for an hour: bound the silence, not the total
            return self._aiohttp.ClientTimeout(total=None, sock_read=self.options.timeout_s)
        return self._aiohttp.ClientTimeout(total=self.options.timeout_s)

    async def _get(self, path: str, timeout_s: float) -> tuple[int, Mapping[str, str], bytes]:
        timeout = self._aiohttp.ClientTimeout(total=timeout_s)
        async with self._session.get(self._url(path), timeout=timeout) as resp:
            return resp.status, resp.headers, await resp.read()

    async def _probe(self) -> None:
        """Fail fast on an unreachable endpoint, a rejected key or a URL that is not an
        OpenAI-compatible API (a web page answering 200); record what the server says."""
        where = self.options.base_url
        try:
            status, headers, data = await self._get("/models", 30)
        except (self._aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach {where} ({type(exc).__name__}); is the server running and the "
                "URL right?"
            ) from None
        if status in (401, 403):
            env = self.options.api_key_env
            raise ConfigError(
                f"{where} rejected the API key (HTTP {status}); "
                + (f"check {env}" if env else "name its variable with api_key_env=VAR")
            )
        if status == 200:
            self._check_listing(headers, data)
        elif status not in (404, 405):  # a missing listing is allowed; anything else is not
            raise ConfigError(
                f"{where}/models answered HTTP {status} ({_snippet(data)}); is this the "
                "OpenAI-compatible base URL (usually ending in /v1)?"
            )
        self._server["server_header"] = headers.get("server")
        await self._engine_version()
        if self._native_n is None:
            await self._probe_n()

    def _check_listing(self, headers: Mapping[str, str], data: bytes) -> None:
        try:
            body = json.loads(data)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            kind = headers.get("content-type", "unknown type").split(";")[0]
            raise ConfigError(
                f"{self.options.base_url}/models did not answer like an OpenAI-compatible API "
                f"({kind}: {_snippet(data)[:80]}); check the URL (usually ending in /v1)"
            )
        for entry in body["data"]:
            if isinstance(entry, dict) and entry.get("id") == self.model:
                keep = ("owned_by", "max_model_len", "root", "created")
                self._server["model_info"] = {k: entry[k] for k in keep if k in entry}

    async def _probe_n(self) -> None:
        """Ask once for two one-token choices: servers that ignore n return one.

        Knowing before the run starts keeps every request inside --concurrency and makes the
        grouping of attempts (hence the samples) independent of timing; a server that rejects
        the probe is treated as not supporting n (one request per attempt is always safe).
        """
        probe = {
            "model": self.model,
            "messages": [{"role": "user", "content": "Say OK."}],
            "max_tokens": 1,
            "n": 2,
            "temperature": 1.0,
            "seed": 0,
        }
        try:
            timeout = self._aiohttp.ClientTimeout(total=120)
            async with self._session.post(
                self._url("/chat/completions"), data=json.dumps(probe).encode(), timeout=timeout
            ) as resp:
                body = json.loads(await resp.read()) if resp.status == 200 else {}
        except (self._aiohttp.ClientError, TimeoutError, ValueError):
            body = {}
        choices = body.get("choices") if isinstance(body, dict) else None
        self._native_n = isinstance(choices, list) and len(choices) >= 2
        self._server["n_probe"] = "honoured" if self._native_n else "ignored or rejected"

    async def _engine_version(self) -> None:
        """vLLM and SGLang answer /version beside /v1; other servers simply 404."""
        base = urlsplit(self.options.base_url)
        if not base.path.rstrip("/").endswith("/v1"):
            return  # no /v1 suffix: nothing beside it to ask
        url = self.options.base_url.removesuffix("/v1") + "/version"
        try:
            timeout = self._aiohttp.ClientTimeout(total=5)
            async with self._session.get(url, timeout=timeout) as resp:
                body = json.loads(await resp.read()) if resp.status == 200 else None
        except (self._aiohttp.ClientError, TimeoutError, ValueError):
            return
        if isinstance(body, dict) and "version" in body:
            self._server["engine_version"] = str(body["version"])

    async def _call(self, request: GenerationRequest, n: int, seed: int) -> list[Completion]:
        payload = {**self._extra, **to_payload(self.model, request, n, seed)}
        sent = {k: v for k, v in payload.items() if k != "messages"}
        if self.options.stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        started = time.perf_counter()
        try:
            async with self._session.post(
                self._url("/chat/completions"), data=json.dumps(payload).encode()
            ) as resp:
                if resp.status != 200:
                    raise self._status_error(resp.status, resp.headers, await resp.read())
                body = await (self._read_stream(resp) if self.options.stream else resp.read())
        except (self._aiohttp.ClientError, TimeoutError) as exc:
            name = type(exc).__name__
            raise TransientBackendError(f"{name}: {exc}"[:300], cause=name) from None
        if not isinstance(body, dict):
            body = self._decode(body)
        return from_response(body, request, sent, time.perf_counter() - started)

    def _decode(self, data: bytes) -> dict[str, Any]:
        try:
            body = json.loads(data)
        except ValueError:
            raise TransientBackendError(
                f"reply from {self.options.base_url} is not JSON: {_snippet(data)}",
                cause="reply not JSON",
            ) from None
        return body if isinstance(body, dict) else {}

    async def _read_stream(self, resp: Any) -> dict[str, Any]:
        events = []
        async for raw in resp.content:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            try:
                events.append(json.loads(data))
            except ValueError:
                raise TransientBackendError(
                    f"stream event is not JSON: {_snippet(data)}", cause="reply not JSON"
                ) from None
        return assemble_stream(events)

    def _status_error(
        self, status: int, headers: Mapping[str, str], data: bytes
    ) -> TransientBackendError | FatalBackendError:
        message = f"HTTP {status} from {self.options.base_url}: {_snippet(data)}"
        if status in _TRANSIENT_STATUS:
            return TransientBackendError(
                message, _retry_after(headers), cause=f"HTTP {status}", rate_limited=status == 429
            )
        return FatalBackendError(message, cause=f"HTTP {status}")

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        if request.n == 1 or self._native_n is False:
            results = [await self._call(request, 1, s) for s in request.seeds]
            return [c for r in results for c in r[:1]]
        got = await self._call(request, request.n, request.seeds[0])
        if len(got) >= request.n:
            self._native_n = True
            return got[: request.n]
        # The server ignored n (llama.cpp's does, silently): one request per remaining seed.
        self._native_n = False
        rest = await asyncio.gather(*(self._call(request, 1, s) for s in request.seeds[len(got) :]))
        return got + [r[0] for r in rest]

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": "openai",
            "model": self.model,
            "base_url": self.options.base_url,
            "api_key_env": self.options.api_key_env,
            "native_n": self._native_n,
            "stream": self.options.stream,
            **self._server,
        }

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
