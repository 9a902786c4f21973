"""LiveCodeBench code generation, graded in a sandbox with LiveCodeBench's own rules.

- Data: Hub ``livecodebench/code_generation_lite`` at revision
  ``0fe84c3912ea0c4d4a78037083943e8f0c4dd505``, files ``test.jsonl`` ... ``test6.jsonl`` (release
  ``release_vN`` = files 1..N), with public and hidden (private) tests: the full LCB test set.
  Offline, ``$EVALR_DATA_DIR/livecodebench/`` is read instead: the same Hub files if present
  there; otherwise ``lcb_release_v5_problems_public_tests.jsonl`` (release_v5 statements with the
  public tests parsed from them) plus ``lcb_v5_hidden_tests_harvested_from_o1_failures.jsonl``
  (a few hidden tests). Each problem records which set graded it (``test_set``: ``hidden``
  = LCB's public + private tests, ``public``, or ``public+partial_hidden``). Only a run graded
  entirely on ``hidden`` is a LiveCodeBench score; the Dataset's ``facts["lcb_score"]`` says.
- Window: ``window="r1"`` is the DeepSeek-R1 paper's 2024-08-01..2025-01-31 (inclusive, on
  ``contest_date``, as lcb_runner filters); ``start``/``end`` override either bound.
- Prompt: ``style="r1"`` (default) is lcb_runner's DeepSeek-R1 template as one user turn, no
  system prompt (byte-identical to QwQ's published LCB inputs); ``style="generic"`` is
  lcb_runner's chat format with its system message.
- Grading: ``evalr.sandboxes.grading.CodeGrader``: last fenced block of the final answer, run
  with LCB's harness (stdin or a LeetCode ``Solution`` method), judged with LCB's rules, fail-fast,
  6 s CPU per test. k = 16 samples (the R1 protocol for code), pass@1 averaged; no voting.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import pickle
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evalr.data import data_dir, rows_sha256
from evalr.errors import ConfigError, DataError
from evalr.sandboxes.grading import CodeGrader
from evalr.task import Dataset, DatasetInfo, Prompt, Task
from evalr.types import Message, Problem

HUB_REPO = "livecodebench/code_generation_lite"
HUB_REVISION = "0fe84c3912ea0c4d4a78037083943e8f0c4dd505"
FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")
# release -> (problems, contest-date span) as the LiveCodeBench README gives them.
RELEASES = {
    "release_v1": (400, "2023-05..2024-03"),
    "release_v2": (511, "2023-05..2024-05"),
    "release_v3": (612, "2023-05..2024-07"),
    "release_v4": (713, "2023-05..2024-09"),
    "release_v5": (880, "2023-05..2025-01"),
    "release_v6": (1055, "2023-05..2025-04"),
}
WINDOWS = {"r1": ("2024-08-01", "2025-01-31")}
MIRROR = "livecodebench"
PUBLIC_FILE = "lcb_release_v5_problems_public_tests.jsonl"
HARVESTED_FILE = "lcb_v5_hidden_tests_harvested_from_o1_failures.jsonl"

SYSTEM_GENERIC = (
    "You are an expert Python programmer. You will be given a question (problem specification) "
    "and will generate a correct Python program that matches the specification and passes all "
    "tests."
)
FORMAT_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose "
    "your code within delimiters."
)
FORMAT_STDIN = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not "
    "directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure "
    "that when the python program runs, it reads the inputs, runs the algorithm and writes "
    "output to STDOUT."
)
R1_INTRO = (
    "You will be given a question (problem specification) and will generate a correct Python "
    "program that matches the specification and passes all tests.\n\n"
)
Style = Literal["r1", "generic"]


def _fence(problem: Problem) -> tuple[str, str]:
    starter = problem.metadata.get("starter_code") or ""
    if starter:
        return FORMAT_STARTER, f"```python\n{starter}\n```\n\n"
    return FORMAT_STDIN, "```python\n# YOUR CODE HERE\n```\n\n"


def r1_prompt(problem: Problem) -> Prompt:
    """lcb_runner ``get_deepseek_r1_question_template_answer`` minus the assistant tag, which the
    server's chat template adds."""
    instruction, block = _fence(problem)
    text = f"{R1_INTRO}Question: {problem.input}\n\n{instruction}\n{block}"
    return Prompt((Message("user", text),))


