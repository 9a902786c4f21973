"""Any lm-evaluation-harness model class as an evalr backend, through ``generate_until``.

Spec: ``lm-eval:MODEL_TYPE?ARG=VALUE&...`` where MODEL_TYPE is lm-eval's registered name (hf,
vllm, sglang, local-completions, local-chat-completions, ...) and the arguments are the ones
lm-eval's ``--model_args`` takes, e.g.
``lm-eval:local-chat-completions?model=MODEL&base_url=http://HOST:PORT/v1/chat/completions``.

evalr's own options: ``seeds=attempt|off`` and ``threads=N``.

- ``seeds=attempt`` (default) puts each attempt's seed in its ``gen_kwargs``, so a
  seed-honouring endpoint returns k different samples. (lm-eval itself sends every repeat with
  one identical seed.) lm-eval groups requests by ``gen_kwargs``, so distinct seeds are served
  one by one within a call; ``threads`` runs that many calls side by side (safe for the API
  classes). ``seeds=off`` leaves sampling seeds to the model class (needed for ``hf``, whose
  ``generate`` takes no seed) and lets lm-eval batch a request's k attempts together.
- ``generate_until`` returns text only: finish reasons are ``unknown`` and token counts are
  estimates.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalr.backends import Capabilities
from evalr.errors import ConfigError, FatalBackendError, TransientBackendError
from evalr.reasoning import estimate_tokens, split_reasoning
from evalr.specs import ModelSpec
from evalr.types import Completion, GenerationRequest, Usage

INSTALL_HINT = "lm-evaluation-harness is not installed: pip install 'evalr[lm-eval]'"
_OWN = ("seeds", "threads")


@dataclass(frozen=True)
class LMEvalOptions:
    model_type: str
    model_args: Mapping[str, str]
    per_attempt_seeds: bool
    threads: int

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> LMEvalOptions:
        if not spec.target:
            raise ConfigError("lm-eval backend: name a model type, e.g. lm-eval:hf?pretrained=M")
        seeds = spec.options.get("seeds", "attempt")
        if seeds not in ("attempt", "off"):
            raise ConfigError(f"lm-eval backend: seeds must be attempt or off, not {seeds!r}")
        try:
            threads = int(spec.options.get("threads", "1"))
        except ValueError:
            raise ConfigError("lm-eval backend: threads must be an integer") from None
        if threads < 1:
            raise ConfigError("lm-eval backend: threads must be >= 1")
        args = {k: v for k, v in spec.options.items() if k not in _OWN}
        return cls(spec.target, args, seeds == "attempt", threads)


def gen_kwargs(request: GenerationRequest, seed: int | None) -> dict[str, Any]:
    """lm-eval's generation arguments for one attempt; also what is recorded as sent."""
    kwargs: dict[str, Any] = {
        "until": [],
        "max_gen_toks": request.sampling.max_tokens,
        "temperature": request.sampling.temperature,
        "top_p": request.sampling.top_p,
        "do_sample": True,
    }
    if seed is not None:
        kwargs["seed"] = seed
    return kwargs


def chat_history(request: GenerationRequest) -> tuple[list[dict[str, str]], bool]:
    """Messages for ``apply_chat_template`` and its add_generation_prompt flag.

    A forced prefix is lm-eval's prefill convention: a final assistant message continued
    rather than a new turn opened.
    """
    history = [{"role": m.role, "content": m.content} for m in request.messages]
    if request.assistant_prefix:
        history.append({"role": "assistant", "content": request.assistant_prefix})
        return history, False
    return history, True


