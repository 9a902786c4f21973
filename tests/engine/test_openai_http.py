"""The OpenAI backend against a real aiohttp server on loopback: statuses, n handling, probes."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from evalr.backends.openai import OpenAIBackend
from evalr.errors import ConfigError, FatalBackendError, TransientBackendError
from evalr.retry import RetryPolicy
from evalr.runner import RunConfig, run_async
from evalr.specs import parse
from evalr.types import GenerationRequest, Message, Sampling

from .doubles import toy_task

KEY_ENV = "EVALR_TEST_API_KEY"
KEY = "sk-test-0123456789-secret"
MODEL = "org/model"
Reply = Callable[[web.Request], Awaitable[web.StreamResponse] | web.StreamResponse]


class Server:
    """A minimal OpenAI-compatible server whose chat replies the test scripts."""

    def __init__(self, honour_n: bool = True, models_status: int = 200) -> None:
        self.honour_n = honour_n
        self.models_status = models_status
        self.models_reply: web.Response | None = None  # replaces the listing when set
        self.chat: list[dict[str, Any]] = []  # every chat payload received, probes included
        self.auth: list[str | None] = []
        self.script: list[Reply] = []  # replies for the next chat requests, then the default
        self.base_url = ""

    def answer(self, request: web.Request) -> web.Response:
        payload = self.chat[-1]
        n = payload.get("n", 1) if self.honour_n else 1
        choices = [
            {
                "index": i,
                "finish_reason": "stop",
                "message": {"content": f"<think>seed {payload['seed']}</think>\\boxed{{42}}"},
            }
            for i in range(n)
        ]
        usage = {"prompt_tokens": 9, "completion_tokens": 10 * n}
        return web.json_response({"model": MODEL, "choices": choices, "usage": usage})

    async def _models(self, request: web.Request) -> web.Response:
        if self.models_reply is not None:
            return self.models_reply
        if self.models_status != 200:
            return web.json_response({"error": "no"}, status=self.models_status)
        return web.json_response({"data": [{"id": MODEL, "owned_by": "tests", "root": "/w"}]})

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "9.9-test"})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        payload = await request.json()
        self.chat.append(payload)
        self.auth.append(request.headers.get("Authorization"))
        reply = self.script.pop(0) if self.script else self.answer
        result = reply(request)
        return await result if asyncio.iscoroutine(result) else result  # type: ignore[return-value]

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/version", self._version)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    def spec_text(self, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"api_key_env": KEY_ENV, **options}.items())
        return f"openai:{MODEL}?base_url={self.base_url}&{query}"

    def backend(self, **options: str) -> OpenAIBackend:
        return OpenAIBackend(parse(self.spec_text(**options)))

    @property
    def generation(self) -> list[dict[str, Any]]:
        """Chat payloads except the n-support probe."""
        return [p for p in self.chat if p["messages"][0]["content"] != "Say OK."]


def request(n: int) -> GenerationRequest:
    seeds = tuple(100 + 7 * i for i in range(n))
    return GenerationRequest((Message("user", "What is 6*7?"),), Sampling(max_tokens=50), seeds)


def status(code: int, headers: dict[str, str] | None = None, text: str = "nope") -> Reply:
    return lambda request: web.Response(status=code, text=text, headers=headers)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)


def arun(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def started(server: Server, tmp_path: Path, **options: str) -> OpenAIBackend:
    backend = server.backend(**options)
    await backend.start(tmp_path)
    return backend


def test_start_probes_models_version_and_n(tmp_path: Path) -> None:
    async def go() -> None:
        async with Server(honour_n=True) as server:
            backend = await started(server, tmp_path)
            try:
                assert backend.capabilities.native_n is True
                facts = backend.describe()
                assert facts["model_info"] == {"owned_by": "tests", "root": "/w"}
                assert facts["engine_version"] == "9.9-test"
                assert facts["n_probe"] == "honoured"
                assert KEY not in json.dumps(facts)
                got = await backend.generate(request(3))
            finally:
                await backend.aclose()
            (sent,) = server.generation
            assert sent["n"] == 3 and sent["seed"] == 100
            assert sent["model"] == MODEL and sent["max_tokens"] == 50
            assert [c.text for c in got] == ["\\boxed{42}"] * 3
            assert got[0].reasoning == "seed 100"
            assert got[0].usage.completion_tokens == 10
            assert set(server.auth) == {f"Bearer {KEY}"}

    arun(go())


def test_server_ignoring_n_is_detected_at_start(tmp_path: Path) -> None:
    async def go() -> None:
        async with Server(honour_n=False) as server:
            backend = await started(server, tmp_path)
            try:
                assert backend.capabilities.native_n is False
                assert backend.describe()["n_probe"] == "ignored or rejected"
                got = await backend.generate(request(3))
            finally:
                await backend.aclose()
            assert [p.get("n") for p in server.generation] == [None, None, None]
            assert sorted(p["seed"] for p in server.generation) == [100, 107, 114]
            assert sorted(c.request["seed"] for c in got) == [100, 107, 114]

    arun(go())


def test_server_ignoring_n_mid_run_fans_out_with_distinct_seeds(tmp_path: Path) -> None:
    async def go() -> None:
        async with Server(honour_n=False) as server:
            # The user claimed n works; the server silently returns one choice.
            backend = await started(server, tmp_path, native_n="true")
            try:
                assert backend.capabilities.native_n is True
                got = await backend.generate(request(3))
                assert len(got) == 3
                assert backend.capabilities.native_n is False
                assert backend.describe()["native_n"] is False
            finally:
                await backend.aclose()
            first, *rest = server.generation
            assert (first["n"], first["seed"]) == (3, 100)
            assert sorted(p["seed"] for p in rest) == [107, 114]
            assert all("n" not in p for p in rest)
            assert [c.reasoning for c in got] == ["seed 100", "seed 107", "seed 114"]

    arun(go())


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (status(429, {"Retry-After": "7"}), TransientBackendError, 7.0),
        (status(503), TransientBackendError, None),
        (
            status(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            TransientBackendError,
            None,
        ),
        (status(200, text="<html>gateway</html>"), TransientBackendError, None),
        (status(400, text="context length exceeded"), FatalBackendError, None),
        (status(404, text="model not found"), FatalBackendError, None),
    ],
)
def test_status_mapping(
    tmp_path: Path, reply: Reply, error: type[Exception], retry_after: float | None
) -> None:
    async def go() -> None:
        async with Server() as server:
            backend = await started(server, tmp_path, native_n="false")
            server.script.append(reply)
            try:
                with pytest.raises(error) as err:
                    await backend.generate(request(1))
            finally:
                await backend.aclose()
            if isinstance(err.value, TransientBackendError):
                assert err.value.retry_after == retry_after
            assert KEY not in str(err.value) and "\n" not in str(err.value)

    arun(go())


def test_fatal_error_names_the_server_reply(tmp_path: Path) -> None:
    async def go() -> None:
        async with Server() as server:
            backend = await started(server, tmp_path, native_n="false")
            server.script.append(status(400, text="context length exceeded"))
            try:
                with pytest.raises(FatalBackendError, match=r"HTTP 400.*context length exceeded"):
                    await backend.generate(request(1))
            finally:
                await backend.aclose()

    arun(go())


def test_dropped_connections_are_transient(tmp_path: Path) -> None:
    async def hang_up(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()  # before any reply
        await asyncio.sleep(0.05)
        return web.Response()

    async def cut_short(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"choices": [')
        assert request.transport is not None
        request.transport.close()  # halfway through the body
        return response

    async def go() -> None:
        async with Server() as server:
            backend = await started(server, tmp_path, native_n="false")
            try:
                # Neither is retried inside the transport: the retry policy decides.
                for replies, name in (
                    ((hang_up,), "ServerDisconnected"),
                    ((cut_short,), "ClientPayloadError|ServerDisconnected"),
                ):
                    server.script.extend(replies)
                    with pytest.raises(TransientBackendError, match=name):
                        await backend.generate(request(1))
            finally:
                await backend.aclose()

    arun(go())


def test_timeout_is_transient(tmp_path: Path) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.6)
        return web.json_response({})

    async def go() -> None:
        async with Server() as server:
            backend = await started(server, tmp_path, native_n="false", timeout_s="0.1")
            server.script.append(slow)
            try:
                with pytest.raises(TransientBackendError, match="Timeout"):
                    await backend.generate(request(1))
            finally:
                await backend.aclose()

    arun(go())


@pytest.mark.parametrize("code", [401, 403])
def test_rejected_key_at_start_names_the_env_var(tmp_path: Path, code: int) -> None:
    async def go() -> None:
        async with Server(models_status=code) as server:
            backend = server.backend()
            try:
                with pytest.raises(ConfigError, match=KEY_ENV) as err:
                    await backend.start(tmp_path)
            finally:
                await backend.aclose()
            assert KEY not in str(err.value)

    arun(go())


def test_rejected_without_a_key_says_how_to_give_one(tmp_path: Path) -> None:
    async def go() -> None:
        async with Server(models_status=401) as server:
            backend = OpenAIBackend(parse(f"openai:{MODEL}?base_url={server.base_url}"))
            try:
                with pytest.raises(ConfigError, match="api_key_env") as err:
                    await backend.start(tmp_path)
            finally:
                await backend.aclose()
            assert "None" not in str(err.value)

    arun(go())


@pytest.mark.parametrize(
    "listing",
    [web.Response(status=404), web.json_response({"data": ["org/model", None]})],
    ids=["404", "odd-entries"],
)
def test_odd_model_listings_are_tolerated(tmp_path: Path, listing: web.Response) -> None:
    async def go() -> None:
        async with Server() as server:
            server.models_reply = listing
            backend = await started(server, tmp_path)
            try:
                assert "model_info" not in backend.describe()
                assert len(await backend.generate(request(1))) == 1
            finally:
                await backend.aclose()

    arun(go())


@pytest.mark.parametrize(
    ("listing", "shown"),
    [
        (web.Response(text="<html>a web page</html>", content_type="text/html"), "text/html"),
        (web.json_response(["not", "an", "object"]), "application/json"),
        (web.Response(status=500, text="upstream down"), "HTTP 500"),
    ],
    ids=["html", "list", "500"],
)
def test_a_reply_that_is_not_an_openai_api_stops_the_start(
    tmp_path: Path, listing: web.Response, shown: str
) -> None:
    async def go() -> None:
        async with Server() as server:
            server.models_reply = listing
            with pytest.raises(ConfigError, match=shown):
                await started(server, tmp_path)
            assert server.chat == []  # nothing was asked of a wrong URL

    arun(go())


def test_unreachable_endpoint_is_a_config_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend(parse(f"openai:m?base_url=http://127.0.0.1:{port}/v1"))
    with pytest.raises(ConfigError, match=f"cannot reach http://127.0.0.1:{port}/v1"):
        arun(backend.start(tmp_path))


def test_missing_api_key_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    backend = OpenAIBackend(parse(f"openai:m?base_url=http://127.0.0.1:9/v1&api_key_env={KEY_ENV}"))
    with pytest.raises(ConfigError, match=f"{KEY_ENV} is not set"):
        arun(backend.start(tmp_path))


def test_run_through_http_with_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run over real HTTP: faults retried, one record per attempt, no key on disk."""
    task = toy_task(problems=3)

    async def go() -> Server:
        async with Server(honour_n=False) as server:
            # The first reply answers the start-up n probe; then two faults among the attempts.
            retry_later = status(429, {"Retry-After": "0.01"})
            server.script = [server.answer, status(500), server.answer, retry_later]
            config = RunConfig(
                model=parse(server.spec_text()),
                tasks=(task,),
                samples=4,
                out=tmp_path / "run",
                retry=RetryPolicy(attempts=3, base_s=0.0),
                quiet=True,
                concurrency=4,
            )
            doc = await run_async(config)
            assert doc["tasks"]["toy"]["metrics"]["pass@1"]["value"] == 1.0
            assert doc["timing"]["retries"] == 2
            sent = len(server.generation)
            again = await run_async(config)  # everything stored: no generation request
            assert len(server.generation) == sent
            assert again["tasks"] == doc["tasks"]
            return server

    server = arun(go())
    seeds = [p["seed"] for p in server.generation]
    assert len(seeds) == 12 + 2 and len(set(seeds)) == 12
    rows = [json.loads(x) for x in (tmp_path / "run/samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    assert {r["seed"] for r in rows} == set(seeds)
    assert all(r["completion"]["request"]["seed"] == r["seed"] for r in rows)
    for path in (tmp_path / "run").iterdir():
        assert KEY not in path.read_text(), path.name
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert manifest["model"]["api_key_env"] == KEY_ENV
    assert manifest["model"]["native_n"] is False


def test_extra_body_fields_are_sent_but_never_override_the_protocol(tmp_path: Path) -> None:
    """A served llama.cpp gets top_k/min_p switched off; temperature stays the protocol's."""

    async def go() -> None:
        async with Server() as server:
            backend = OpenAIBackend(
                parse(server.spec_text(native_n="false")),
                extra_body={"top_k": 0, "min_p": 0.0, "temperature": 9},
            )
            await backend.start(tmp_path)
            try:
                await backend.generate(request(1))
            finally:
                await backend.aclose()
            (sent,) = server.generation
            assert sent["top_k"] == 0 and sent["min_p"] == 0.0
            assert sent["temperature"] != 9

    arun(go())