def generic_prompt(problem: Problem) -> Prompt:
    """lcb_runner ``get_generic_question_template_answer`` with ``SYSTEM_MESSAGE_GENERIC``."""
    instruction, block = _fence(problem)
    text = f"### Question:\n{problem.input}\n\n### Format: {instruction}\n{block}"
    text += "### Answer: (use the provided format with backticks)\n\n"
    return Prompt((Message("system", SYSTEM_GENERIC), Message("user", text)))


# --- rows -----------------------------------------------------------------------------------


def _json_field(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class _StrOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:  # the payload is a plain str
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def decode_private(value: Any) -> list[Mapping[str, Any]]:
    """LCB private tests: JSON, or base64 -> zlib -> pickle (of a JSON string)."""
    if not value:
        return []
    if not isinstance(value, str):
        return list(value)
    try:
        return json.loads(value)
    except ValueError:
        pass
    raw = zlib.decompress(base64.b64decode(value.encode()))
    return json.loads(_StrOnly(io.BytesIO(raw)).load())


def _fn_name(row: Mapping[str, Any]) -> str | None:
    if row.get("func_name"):
        return str(row["func_name"])
    meta = _json_field(row.get("metadata") or {})
    name = meta.get("func_name") if isinstance(meta, Mapping) else None
    return str(name) if name else None


def _sample(row: Mapping[str, Any], tests: list[Mapping[str, Any]], test_set: str) -> Problem:
    qid = row.get("question_id")
    if not qid or not isinstance(row.get("question_content"), str):
        raise DataError(f"livecodebench: malformed row {str(row)[:80]!r}")
    return Problem(
        id=str(qid),
        input=row["question_content"],
        target="",
        metadata={
            "title": row.get("question_title"),
            "platform": row.get("platform"),
            "contest_id": row.get("contest_id"),
            "contest_date": row.get("contest_date"),
            "difficulty": row.get("difficulty"),
            "starter_code": row.get("starter_code") or "",
            "fn_name": _fn_name(row),
            "tests": {
                "inputs": [str(t["input"]) for t in tests],
                "outputs": [str(t["output"]) for t in tests],
            },
            "test_set": test_set,
        },
    )


@dataclass(frozen=True)
class _Source:
    rows: list[tuple[Mapping[str, Any], list[Mapping[str, Any]], str]]
    source: str
    sha256: str


def _read_jsonl(path: Path) -> Iterable[Mapping[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError:
                    raise DataError(f"{path}:{lineno}: malformed JSON row") from None


def _file_sha(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _hub_rows(paths: list[Path], source: str) -> _Source:
    rows = []
    for path in paths:
        for row in _read_jsonl(path):
            tests = list(_json_field(row.get("public_test_cases") or []))
            tests += decode_private(row.get("private_test_cases"))
            rows.append((row, tests, "hidden"))
    return _Source(rows, source, _file_sha(paths))


def _hub_files(release: str) -> _Source:
    count = int(release.removeprefix("release_v"))
    root = data_dir()
    names = FILES[:count]
    if root is not None:
        folder = root / MIRROR
        if all((folder / n).is_file() for n in names):
            return _hub_rows([folder / n for n in names], f"mirror:{MIRROR}/test*.jsonl")
        return _public_mirror(folder, release)
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise DataError("livecodebench: huggingface_hub is missing; pip install datasets") from None
    try:
        paths = [
            Path(hf_hub_download(HUB_REPO, n, repo_type="dataset", revision=HUB_REVISION))
            for n in names
        ]
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"livecodebench: could not download {HUB_REPO}@{HUB_REVISION[:12]} ({first[:160]}); "
            f"set EVALR_DATA_DIR to an offline mirror holding {MIRROR}/{names[-1]}"
        ) from None
    return _hub_rows(paths, "hub")


def _public_mirror(folder: Path, release: str) -> _Source:
    public = folder / PUBLIC_FILE
    if release != "release_v5" or not public.is_file():
        raise DataError(
            f"livecodebench: {release} needs {', '.join(FILES[: int(release[-1])])} in {folder} "
            f"(the Hub files of {HUB_REPO}); the offline public-test mirror ({PUBLIC_FILE}) "
            "holds release_v5 only. Unset EVALR_DATA_DIR to download them."
        )
    harvested: dict[str, list[Mapping[str, Any]]] = {}
    extra = folder / HARVESTED_FILE
    paths = [public]
    if extra.is_file():
        paths.append(extra)
        for row in _read_jsonl(extra):
            harvested[str(row["question_id"])] = list(row.get("tests") or [])
    rows = []
    for row in _read_jsonl(public):
        tests = list(_json_field(row.get("public_test_cases") or []))
        more = harvested.get(str(row.get("question_id")), [])
        rows.append((row, tests + more, "public+partial_hidden" if more else "public"))
    return _Source(rows, f"mirror:{MIRROR}/{PUBLIC_FILE}", _file_sha(paths))


# --- the task -------------------------------------------------------------------------------


def _bounds(
    window: str | None, start: str | None, end: str | None
) -> tuple[str | None, str | None]:
    if window is not None and window not in WINDOWS:
        raise ConfigError(f"unknown LiveCodeBench window {window!r}; known: {', '.join(WINDOWS)}")
    lo, hi = WINDOWS[window] if window else (None, None)
    lo, hi = start or lo, end or hi
    for bound in (lo, hi):
        try:
            if bound is not None and datetime.date.fromisoformat(bound).isoformat() != bound:
                raise ValueError
        except ValueError:
            raise ConfigError(f"LiveCodeBench date {bound!r} is not YYYY-MM-DD") from None
    return lo, hi


def _in_window(date: Any, lo: str | None, hi: str | None) -> bool:
    day = str(date or "")[:10]
    return (lo is None or day >= lo) and (hi is None or day <= hi)


class _Loader:
    """Loads the rows; the test-set facts it finds travel with the Dataset (``facts``)."""

    def __init__(self, release: str, lo: str | None, hi: str | None) -> None:
        self.release, self.lo, self.hi = release, lo, hi

    def __call__(self, seed: int) -> Dataset:
        found = _hub_files(self.release)
        samples, skipped = [], 0
        for row, tests, test_set in found.rows:
            if not _in_window(row.get("contest_date"), self.lo, self.hi):
                continue
            if not tests:
                skipped += 1  # nothing to grade against (interactive or unparsed statements)
                continue
            samples.append(_sample(row, tests, test_set))
        if len({s.id for s in samples}) != len(samples):
            raise DataError(f"livecodebench: duplicate question_id in {found.source}")
        sets = Counter(str(s.metadata["test_set"]) for s in samples)
        facts = dict(
            problems=len(samples),
            skipped_without_tests=skipped,
            test_sets=dict(sorted(sets.items())),
            test_set_by_problem={s.id: s.metadata["test_set"] for s in samples},
            lcb_score=set(sets) == {"hidden"},
            label="LiveCodeBench" if set(sets) == {"hidden"} else "LCB public tests (not LCB)",
        )
        ids = [(s.id, s.metadata["test_set"]) for s in samples]
        info = DatasetInfo(
            id=HUB_REPO,
            revision=HUB_REVISION,
            source=found.source,
            extra={
                "release": self.release,
                "sha256": found.sha256,
                "rows": len(samples),
                "ids_sha256": rows_sha256(tuple({"id": i, "set": t} for i, t in ids)),
            },
        )
        return Dataset(tuple(samples), info, facts)


def livecodebench(
    release: str = "release_v5",
    window: str | None = "r1",
    start: str | None = None,
    end: str | None = None,
    style: Style = "r1",
    sandbox: str | None = None,
) -> Task:
    """LiveCodeBench code generation; by default the R1 paper's window of release_v5."""
    if release not in RELEASES:
        known = ", ".join(RELEASES)
        raise ConfigError(f"unknown LiveCodeBench release {release!r}; known: {known}")
    prompts = {"r1": r1_prompt, "generic": generic_prompt}
    if style not in prompts:
        raise ConfigError(f"unknown LiveCodeBench prompt style {style!r}; known: r1, generic")
    lo, hi = _bounds(window, start, end)
    params: dict[str, Any] = {
        "release": release,
        "release_span": RELEASES[release][1],
        "window": window,
        "start": lo,
        "end": hi,
        "prompt_style": style,
    }
    span = f"{lo or 'start'}..{hi or 'end'}"
    return Task(
        name="livecodebench",
        version="1",
        description=f"LiveCodeBench {release} code generation, contests {span}",
        load=_Loader(release, lo, hi),
        prompt=prompts[style],
        grader=CodeGrader(sandbox=sandbox),
        default_samples=16,
        majority_vote=False,
        params=params,
    )
