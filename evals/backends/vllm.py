"""vLLM in-process: the offline ``LLM`` engine, fed whole batches so it schedules them together.

Spec: ``vllm:MODEL?tensor_parallel_size=2&max_model_len=32768&gpu_memory_utilization=0.9``
(also ``dtype``, ``enable_prefix_caching`` (default true), ``trust_remote_code``, ``seed``).

Every concurrent ``generate`` call that arrives while the engine is busy joins the next
``LLM.generate`` call (``BatchQueue``); run with a high ``--concurrency`` to hand vLLM the whole
task at once. Each attempt is its own ``SamplingParams(n=1, seed=attempt seed)`` rather than one
``n=k`` request with a single seed: with prefix caching the shared prompt is computed once
either way, and each attempt stays reproducible on its own, so a resumed run regenerates
exactly the attempts that are missing.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.backends import Capabilities
from evalr.backends.batching import BatchQueue
from evalr.errors import ConfigError, FatalBackendError
from evalr.reasoning import split_reasoning
from evalr.specs import ModelSpec
from evalr.types import Completion, FinishReason, GenerationRequest, Usage

INSTALL_HINT = (
    "vLLM is not installed: pip install 'evalr[vllm]' (needs a CUDA GPU), or serve the model "
    "with --serve vllm from another environment"
)
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "abort": "error"}
_BOOL = {"true": True, "false": False}


@dataclass(frozen=True)
class VLLMOptions:
    model: str
    tensor_parallel_size: int = 1
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    dtype: str = "auto"
    enable_prefix_caching: bool = True
    trust_remote_code: bool = False
    seed: int = 0

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> VLLMOptions:
        types: dict[str, type] = {
            "tensor_parallel_size": int,
            "max_model_len": int,
            "gpu_memory_utilization": float,
            "dtype": str,
            "enable_prefix_caching": bool,
            "trust_remote_code": bool,
            "seed": int,
        }
        values: dict[str, Any] = {}
        for key, text in spec.options.items():
            if key not in types:
                known = ", ".join(sorted(types))
                raise ConfigError(f"vllm backend: unknown option {key!r}; known: {known}")
            kind = types[key]
            try:
                values[key] = _BOOL[text.lower()] if kind is bool else kind(text)
            except (KeyError, ValueError):
                raise ConfigError(
                    f"vllm backend: {key}={text!r} is not a valid {kind.__name__}"
                ) from None
        if not spec.target:
            raise ConfigError("vllm backend: name a model, e.g. vllm:deepseek-ai/DeepSeek-R1")
        return cls(model=spec.target, **values)

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``vllm.LLM``."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "tensor_parallel_size": self.tensor_parallel_size,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "dtype": self.dtype,
            "enable_prefix_caching": self.enable_prefix_caching,
            "trust_remote_code": self.trust_remote_code,
            "seed": self.seed,
        }
        if self.max_model_len is not None:
            kwargs["max_model_len"] = self.max_model_len
        return kwargs


def sampling_kwargs(request: GenerationRequest, seed: int) -> dict[str, Any]:
    """``SamplingParams`` for one attempt; also what is recorded as sent."""
    return {
        "n": 1,
        "temperature": request.sampling.temperature,
        "top_p": request.sampling.top_p,
        "max_tokens": request.sampling.max_tokens,
        "seed": seed,
    }


def render_prompt(tokenizer: Any, request: GenerationRequest) -> list[int]:
    """Token ids of the chat template's rendering plus any forced assistant prefix.

    Rendered to text first and tokenized without special tokens, so a template that writes its
    own BOS does not get a second one, and the prefix continues the assistant turn.
    """
    messages = [{"role": m.role, "content": m.content} for m in request.messages]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text + request.assistant_prefix, add_special_tokens=False)["input_ids"]
    return list(ids)


def to_completion(
    output: Any, request: GenerationRequest, sent: Mapping[str, Any], tokenizer: Any, latency: float
) -> Completion:
    """One ``RequestOutput`` (n=1) as a Completion, reasoning split from the answer."""
    choice = output.outputs[0]
    reasoning, answer = split_reasoning(choice.text, request.assistant_prefix)
    reasoning_tokens = (
        len(tokenizer(reasoning, add_special_tokens=False)["input_ids"]) if reasoning else 0
    )
    return Completion(
        text=answer,
        reasoning=reasoning,
        finish_reason=_FINISH.get(str(choice.finish_reason), "unknown"),
        usage=Usage(
            prompt_tokens=len(output.prompt_token_ids or ()),
            completion_tokens=len(choice.token_ids),
            reasoning_tokens=reasoning_tokens,
        ),
        latency_s=latency,
        request=dict(sent),
    )


class VLLMBackend:
    def __init__(self, spec: ModelSpec) -> None:
        self.options = VLLMOptions.from_spec(spec)
        if importlib.util.find_spec("vllm") is None:
            raise ConfigError(INSTALL_HINT)
        self._llm: Any = None
        self._tokenizer: Any = None
        self._queue: BatchQueue[GenerationRequest, list[Completion]] = BatchQueue(
            self._run, name="vllm"
        )
        self._facts: dict[str, Any] = {}

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(native_n=True, seeds=True, batching=True)

    async def start(self, run_dir: Path) -> None:
        await self._queue.call(self._load)

    def _load(self) -> None:
        import vllm

        started = time.perf_counter()
        self._llm = vllm.LLM(**self.options.engine_kwargs())
        self._tokenizer = self._llm.get_tokenizer()
        self._facts = {"vllm": vllm.__version__, "load_s": round(time.perf_counter() - started, 1)}

    def _run(self, requests: list[GenerationRequest]) -> Sequence[list[Completion]]:
        """One ``LLM.generate`` for every attempt of every queued request."""
        from vllm import SamplingParams

        prompts: list[dict[str, Any]] = []
        params: list[Any] = []
        sent: list[dict[str, Any]] = []
        for request in requests:
            ids = render_prompt(self._tokenizer, request)
            for seed in request.seeds:
                kwargs = sampling_kwargs(request, seed)
                prompts.append({"prompt_token_ids": ids})
                params.append(SamplingParams(**kwargs))
                sent.append(kwargs)
        started = time.perf_counter()
        try:
            outputs = self._llm.generate(prompts, params, use_tqdm=False)
        except (ValueError, RuntimeError) as exc:
            raise FatalBackendError(f"vLLM: {exc}"[:300]) from None
        latency = time.perf_counter() - started
        owners = [r for r in requests for _ in r.seeds]
        completions = iter(
            to_completion(out, owner, kw, self._tokenizer, latency)
            for out, owner, kw in zip(outputs, owners, sent, strict=True)
        )
        return [[next(completions) for _ in r.seeds] for r in requests]

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        if self._llm is None:
            raise FatalBackendError("vllm backend used before start()")
        return await self._queue.submit(request)

    def describe(self) -> Mapping[str, Any]:
        return {
            "backend": "vllm",
            "engine": self.options.engine_kwargs(),
            "batch_sizes_max": max(self._queue.batch_sizes, default=0),
            **self._facts,
        }

    async def aclose(self) -> None:
        await self._queue.aclose()
        self._llm = None
