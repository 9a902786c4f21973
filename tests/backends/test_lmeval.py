"""The lm-evaluation-harness bridge: lm-eval's own local-chat-completions class, driven by evalr,
talking to the project's loopback test server over real HTTP."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from evalr.backends.lmeval import LMEvalBackend, LMEvalOptions, chat_history, gen_kwargs
from evalr.errors import ConfigError
from evalr.runner import RunConfig, run_async
from evalr.specs import parse
from evalr.types import GenerationRequest, Message, Sampling

needs_lm_eval = pytest.mark.skipif(
    importlib.util.find_spec("lm_eval") is None or importlib.util.find_spec("tenacity") is None,
    reason="lm-eval[api] not installed (pip install 'evalr[lm-eval]')",
)


def spec_for(server: Any, *extra: str) -> str:
    url = f"{server.base_url}/chat/completions"
    return "&".join([f"lm-eval:local-chat-completions?model=evalr-test&base_url={url}", *extra])


@needs_lm_eval
def test_a_run_through_lm_eval_gives_every_attempt_its_own_seed(
    chat_server: Any, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALR_DATA_DIR", str(data_dir))
    server = chat_server(p_correct=0.5)
    spec = parse(spec_for(server, "threads=4"))
    config = RunConfig(
        model=spec, tasks=("aime24",), samples=4, limit=3, out=tmp_path / "run", quiet=True
    )
    results = asyncio.run(run_async(config, backend=LMEvalBackend(spec)))

    metrics = results["tasks"]["aime24"]["metrics"]
    assert metrics["pass@1"]["n"] == 3
    stats = server.stats()
    assert stats["known"]["received"] == 12, "3 problems x 4 attempts, each asked once"
    assert stats["duplicates"] == 0
    seeds = {r["seed"] for r in stats["requests"]}
    assert len(seeds) == 12, "lm-eval alone would send all 4 repeats with one seed"
    (params,) = [p for p in stats["params"] if p["count"] == 12]
    assert (params["temperature"], params["top_p"], params["max_tokens"]) == (0.6, 0.95, 32768)
    stored = [json.loads(line) for line in (tmp_path / "run" / "samples.jsonl").open()]
    assert {r["completion"]["request"]["seed"] for r in stored} == {r["seed"] for r in stored}
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["model"]["class"] == "LocalChatCompletion" and manifest["model"]["lm_eval"]


@needs_lm_eval
def test_seeds_off_leaves_lm_eval_s_single_seed(chat_server: Any, tmp_path: Path) -> None:
    server = chat_server()
    backend = LMEvalBackend(parse(spec_for(server, "seeds=off")))
    request = GenerationRequest((Message("user", "What is 1+1?"),), Sampling(), (1, 2, 3))

    async def go() -> list:
        await backend.start(tmp_path)
        try:
            return await backend.generate(request)
        finally:
            await backend.aclose()

    out = asyncio.run(go())
    assert len(out) == 3 and all("seed" not in c.request for c in out)
    sent = {r["seed"] for r in server.stats()["requests"]}
    assert len(sent) == 1, "every repeat carries lm-eval's one configured seed"
    assert not backend.capabilities.seeds


@needs_lm_eval
def test_a_forced_prefix_is_sent_as_a_prefilled_assistant_turn(
    chat_server: Any, tmp_path: Path
) -> None:
    server = chat_server()
    bodies: list[dict] = []
    server.server.observers.append(bodies.append)
    backend = LMEvalBackend(parse(spec_for(server)))
    request = GenerationRequest(
        (Message("user", "Hi"),), Sampling(max_tokens=64), (5,), "<think>\n"
    )

    async def go() -> list:
        await backend.start(tmp_path)
        try:
            return await backend.generate(request)
        finally:
            await backend.aclose()

    (c,) = asyncio.run(go())
    (body,) = [b for b in bodies if b.get("messages")]
    assert body["messages"][-1] == {"role": "assistant", "content": "<think>\n"}
    assert body["seed"] == 5 and body["max_tokens"] == 64
    assert c.request["seed"] == 5


@needs_lm_eval
def test_credentials_in_model_args_never_reach_the_manifest() -> None:
    backend = LMEvalBackend(
        parse("lm-eval:local-chat-completions?model=m&auth_token=s3cret&api_key=s3cret")
    )
    assert "s3cret" not in str(backend.describe())
    assert backend.describe()["model_args"] == {"model": "m"}


def test_generation_arguments_and_history_mapping() -> None:
    request = GenerationRequest((Message("user", "q"),), Sampling(0.6, 0.95, 1000), (7,))
    assert gen_kwargs(request, 7) == {
        "until": [],
        "max_gen_toks": 1000,
        "temperature": 0.6,
        "top_p": 0.95,
        "do_sample": True,
        "seed": 7,
    }
    assert "seed" not in gen_kwargs(request, None)
    assert chat_history(request) == ([{"role": "user", "content": "q"}], True)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("lm-eval:hf?seeds=sometimes", "seeds must be attempt or off"),
        ("lm-eval:hf?threads=0", "threads must be >= 1"),
        ("lm-eval:hf?threads=x", "threads must be an integer"),
    ],
)
def test_bad_options_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LMEvalOptions.from_spec(parse(spec))


@needs_lm_eval
def test_an_unknown_lm_eval_model_type_is_a_config_error(tmp_path: Path) -> None:
    backend = LMEvalBackend(parse("lm-eval:no-such-model-type"))
    with pytest.raises(ConfigError, match="no model type 'no-such-model-type'"):
        asyncio.run(backend.start(tmp_path))
