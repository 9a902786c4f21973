"""Any OpenAI-compatible chat endpoint: OpenAI, DeepSeek, vLLM, SGLang, llama.cpp servers.

Spec: ``openai:MODEL?base_url=URL&api_key_env=VAR&native_n=auto|true|false&timeout_s=S``.
The key is read from the environment at start and lives only in request headers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evalr.backends import Capabilities
from evalr.backends.http1 import Http1Error, Response
from evalr.backends.transport import Transport, open_transport
from evalr.errors import ConfigError, FatalBackendError, TransientBackendError
from evalr.reasoning import estimate_tokens, split_reasoning
from evalr.specs import ModelSpec
from evalr.types import Completion, FinishReason, GenerationRequest, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "eos": "stop"}


@dataclass(frozen=True)
class OpenAIOptions:
    base_url: str
    api_key_env: str | None
    native_n: bool | None  # None: detect from the first reply
    timeout_s: float
    max_connections: int

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> OpenAIOptions:
        opts = dict(spec.options)
        known = {"base_url", "api_key_env", "native_n", "timeout_s", "max_connections"}
        unknown = sorted(set(opts) - known)
        if unknown:
            raise ConfigError(
                f"openai backend: unknown option {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        base_url = opts.get("base_url", DEFAULT_BASE_URL).rstrip("/")
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(
                f"openai backend: base_url must look like http://HOST:PORT/v1, not {base_url!r}"
            )
        key_env = opts.get("api_key_env") or ("OPENAI_API_KEY" if "base_url" not in opts else None)
        n_text = opts.get("native_n", "auto" if spec.native_n is None else str(spec.native_n))
        native = {"auto": None, "true": True, "false": False}.get(n_text.lower(), "bad")
        if native == "bad":
            raise ConfigError(
                f"openai backend: native_n must be auto, true or false, not {n_text!r}"
            )
        try:
            timeout = float(opts.get("timeout_s", "3600"))
            conns = int(opts.get("max_connections", "256"))
        except ValueError:
            raise ConfigError(
                "openai backend: timeout_s and max_connections must be numbers"
            ) from None
        return cls(base_url, key_env, native, timeout, conns)  # type: ignore[arg-type]


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
        raise TransientBackendError("reply has no choices")
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


class OpenAIBackend:
    def __init__(self, spec: ModelSpec, extra_body: Mapping[str, Any] | None = None) -> None:
        self.model = spec.target
        # Fixed request fields from the code that builds this backend (never from user text).
        self._extra = dict(extra_body or {})
        self.options = OpenAIOptions.from_spec(spec)
        self._native_n = self.options.native_n
        self._ignores = spec.ignores
        self._headers: dict[str, str] = {"Content-Type": "application/json"}
        self._http: Transport | None = None
        self._path = ""
        self._server: dict[str, Any] = {}

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(native_n=self._native_n is not False, seeds=True, ignores=self._ignores)

    async def start(self, run_dir: Path) -> None:
        env = self.options.api_key_env
        if env:
            key = os.environ.get(env)
            if not key:
                raise ConfigError(f"{env} is not set: export {env}=... to use {self.model}")
            self._headers["Authorization"] = f"Bearer {key}"
        url = urlsplit(self.options.base_url)
        # The transport holds the origin; paths are ours, so /version beside /v1 is reachable.
        self._path = url.path.rstrip("/")
        self._http = open_transport(
            f"{url.scheme}://{url.netloc}",
            self._headers,
            self.options.max_connections,
            self.options.timeout_s,
        )
        try:
            await self._probe()
        except BaseException:
            await self.aclose()
            raise

    async def _get_json(self, path: str, timeout_s: float) -> tuple[Response, Any]:
        resp = await self._http.request("GET", path, timeout_s=timeout_s)
        try:
            return resp, json.loads(resp.body) if resp.status == 200 else None
        except ValueError:  # not JSON: these listings are optional, as a 404 is
            return resp, None

    async def _probe(self) -> None:
        """Fail fast on an unreachable endpoint or a rejected key; record what the server says."""
        try:
            resp, body = await self._get_json(f"{self._path}/models", 30)
        except (Http1Error, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach {self.options.base_url} ({type(exc).__name__}); "
                "is the server running and the URL right?"
            ) from None
        if resp.status in (401, 403):
            env = self.options.api_key_env
            raise ConfigError(
                f"{self.options.base_url} rejected the API key (HTTP {resp.status}); "
                + (f"check {env}" if env else "name its variable with api_key_env=VAR")
            )
        self._server["server_header"] = resp.headers.get("server")
        for entry in body.get("data", []) if isinstance(body, dict) else []:
            if isinstance(entry, dict) and entry.get("id") == self.model:
                keep = ("owned_by", "max_model_len", "root", "created")
                self._server["model_info"] = {k: entry[k] for k in keep if k in entry}
        await self._engine_version()
        if self._native_n is None:
            await self._probe_n()

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
            resp = await self._http.request(
                "POST", f"{self._path}/chat/completions", json.dumps(probe).encode(), timeout_s=120
            )
            body = json.loads(resp.body) if resp.status == 200 else {}
        except (Http1Error, TimeoutError, ValueError):
            body = {}
        choices = body.get("choices") if isinstance(body, dict) else None
        self._native_n = isinstance(choices, list) and len(choices) >= 2
        self._server["n_probe"] = "honoured" if self._native_n else "ignored or rejected"

    async def _engine_version(self) -> None:
        """vLLM and SGLang answer /version beside /v1; other servers simply 404."""
        if not self._path.endswith("/v1"):
            return  # no /v1 suffix: nothing beside it to ask
        try:
            _, body = await self._get_json(f"{self._path.removesuffix('/v1')}/version", 5)
        except (Http1Error, TimeoutError):
            return
        if isinstance(body, dict) and "version" in body:
            self._server["engine_version"] = str(body["version"])

    async def _call(self, request: GenerationRequest, n: int, seed: int) -> list[Completion]:
        payload = {**self._extra, **to_payload(self.model, request, n, seed)}
        sent = {k: v for k, v in payload.items() if k != "messages"}
        started = time.perf_counter()
        try:
            resp = await self._http.request(
                "POST", f"{self._path}/chat/completions", json.dumps(payload).encode()
            )
        except (Http1Error, TimeoutError) as exc:
            raise TransientBackendError(f"{type(exc).__name__}: {exc}"[:300]) from None
        if resp.status != 200:
            text = resp.body[:300].decode("utf-8", "replace").replace("\n", " ")
            message = f"HTTP {resp.status} from {self.options.base_url}: {text}"
            if resp.status in _TRANSIENT_STATUS:
                raise TransientBackendError(message, _retry_after(resp.headers))
            raise FatalBackendError(message)
        try:
            body = json.loads(resp.body)
        except ValueError as exc:
            raise TransientBackendError(f"reply is not JSON ({exc})"[:300]) from None
        return from_response(body, request, sent, time.perf_counter() - started)

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
            **self._server,
        }

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