class LMEvalBackend:
    def __init__(self, spec: ModelSpec) -> None:
        self.options = LMEvalOptions.from_spec(spec)
        if importlib.util.find_spec("lm_eval") is None:
            raise ConfigError(INSTALL_HINT)
        self._lm: Any = None
        self._pool = ThreadPoolExecutor(
            max_workers=self.options.threads, thread_name_prefix="lmeval"
        )
        self._facts: dict[str, Any] = {}

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            native_n=True,
            seeds=self.options.per_attempt_seeds,
            max_concurrency=self.options.threads,
        )

    async def start(self, run_dir: Path) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._load)

    def _load(self) -> None:
        import lm_eval
        from lm_eval.api.registry import get_model
        from lm_eval.utils import handle_arg_string

        try:
            cls = get_model(self.options.model_type)
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"lm-eval has no model type {self.options.model_type!r} ({exc})"
            ) from None
        except ImportError as exc:  # the class's module needs a package that is not installed
            missing = getattr(exc, "name", None) or str(exc)
            raise ConfigError(
                f"lm-eval model type {self.options.model_type!r} needs {missing}, which is not "
                f"installed; pip install {missing} (or the lm-eval extra that brings it)"
            ) from None
        # Values typed exactly as lm-eval's own --model_args parser types them.
        args = {k: handle_arg_string(v) for k, v in self.options.model_args.items()}
        try:
            self._lm = cls.create_from_arg_obj(args)
        except ImportError as exc:
            # lm-eval names the extra it needs (the API classes want lm-eval[api]).
            raise ConfigError(f"lm-eval {self.options.model_type}: {exc}"[:300]) from None
        except (TypeError, ValueError, OSError) as exc:
            raise ConfigError(f"lm-eval {self.options.model_type}: {exc}"[:300]) from None
        self._facts = {"lm_eval": getattr(lm_eval, "__version__", None), "class": cls.__name__}

    def _run(self, request: GenerationRequest) -> list[Completion]:
        from lm_eval.api.instance import Instance

        history, add_generation_prompt = chat_history(request)
        try:
            context = self._lm.apply_chat_template(history, add_generation_prompt)
        except NotImplementedError:
            raise FatalBackendError(
                f"lm-eval {self.options.model_type} has no chat template support"
            ) from None
        sent = [
            gen_kwargs(request, seed if self.options.per_attempt_seeds else None)
            for seed in request.seeds
        ]
        instances = [
            Instance("generate_until", {}, (context, dict(kwargs)), idx)
            for idx, kwargs in enumerate(sent)
        ]
        started = time.perf_counter()
        try:
            texts = self._lm.generate_until(instances, disable_tqdm=True)
        except (OSError, RuntimeError, ValueError) as exc:
            # Network and engine failures alike: worth a retry by the runner's wrapper.
            raise TransientBackendError(f"lm-eval {self.options.model_type}: {exc}"[:300]) from None
        latency = time.perf_counter() - started
        if len(texts) != request.n:
            raise FatalBackendError(f"lm-eval returned {len(texts)} texts for {request.n} attempts")
        out = []
        for text, kwargs in zip(texts, sent, strict=True):
            reasoning, answer = split_reasoning(text or "", request.assistant_prefix)
            out.append(
                Completion(
                    text=answer,
                    reasoning=reasoning,
                    finish_reason="unknown",
                    usage=Usage(
                        prompt_tokens=0,
                        completion_tokens=estimate_tokens(text),
                        reasoning_tokens=estimate_tokens(reasoning),
                    ),
                    latency_s=latency,
                    request={"model_type": self.options.model_type, **kwargs},
                )
            )
        return out

    async def generate(self, request: GenerationRequest) -> list[Completion]:
        if self._lm is None:
            raise FatalBackendError("lm-eval backend used before start()")
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, request)

    def describe(self) -> Mapping[str, Any]:
        secretless = {
            k: v
            for k, v in self.options.model_args.items()
            if not any(word in k.lower() for word in ("key", "token", "secret", "password"))
        }
        return {
            "backend": "lm-eval",
            "model_type": self.options.model_type,
            "model_args": secretless,
            "per_attempt_seeds": self.options.per_attempt_seeds,
            "threads": self.options.threads,
            **self._facts,
        }

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        self._lm = None
