"""The runner end to end with in-process backends: storage, resume, errors, seeds and n."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from evalr.backends.fake import FakeBackend
from evalr.errors import ErrorRateExceeded, ResumeError
from evalr.runner import attempt_seed, run_async
from evalr.specs import ModelSpec
from evalr.store import RunStore
from evalr.types import Completion, GenerationRequest

from .doubles import ScriptedBackend, ToyGrader, config, toy_task

Install = Callable[..., None]


def run(cfg, backend):  # type: ignore[no-untyped-def]
    return asyncio.run(run_async(cfg, backend=backend))


def lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def test_full_run_writes_the_run_directory(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=3))
    backend = FakeBackend(ModelSpec("fake", "constant", {"answer": "42"}))
    doc = run(config(tmp_path, samples=4), backend)

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["protocol"]["tasks"]["toy"]["k"] == 4
    assert manifest["protocol"]["sampling"] == {
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 32768,
    }
    assert manifest["tasks"]["toy"]["dataset"]["id"] == "toy/data"
    assert manifest["tasks"]["toy"]["grader"] == {"name": "toy", "version": "1"}
    assert manifest["model"]["backend"] == "fake"

    rows = lines(tmp_path)
    assert len(rows) == 12
    assert {(r["sample_id"], r["attempt"]) for r in rows} == {
        (f"p{i}", a) for i in range(3) for a in range(4)
    }
    assert all(r["status"] == "ok" and r["grade"]["correct"] for r in rows)
    assert all(r["prompt_meta"] == {"shown": r["sample_id"]} for r in rows)

    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["tasks"] == doc["tasks"]
    toy = doc["tasks"]["toy"]
    assert list(toy["metrics"]) == ["pass@1", "pass@2", "pass@4", "cons@4"]
    assert toy["metrics"]["pass@1"]["value"] == 1.0 and toy["metrics"]["pass@1"]["n"] == 3
    assert toy["counts"]["attempts"] == 12 and toy["counts"]["errors"] == 0
    assert toy["mean_reasoning_tokens"] == 4.0 and toy["mean_answer_tokens"] == 8.0


def test_metrics_follow_the_answers(tmp_path: Path, use_tasks: Install) -> None:
    # Attempt 0 of each problem right, the rest wrong with distinct answers: pass@1 = 1/4,
    # pass@4 = 1; cons@4 is a four-way tie won by attempt 0's answer.
    use_tasks(toy_task(problems=2))
    right = {attempt_seed(0, "toy", f"p{i}", 0) for i in range(2)}
    backend = ScriptedBackend(answer=lambda s: "42" if s in right else str(s))
    doc = run(config(tmp_path, samples=4), backend)
    metrics = doc["tasks"]["toy"]["metrics"]
    assert metrics["pass@1"]["value"] == 0.25
    assert metrics["pass@2"]["value"] == 0.5
    assert metrics["pass@4"]["value"] == 1.0
    assert metrics["cons@4"]["value"] == 1.0


def test_manifest_exists_before_the_first_request(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=1))
    seen: list[bool] = []

    class Checking(ScriptedBackend):
        async def generate(self, request: GenerationRequest) -> list[Completion]:
            seen.append((tmp_path / "manifest.json").is_file())
            return await super().generate(request)

    backend = Checking()
    run(config(tmp_path, samples=2), backend)
    assert seen == [True, True]
    assert backend.started == [tmp_path] and backend.closed == 1


def test_credentials_from_describe_never_reach_disk(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=1))
    run(config(tmp_path, samples=1), ScriptedBackend())
    for path in tmp_path.iterdir():
        assert "must-not-be-stored" not in path.read_text(), path.name
    assert json.loads((tmp_path / "manifest.json").read_text())["model"]["api_key_env"] == "X"


def test_rerun_sends_no_requests(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=3))
    first = run(config(tmp_path, samples=4), FakeBackend(ModelSpec("fake", "seeded")))
    again = FakeBackend(ModelSpec("fake", "seeded"))
    second = run(config(tmp_path, samples=4), again)
    assert again.calls == 0
    assert second["tasks"] == first["tasks"]
    assert len(lines(tmp_path)) == 12
    assert "resumed_at" in json.loads((tmp_path / "manifest.json").read_text())


def test_different_samples_refuses_to_resume(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=2))
    run(config(tmp_path, samples=2), ScriptedBackend())
    backend = ScriptedBackend()
    with pytest.raises(ResumeError, match=r"tasks\.toy\.k: stored 2, now 3"):
        run(config(tmp_path, samples=3), backend)
    assert backend.requests == []
    assert len(lines(tmp_path)) == 4  # nothing stored is lost


def test_different_seed_refuses_to_resume(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=1))
    run(config(tmp_path, samples=1), ScriptedBackend())
    with pytest.raises(ResumeError, match="seed: stored 0, now 5"):
        run(config(tmp_path, samples=1, seed=5), ScriptedBackend())


def test_failed_attempts_are_stored_counted_and_retried_alone(
    tmp_path: Path, use_tasks: Install
) -> None:
    use_tasks(toy_task(problems=3))
    failing = {(f"p{i}", a) for i, a in [(0, 1), (2, 0), (2, 3)]}
    bad = {attempt_seed(0, "toy", s, a) for s, a in failing}
    backend = ScriptedBackend(fail=bad)
    with pytest.raises(ErrorRateExceeded, match="3 of 12"):
        run(config(tmp_path, samples=4), backend)
    assert len(backend.requests) == 12 and all(r.n == 1 for r in backend.requests)

    rows = lines(tmp_path)
    errors = {(r["sample_id"], r["attempt"]) for r in rows if r["status"] == "error"}
    assert errors == failing
    assert all("scripted failure" in r["error"] for r in rows if r["status"] == "error")
    results = json.loads((tmp_path / "results.json").read_text())["tasks"]["toy"]
    assert results["counts"]["errors"] == 3
    assert results["metrics"]["pass@1"]["value"] == 1.0  # failures are not counted as wrong
    assert results["metrics"]["pass@4"]["n"] == 1  # only p1 still has all four attempts

    healed = ScriptedBackend()
    doc = run(config(tmp_path, samples=4), healed)
    assert sorted(healed.seeds_sent) == sorted(bad)
    toy = doc["tasks"]["toy"]
    assert toy["counts"]["errors"] == 0 and toy["metrics"]["pass@4"]["n"] == 3


def test_error_rate_within_limit_passes(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=2))
    bad = {attempt_seed(0, "toy", "p0", 0)}
    doc = run(config(tmp_path, samples=2, max_error_rate=0.25), ScriptedBackend(fail=bad))
    assert doc["tasks"]["toy"]["counts"]["errors"] == 1
    assert doc["tasks"]["toy"]["error_rate"] == 0.25


def test_seeds_distinct_across_attempts_and_stable_across_runs(
    tmp_path: Path, use_tasks: Install
) -> None:
    use_tasks(toy_task(problems=4))
    a, b, c = ScriptedBackend(), ScriptedBackend(), ScriptedBackend()
    run(config(tmp_path / "a", samples=8), a)
    run(config(tmp_path / "b", samples=8), b)
    run(config(tmp_path / "c", samples=8, seed=1), c)
    assert len(set(a.seeds_sent)) == 32
    assert sorted(a.seeds_sent) == sorted(b.seeds_sent)
    assert not set(a.seeds_sent) & set(c.seeds_sent)
    stored = {(r["sample_id"], r["attempt"]): r["seed"] for r in lines(tmp_path / "a")}
    assert stored == {(s, t): attempt_seed(0, "toy", s, t) for s, t in stored}


def test_fan_out_when_backend_has_no_native_n(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=3))
    backend = ScriptedBackend(native_n=False)
    run(config(tmp_path, samples=4), backend)
    assert len(backend.requests) == 12 and {r.n for r in backend.requests} == {1}


def test_native_n_one_request_per_problem_and_resume_stores_only_the_missing(
    tmp_path: Path, use_tasks: Install
) -> None:
    use_tasks(toy_task(problems=3))
    backend = ScriptedBackend(native_n=True)
    run(config(tmp_path, samples=4), backend)
    assert [r.n for r in backend.requests] == [4, 4, 4]
    assert all(len(set(r.seeds)) == 4 for r in backend.requests)

    # Lose attempts 1 and 3 of p0 (as if killed before they were stored), then resume.
    store = RunStore(tmp_path)
    kept = [r for r in store.records() if not (r.sample_id == "p0" and r.attempt in (1, 3))]
    store.lock()
    store.rewrite(kept)
    store.close()
    again = ScriptedBackend(native_n=True)
    run(config(tmp_path, samples=4), again)
    # The whole group is asked again (same seeds, same n), so a seed-honouring server returns
    # the same samples; only the two missing attempts are stored.
    (request,) = again.requests
    assert request.n == 4
    assert request.seeds == tuple(attempt_seed(0, "toy", "p0", a) for a in range(4))
    after = RunStore(tmp_path).records()
    assert len(after) == 12 and len({r.key for r in after}) == 12


def test_grading_exception_keeps_the_completion(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=2, grader=ToyGrader(fail_for=frozenset({"p1"}))))
    with pytest.raises(ErrorRateExceeded):
        run(config(tmp_path, samples=2), ScriptedBackend())
    rows = {(r["sample_id"], r["attempt"]): r for r in lines(tmp_path)}
    assert len(rows) == 4
    for a in range(2):
        broken = rows[("p1", a)]
        assert broken["status"] == "ok" and broken["grade"] is None
        assert "grader exploded" in broken["error"]
        assert broken["completion"]["text"] == "so \\boxed{42}"
    toy = json.loads((tmp_path / "results.json").read_text())["tasks"]["toy"]
    assert toy["counts"]["errors"] == 2
    assert toy["metrics"]["pass@1"]["n"] == 1


def test_majority_vote_off_drops_cons(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=2, majority_vote=False))
    doc = run(config(tmp_path, samples=2), ScriptedBackend())
    assert list(doc["tasks"]["toy"]["metrics"]) == ["pass@1", "pass@2"]


def test_truncation_and_no_answer_rates(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=2))
    backend = ScriptedBackend(finish="length", answer=lambda s: "}")  # "\boxed{}}": no answer
    doc = run(config(tmp_path, samples=2), backend)
    toy = doc["tasks"]["toy"]
    assert toy["truncation_rate"] == 1.0
    assert toy["no_answer_rate"] == 1.0
    assert toy["metrics"]["pass@1"]["value"] == 0.0
    assert toy["metrics"]["cons@2"]["value"] == 0.0


def test_protocol_k_and_limit(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=5, default_samples=3))
    backend = ScriptedBackend()
    doc = run(config(tmp_path, limit=2), backend)
    assert doc["tasks"]["toy"]["k"] == 3 and doc["tasks"]["toy"]["problems"] == 2
    assert len(backend.requests) == 6


def test_several_tasks_in_one_run(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=2, name="one"), toy_task(problems=3, name="two", target="7"))
    doc = run(config(tmp_path, tasks=("one", "two"), samples=1), ScriptedBackend())
    assert doc["tasks"]["one"]["metrics"]["pass@1"]["value"] == 1.0
    assert doc["tasks"]["two"]["metrics"]["pass@1"]["value"] == 0.0
    assert len(lines(tmp_path)) == 5


def test_concurrency_is_respected(tmp_path: Path, use_tasks: Install) -> None:
    use_tasks(toy_task(problems=10))
    peak = [0, 0]  # in flight now, most ever

    class Slow(ScriptedBackend):
        async def generate(self, request: GenerationRequest) -> list[Completion]:
            peak[0] += 1
            peak[1] = max(peak)
            await asyncio.sleep(0.005)
            peak[0] -= 1
            return await super().generate(request)

    run(config(tmp_path, samples=2, concurrency=3), Slow())
    assert peak[1] == 3


def test_transient_failures_are_retried(tmp_path: Path, use_tasks: Install) -> None:
    from evalr.retry import RetryPolicy

    use_tasks(toy_task(problems=1))
    flaky_seed = attempt_seed(0, "toy", "p0", 0)

    class Flaky(ScriptedBackend):
        async def generate(self, request: GenerationRequest) -> list[Completion]:
            if len(self.requests) == 0:
                self.fail = {flaky_seed}
            else:
                self.fail = set()
            return await super().generate(request)

    backend = Flaky()
    doc = run(config(tmp_path, samples=1, retry=RetryPolicy(attempts=3, base_s=0.0)), backend)
    assert len(backend.requests) == 2
    assert doc["timing"]["retries"] == 1
    assert doc["tasks"]["toy"]["counts"]["errors"] == 0


def test_bad_backend_options_leave_no_run_directory(tmp_path: Path, use_tasks: Install) -> None:
    # A typo in the spec must not create a run dir that then refuses the corrected command.
    from evalr.errors import ConfigError
    from evalr.runner import RunConfig

    use_tasks(toy_task(problems=1))
    bad = RunConfig(
        model=ModelSpec("fake", "constnat"), tasks=(toy_task(problems=1),), out=tmp_path / "run"
    )
    with pytest.raises(ConfigError, match="constnat"):
        asyncio.run(run_async(bad))
    assert not (tmp_path / "run").exists()


def test_cancelled_run_closes_the_backend_and_resumes(tmp_path: Path, use_tasks: Install) -> None:
    # Ctrl-C cancels the main task: what was stored stays, the backend is closed, and the
    # resumed run asks only for what is missing.
    use_tasks(toy_task(problems=4))
    main: list[asyncio.Task] = []

    class Interrupted(ScriptedBackend):
        async def generate(self, request: GenerationRequest) -> list[Completion]:
            if len(self.requests) == 3:
                main[0].cancel()
                await asyncio.sleep(1)  # cancelled here
            return await super().generate(request)

    async def go(backend: ScriptedBackend) -> None:
        main.append(
            asyncio.ensure_future(run_async(config(tmp_path, samples=2, concurrency=1), backend))
        )
        with pytest.raises(asyncio.CancelledError):
            await main[0]

    first = Interrupted()
    asyncio.run(go(first))
    assert first.closed == 1
    partial = json.loads((tmp_path / "results.json").read_text())  # says it is incomplete
    assert partial["complete"] is False and partial["missing_attempts"] == 5
    stored = RunStore(tmp_path).latest()
    assert len(stored) == 3 and all(r.status == "ok" for r in stored.values())

    rest = ScriptedBackend()
    doc = run(config(tmp_path, samples=2, concurrency=1), rest)
    assert len(rest.requests) == 5
    assert not set(rest.seeds_sent) & {r.seed for r in stored.values()}
    assert doc["tasks"]["toy"]["counts"] == {
        "attempts": 8,
        "missing": 0,
        "errors": 0,
        "no_answer": 0,
        "truncated": 0,
    }


def test_verdicts_and_test_sets_are_counted(tmp_path: Path, use_tasks: Install) -> None:
    from evalr.types import Grade, Problem

    class Judging(ToyGrader):
        async def grade(self, sample: Problem, extracted: list[str | None]) -> list[Grade]:
            test_set = "public" if sample.id == "p0" else "hidden"
            return [
                Grade(False, e, verdict="wrong_answer", details={"test_set": test_set})
                for e in extracted
            ]

    use_tasks(toy_task(problems=3, grader=Judging(), majority_vote=False))
    doc = run(config(tmp_path, samples=2), ScriptedBackend())
    toy = doc["tasks"]["toy"]
    assert toy["verdicts"] == {"wrong_answer": 6}
    assert toy["test_sets"] == {"hidden": 4, "public": 2}


def test_r1_protocol_is_pinned() -> None:
    from evalr.protocol import R1

    assert (R1.sampling.temperature, R1.sampling.top_p, R1.sampling.max_tokens) == (
        0.6,
        0.95,
        32768,
    )
    assert dict(R1.samples) == {
        "aime24": 64,
        "aime25": 64,
        "math500": 4,
        "gpqa_diamond": 8,
        "livecodebench": 16,
    }
    assert R1.assistant_prefix == ""  # no forced <think> unless asked for


def test_preset_sampling_overrides_reach_requests(tmp_path: Path, use_tasks: Install) -> None:
    from dataclasses import replace

    use_tasks(toy_task(problems=1))
    cfg = config(tmp_path, samples=1)
    cfg = replace(cfg, model=replace(cfg.model, sampling={"max_tokens": 256}))
    backend = ScriptedBackend()
    run(cfg, backend)
    (sent,) = backend.requests
    assert (sent.sampling.temperature, sent.sampling.top_p, sent.sampling.max_tokens) == (
        0.6,
        0.95,
        256,
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["protocol"]["sampling"]["max_tokens"] == 256


def test_sampling_an_endpoint_ignores_is_warned_and_recorded(
    tmp_path: Path, use_tasks: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    use_tasks(toy_task(problems=1))
    cfg = config(tmp_path, samples=1, quiet=False)
    cfg = replace(cfg, model=replace(cfg.model, ignores=("temperature", "top_p")))
    run(cfg, ScriptedBackend())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["ignored_sampling"] == ["temperature", "top_p"]
    assert "known to ignore temperature, top_p" in capsys.readouterr().err
