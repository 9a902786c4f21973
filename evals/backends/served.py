"""Backends that start their engine server, evaluate through the OpenAI backend, then stop it.

Specs: ``vllm-server:MODEL?tensor_parallel_size=8&reasoning_parser=deepseek_r1``,
``sglang-server:MODEL?tp=8``, ``llamacpp-server:PATH.gguf?n_ctx=40960`` (or
``FILE.gguf?package=DIST`` for a GGUF inside an installed distribution). Options are the
engine's own flags, passed through; evalr's own are ``python`` (the interpreter whose engine to
run, default this one) and ``ready_timeout_s``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evalr.backends import Capabilities
from evalr.backends.llamacpp import packaged_file
from evalr.backends.openai import OpenAIBackend
from evalr.engines import ManagedServer, engine
from evalr.errors import ConfigError, FatalBackendError
from evalr.specs import ModelSpec
from evalr.types import Completion, GenerationRequest

SERVED_BACKENDS = {"vllm-server": "vllm", "sglang-server": "sglang", "llamacpp-server": "llamacpp"}


class ServedBackend:
    def __init__(self, spec: ModelSpec, engine_name: str) -> None:
        self.spec = spec
        self.engine = engine(engine_name)
        options = dict(spec.options)
        python = options.pop("python", None)
        timeout_text = options.pop("ready_timeout_s", None)
        package = options.pop("package", None)
        try:
            timeout = float(timeout_text) if timeout_text else None
        except ValueError:
            raise ConfigError(f"{spec.backend}: ready_timeout_s must be a number") from None
        model = spec.target
        if package:
            model = str(packaged_file(package, spec.target))
        self._model = model
        self._flags = options
        self._python = python
        self._timeout = timeout
        self._server: ManagedServer | None = None
        self._client: OpenAIBackend | None = None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            native_n=self.engine.capabilities.native_n,
            seeds=self.engine.capabilities.seeds,
            max_concurrency=self.engine.capabilities.max_concurrency,
            ignores=self.spec.ignores,
        )

    @property
    def server(self) -> ManagedServer | None:
        return self._server

    async def start(self, run_dir: Path) -> None:
        kwargs: dict[str, Any] = {"ready_timeout_s": self._timeout}
        if self._python:
            kwargs["python"] = self._python
        self._server = ManagedServer(self.engine, self._model, self._flags, run_dir, **kwargs)
        await self._server.start()
        client_spec = ModelSpec(
            backend="openai",
            target=self._model,
            options=MappingProxyType(
                {
                    "base_url": self._server.base_url,
                    "native_n": str(self.engine.capabilities.native_n).lower(),
                }
            ),
            ignores=self.spec.ignores,
        )
        self._client = OpenAIBackend(client_spec, extra_body=self.engine.neutral_sampling)
        try:
            await self._client.start(run_dir)
        except BaseException:
            await self._server.stop()  # a caller that never reaches aclose leaves nothing running
            raise

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        if self._client is None:
            raise FatalBackendError(f"{self.spec.backend} used before start()")
        if request.assistant_prefix and not self.engine.continues_assistant:
            # Otherwise every answer would silently read as unfinished thinking.
            raise FatalBackendError(
                f"{self.engine.name}'s server cannot continue a forced assistant prefix; "
                "drop --think-prefix or use the in-process llamacpp: backend"
            )
        return await self._client.generate(request)

    def describe(self) -> Mapping[str, Any]:
        inner = dict(self._client.describe()) if self._client else {}
        return {
            **inner,
            "backend": self.spec.backend,
            "engine": self._server.describe() if self._server else {"engine": self.engine.name},
        }

    async def aclose(self) -> None:
        try:
            if self._client is not None:
                await self._client.aclose()
        finally:
            if self._server is not None:
                await self._server.stop()


def vllm_server(spec: ModelSpec) -> ServedBackend:
    return ServedBackend(spec, "vllm")


def sglang_server(spec: ModelSpec) -> ServedBackend:
    return ServedBackend(spec, "sglang")


def llamacpp_server(spec: ModelSpec) -> ServedBackend:
    return ServedBackend(spec, "llamacpp")


def served_spec(spec: ModelSpec, engine_name: str) -> ModelSpec:
    """``--serve ENGINE``: the same model, started by evalr instead of reached at a URL.

    OpenAI-client options (base_url, api_key_env, ...) do not apply to a server evalr starts.
    """
    eng = engine(engine_name)
    backend = next(b for b, e in SERVED_BACKENDS.items() if e == eng.name)
    kept = {} if spec.backend == "openai" else dict(spec.options)
    return ModelSpec(
        backend=backend,
        target=spec.target,
        options=MappingProxyType(kept),
        name=spec.name,
        description=spec.description,
        sampling=spec.sampling,
        ignores=spec.ignores,
        native_n=eng.capabilities.native_n,
        needs_base_url=False,
        samples=spec.samples,
    )
