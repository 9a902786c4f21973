"""The OpenAI-compatible test server: determinism, the answer oracle, n/seed/max_tokens, faults."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from evalr.reasoning import split_reasoning
from evalr.testing.mirror import MIRROR_FILES, mirror_answer_key
from evalr.testing.oracle import AnswerKey, KeyEntry, Oracle, prompt_sha256
from evalr.testing.server import ChatCompletionsServer, ServerConfig, start_server
from evalr.testing.threaded import ServerThread

MATH_SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."
PROBLEM = "Find the number of ordered pairs (x, y) of positive integers with x + y = 100."
PROMPT = PROBLEM + MATH_SUFFIX
BOXED = re.compile(r"\\boxed\{(.*)\}")  # greedy: the reply has one boxed answer per line


def data_dir() -> Path:
    env = os.environ.get("EVALR_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "../shared/data"


def key(answer: str = "99", p: float | None = None) -> AnswerKey:
    return AnswerKey((KeyEntry(answer=answer, match=PROBLEM, p=p),))


def body(prompt: str = PROMPT, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": prompt}], **extra}


def post(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None):
    """POST JSON with the standard library: (status, parsed body, headers)."""
    req = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers


def boxed(choice: dict[str, Any]) -> str | None:
    found = BOXED.findall(choice["message"]["content"])
    return found[-1] if found else None


@pytest.fixture
def serve():
    servers: list[ServerThread] = []

    def start(**config: Any) -> ServerThread:
        srv = ServerThread(ServerConfig(**config)).__enter__()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()


def test_same_prompt_and_seed_give_the_same_reply_on_any_server(serve):
    a, b = serve(oracle=Oracle(key=key())), serve(oracle=Oracle(key=key()))
    first = post(a.base_url, body(seed=7, n=3))[1]["choices"]
    again = post(b.base_url, body(seed=7, n=3))[1]["choices"]
    other = post(a.base_url, body(seed=8, n=3))[1]["choices"]
    assert first == again
    assert first != other
    # Choices within one request differ: each index is its own attempt.
    assert len({c["message"]["reasoning_content"] for c in first}) == 3


def test_correctness_follows_the_key_and_probability(serve):
    srv = serve(oracle=Oracle(key=key(p=0.3), wrong_answers=3))
    answers = [boxed(post(srv.base_url, body(seed=s))[1]["choices"][0]) for s in range(300)]
    counts = Counter(answers)
    assert 0.2 < counts["99"] / 300 < 0.4
    wrong = set(counts) - {"99"}
    assert 1 <= len(wrong) <= 3 and all(w.isdigit() and w != "99" for w in wrong)
    assert srv.stats()["correct"] == counts["99"]


def test_always_and_never_correct_and_unknown_prompts(serve):
    srv = serve(oracle=Oracle(key=AnswerKey((KeyEntry("\\frac{1}{2}", match=PROBLEM, p=1.0),))))
    assert boxed(post(srv.base_url, body(seed=1))[1]["choices"][0]) == "\\frac{1}{2}"
    srv.reconfigure(p_correct=0.0, key=key("\\frac{1}{2}"))
    wrong = boxed(post(srv.base_url, body(seed=1))[1]["choices"][0])
    assert wrong is not None and wrong.startswith("\\frac{1}{2}+")
    post(srv.base_url, body("What is the airspeed of a swallow?" + MATH_SUFFIX, seed=1))
    assert srv.stats()["unmatched_prompts"] == 1


def test_reasoning_styles_split_like_a_reasoning_model(serve):
    field_srv = serve(oracle=Oracle(key=key(p=1.0), reasoning_style="field"))
    choice = post(field_srv.base_url, body(seed=1))[1]["choices"][0]
    assert "<think>" not in choice["message"]["content"]
    assert len(choice["message"]["reasoning_content"].split()) == 40

    think_srv = serve(oracle=Oracle(key=key(p=1.0), reasoning_style="think"))
    reply = post(think_srv.base_url, body(seed=1))[1]
    content = reply["choices"][0]["message"]["content"]
    assert "reasoning_content" not in reply["choices"][0]["message"]
    reasoning, answer = split_reasoning(content)
    assert reasoning is not None and len(reasoning.split()) == 40
    assert BOXED.search(answer).group(1) == "99"
    assert reply["usage"]["completion_tokens_details"]["reasoning_tokens"] == 40

    # A forced "<think>\n" assistant prefix is continued, not echoed.
    forced = body(seed=1)
    forced["messages"].append({"role": "assistant", "content": "<think>\n"})
    content = post(think_srv.base_url, forced)[1]["choices"][0]["message"]["content"]
    assert not content.startswith("<think>")
    assert split_reasoning(content, prefix="<think>\n")[1].endswith("\\boxed{99}.")


@pytest.mark.parametrize("style", ["field", "think"])
def test_max_tokens_truncates_with_finish_reason_length(serve, style):
    srv = serve(oracle=Oracle(key=key(p=1.0), reasoning_style=style, reasoning_words=50))
    reply = post(srv.base_url, body(seed=1, max_tokens=20))[1]
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 20
    assert boxed(choice) is None
    if style == "think":
        assert "</think>" not in choice["message"]["content"]
    full = post(srv.base_url, body(seed=1, max_tokens=1000))[1]
    assert full["choices"][0]["finish_reason"] == "stop"
    assert full["usage"]["completion_tokens"] > 50
    assert srv.stats()["correct"] == 1  # a truncated reply is never counted correct


def test_n_is_honoured_or_ignored_like_llama_cpp(serve):
    with_n = serve()
    assert len(post(with_n.base_url, body(seed=1, n=5))[1]["choices"]) == 5
    without_n = serve(supports_n=False)
    reply = post(without_n.base_url, body(seed=1, n=5))[1]
    assert [c["index"] for c in reply["choices"]] == [0]


def test_seed_honoured_or_ignored(serve):
    honours = serve()
    a = post(honours.base_url, body(seed=3))[1]["choices"]
    assert a == post(honours.base_url, body(seed=3))[1]["choices"]
    ignores = serve(honors_seed=False)
    b = post(ignores.base_url, body(seed=3))[1]["choices"]
    assert b != post(ignores.base_url, body(seed=3))[1]["choices"]


def test_multiple_choice_answers_by_letter_of_the_gold_option(serve):
    prompt = (
        "Answer the following multiple choice question. The last line of your response should "
        "be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of "
        "ABCD. Think step by step before answering.\n\nWhich gas is inert?\n\n"
        "A) Oxygen\nB) Argon\nC) Hydrogen\nD) Chlorine"
    )
    mc_key = AnswerKey((KeyEntry("Argon", match="Which gas is inert?", p=1.0),))
    srv = serve(oracle=Oracle(key=mc_key))
    content = post(srv.base_url, body(prompt, seed=1))[1]["choices"][0]["message"]["content"]
    assert content.endswith("Answer: B")
    srv.reconfigure(p_correct=0.0, key=AnswerKey((KeyEntry("Argon", match="Which gas"),)))
    letters = {
        post(srv.base_url, body(prompt, seed=s))[1]["choices"][0]["message"]["content"][-1]
        for s in range(30)
    }
    assert letters and "B" not in letters and letters <= set("ACD")
    srv.reconfigure(choice_style="boxed", p_correct=1.0)
    assert post(srv.base_url, body(prompt, seed=1))[1]["choices"][0]["message"]["content"].endswith(
        "\\boxed{B}."
    )


def test_usage_and_models_and_health(serve):
    srv = serve(model="served-model")
    reply = post(srv.base_url, body(seed=1))[1]
    usage = reply["usage"]
    assert usage["prompt_tokens"] == len(PROMPT.split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    with urllib.request.urlopen(f"{srv.base_url}/models") as resp:
        assert json.loads(resp.read())["data"][0]["id"] == "served-model"
    with urllib.request.urlopen(f"{srv.url}/health") as resp:
        assert resp.status == 200


def test_bad_requests_get_openai_style_errors(serve):
    srv = serve(strict_model=True, model="served-model")
    status, reply, _ = post(srv.base_url, {"model": "served-model", "messages": []})
    assert status == 400 and "messages" in reply["error"]["message"]
    status, reply, _ = post(srv.base_url, body())
    assert status == 404 and "`m`" in reply["error"]["message"]
    assert srv.stats()["received"] == 1  # only the well-formed one reached the log


def test_api_key_is_checked(serve):
    srv = serve(api_key="sk-right")
    assert post(srv.base_url, body())[0] == 401
    assert post(srv.base_url, body(), {"Authorization": "Bearer sk-wrong"})[0] == 401
    assert post(srv.base_url, body(), {"Authorization": "Bearer sk-right"})[0] == 200
    assert srv.stats()["statuses"] == {"401": 2, "200": 1}


def test_fault_injection_is_deterministic_and_has_the_configured_rate(serve):
    def statuses(srv: ServerThread) -> list[int]:
        return [post(srv.base_url, body(seed=s))[0] for s in range(200)]

    config = {"fail_rate": 0.3, "fail_modes": ("429", "500", "503"), "fail_seed": 5}
    first, second = statuses(serve(**config)), statuses(serve(**config))
    assert first == second
    failed = Counter(s for s in first if s != 200)
    assert 0.2 < sum(failed.values()) / 200 < 0.4
    assert set(failed) == {429, 500, 503}
    assert first != statuses(serve(**config | {"fail_seed": 6}))


def test_retry_after_and_dropped_connections(serve):
    srv = serve(fail_rate=1.0, fail_modes=("429",), retry_after_s=2)
    status, _, headers = post(srv.base_url, body())
    assert status == 429 and headers["Retry-After"] == "2"
    srv.reconfigure(fail_modes=("drop",))
    with pytest.raises((http.client.HTTPException, OSError)):
        post(srv.base_url, body())
    srv.reconfigure(fail_rate=0.0)
    assert post(srv.base_url, body())[0] == 200
    assert srv.stats()["statuses"] == {"429": 1, "drop": 1, "200": 1}


def test_fail_match_always_fails_those_prompts(serve):
    srv = serve(fail_match=("ordered pairs",))
    assert [post(srv.base_url, body(seed=s))[0] for s in range(3)] == [500, 500, 500]
    assert post(srv.base_url, body("Something else" + MATH_SUFFIX))[0] == 200


def test_stats_count_requests_per_prompt_and_seed(serve):
    srv = serve(oracle=Oracle(key=key()))
    for seed in (1, 2, 2):
        post(srv.base_url, body(seed=seed, temperature=0.6, top_p=0.95, max_tokens=32768))
    stats = srv.stats()
    assert stats["received"] == 3 and stats["duplicates"] == 1
    per_seed = {r["seed"]: r["answered"] for r in stats["requests"]}
    assert per_seed == {1: 1, 2: 2}
    assert {r["prompt_sha256"] for r in stats["requests"]} == {prompt_sha256(PROMPT)}
    assert stats["params"] == [
        {
            "model": "m",
            "temperature": 0.6,
            "top_p": 0.95,
            "max_tokens": 32768,
            "n": None,
            "count": 3,
        }
    ]
    post(srv.base_url, body("Say hello.", temperature=1.0, max_tokens=1))  # a client's probe
    stats = srv.stats()
    known = stats["known"]
    assert (known["received"], known["answered"], known["choices"]) == (3, 3, 3)
    assert 0 < known["last_answer_at"] - known["first_request_at"] < 5
    assert stats["received"] == 4 and len(stats["params"]) == 1
    assert stats["unmatched"] == ["Say hello."]
    srv.reset_stats()
    assert srv.stats(detail=False)["received"] == 0


async def _burst(base_url: str, count: int) -> float:
    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def one(seed: int) -> None:
            async with session.post(f"{base_url}/chat/completions", json=body(seed=seed)) as r:
                assert r.status == 200
                await r.json()

        await asyncio.gather(*(one(s) for s in range(count)))
    return time.perf_counter() - start


def test_latency_overlaps_across_concurrent_requests():
    async def scenario() -> tuple[float, dict[str, Any]]:
        async with ChatCompletionsServer(ServerConfig(latency_ms=200)) as server:
            return await _burst(server.base_url, 16), server.stats()

    elapsed, stats = asyncio.run(scenario())
    assert 0.2 <= elapsed < 1.0
    assert stats["max_in_flight"] == 16


def test_token_latency_scales_with_the_reply_length(serve):
    srv = serve(token_latency_ms=5, oracle=Oracle(reasoning_words=60))
    started = time.perf_counter()
    post(srv.base_url, body(seed=1, max_tokens=1))  # a one-token probe
    probe = time.perf_counter() - started
    started = time.perf_counter()
    post(srv.base_url, body(seed=1))  # 60 thinking + 5 answer tokens
    full = time.perf_counter() - started
    assert full >= 65 * 0.005 and probe < full / 3


def test_max_concurrency_one_serves_requests_one_at_a_time():
    async def scenario() -> tuple[float, dict[str, Any]]:
        base_url, stop = await start_server(ServerConfig(latency_ms=30, max_concurrency=1))
        try:
            elapsed = await _burst(base_url, 8)
            stats_url = base_url.removesuffix("/v1") + "/stats"
            async with aiohttp.ClientSession() as session, session.get(stats_url) as resp:
                return elapsed, await resp.json()
        finally:
            await stop()

    elapsed, stats = asyncio.run(scenario())
    assert elapsed >= 8 * 0.03
    assert stats["max_in_flight"] == 1


def test_observers_see_each_request_on_arrival(serve):
    srv = serve()
    seen: list[Any] = []
    srv.server.observers.append(lambda sent: seen.append(sent["seed"]))
    for seed in (4, 5):
        post(srv.base_url, body(seed=seed))
    assert seen == [4, 5]


def test_control_endpoint_changes_a_running_server(serve):
    srv = serve()
    req = urllib.request.Request(
        f"{srv.url}/control",
        data=json.dumps({"fail_rate": 1.0, "fail_modes": ["503"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200
    assert post(srv.base_url, body())[0] == 503


def test_answer_key_files(tmp_path):
    rows = tmp_path / "key.jsonl"
    rows.write_text(
        json.dumps({"match": "ordered   pairs", "answer": "99", "p": 0.5})
        + "\n"
        + json.dumps({"sha256": prompt_sha256("exact prompt"), "answer": "7"})
        + "\n"
    )
    loaded = AnswerKey.load(rows)
    assert loaded.lookup(PROMPT).answer == "99" and loaded.lookup(PROMPT).p == 0.5
    assert loaded.lookup("exact prompt").answer == "7"
    assert loaded.lookup("unrelated") is None
    mapping = tmp_path / "key.json"
    mapping.write_text(json.dumps({"ordered pairs": "99", "ordered pairs (x, y)": "98"}))
    assert AnswerKey.load(mapping).lookup(PROMPT).answer == "98"  # the longest match wins


def test_mirror_key_finds_every_problem_of_the_real_data():
    root = data_dir()
    if not (root / MIRROR_FILES["math500"][0]).is_file():
        pytest.skip(f"no data mirror at {root}")
    answer_key = mirror_answer_key(root, ("aime24", "math500"))
    for task in ("aime24", "math500"):
        name, question, answer = MIRROR_FILES[task]
        for line in (root / name).read_text().splitlines():
            row = json.loads(line)
            found = answer_key.lookup(row[question] + MATH_SUFFIX)
            assert found is not None and found.answer == str(row[answer]).strip()


def test_command_line_server_prints_its_address_first_and_stops_on_sigterm(tmp_path):
    answers = tmp_path / "key.json"
    answers.write_text(json.dumps({PROBLEM: "99"}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalr.testing.server",
            "--port",
            "0",
            "--no-n",
            "--answers",
            str(answers),
            "--p-correct",
            "1",
            "--api-key-env",
            "TEST_SERVER_KEY",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TEST_SERVER_KEY": "sk-cli"},
    )
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        status, reply, _ = post(
            match.group(1) + "/v1", body(n=4, seed=1), {"Authorization": "Bearer sk-cli"}
        )
        assert status == 200 and len(reply["choices"]) == 1
        assert boxed(reply["choices"][0]) == "99"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def _stream(url: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"{url}/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        lines = [line.decode().strip() for line in resp]
    data = [line[5:].strip() for line in lines if line.startswith("data:")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def test_streamed_reply_adds_up_to_the_plain_one(serve):
    from evalr.backends.openai import assemble_stream

    srv = serve(oracle=Oracle(key=key()))
    request = body(seed=3, n=2)
    _, plain, _ = post(srv.base_url, request)
    events = _stream(
        srv.base_url, {**request, "stream": True, "stream_options": {"include_usage": True}}
    )
    assert len(events) > 2 * 4  # several deltas per choice, then usage
    assembled = assemble_stream(events)
    assert assembled["usage"] == plain["usage"]
    for got, want in zip(assembled["choices"], plain["choices"], strict=True):
        assert got["message"]["content"] == want["message"]["content"]
        assert got["message"].get("reasoning_content") == want["message"].get("reasoning_content")
        assert got["finish_reason"] == want["finish_reason"]


def test_echoed_headers_web_pages_and_garbage(serve):
    srv = serve(api_key="sk-secret-value", echo_headers=True)
    status, reply, _ = post(srv.base_url, body(), {"Authorization": "Bearer sk-wrong-one"})
    assert status == 401 and reply["error"]["request_headers"]["Authorization"].endswith(
        "wrong-one"
    )
    page = serve(web_page=True)
    with urllib.request.urlopen(f"{page.base_url}/models", timeout=10) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
    for mode in ("html", "garbage"):
        faulty = serve(fail_rate=1.0, fail_modes=(mode,))
        req = urllib.request.Request(
            f"{faulty.base_url}/chat/completions", data=json.dumps(body()).encode()
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
            with pytest.raises(ValueError):
                json.loads(resp.read())
