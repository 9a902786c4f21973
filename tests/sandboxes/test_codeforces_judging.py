"""Codeforces judging in both real sandboxes: solutions written for real problems' tests.

1581A (CodeContests tests, 1 s, 256 MB): count permutations, (2n)!/2 mod 1e9+7. 1594A: any
l < r summing to n, so several answers are correct; judged by token comparison (which rejects
a different correct answer), a host checker and a checker program run in the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from evalr.sandbox import Limits, Program, Sandbox
from evalr.tasks.codeforces import codeforces
from evalr.tasks.codeforces.grading import CodeforcesGrader
from evalr.types import Completion, Problem

from .conftest import skip_unless

CPP_ACCEPTED = r"""
#include <cstdio>
const long long MOD = 1000000007;
static long long fact[200001];
int main() {
    fact[0] = 1;
    for (int i = 1; i <= 200000; i++) fact[i] = fact[i - 1] * i % MOD;
    int t;
    scanf("%d", &t);
    while (t--) {
        int n;
        scanf("%d", &n);
        printf("%lld\n", fact[2 * n] * ((MOD + 1) / 2) % MOD);
    }
}
"""
CPP = {
    "accepted": CPP_ACCEPTED,
    "wrong_answer": CPP_ACCEPTED.replace(" * ((MOD + 1) / 2) % MOD", ""),
    "time_limit": CPP_ACCEPTED.replace(
        "fact[0] = 1;",
        "volatile long long spin = 0;\n    for (long long i = 0; i < 40000000000LL; i++) spin += i;"
        "\n    fact[0] = 1;",
    ),
    "compile_error": CPP_ACCEPTED.replace("int t;", "int t"),
    "runtime_error": "#include <vector>\nint main() { std::vector<int> v; return v.at(5); }\n",
    "memory_limit": "#include <vector>\n#include <cstdio>\nint main() { std::vector<long long> v;"
    ' for (int i = 0; i < 100000000; i++) v.push_back(i); printf("%lld\\n", v[7]); }\n',
}
PY_ACCEPTED = """
import sys
MOD = 10**9 + 7
data = sys.stdin.read().split()
ns = [int(x) for x in data[1:]]
fact = [1] * (2 * max(ns) + 1)
for i in range(1, len(fact)):
    fact[i] = fact[i - 1] * i % MOD
print("\\n".join(str(fact[2 * n] * pow(2, MOD - 2, MOD) % MOD) for n in ns))
"""
PYTHON = {
    "accepted": PY_ACCEPTED,
    "wrong_answer": PY_ACCEPTED.replace(" * pow(2, MOD - 2, MOD) % MOD", " % MOD"),
    "time_limit": "while True:\n    pass\n",
    "runtime_error": "raise SystemExit('no') if False else int('x')\n",
}
RIDDLE_OTHER_ANSWER = """
t = int(input())
for _ in range(t):
    n = int(input())
    if n % 2 and n > 1:
        print((n - 1) // 2, (n + 1) // 2)  # two consecutive numbers: also correct
    else:
        print(-(n - 1), n)
"""
RIDDLE_CHECKER = """
import sys
given, expected, output = (open(name).read().split() for name in sys.argv[1:4])
ns = [int(x) for x in given[1:]]
ok = len(output) == 2 * len(ns)
for i, n in enumerate(ns):
    if not ok:
        break
    l, r = int(output[2 * i]), int(output[2 * i + 1])
    ok = -10**18 <= l < r <= 10**18 and (l + r) * (r - l + 1) // 2 == n
print(1 if ok else 0)
"""


def riddle_checker(given: str, output: str, expected: str) -> bool:
    ns = [int(x) for x in given.split()[1:]]
    tokens = output.split()
    if len(tokens) != 2 * len(ns):
        return False
    pairs = zip(tokens[::2], tokens[1::2], strict=True)
    return all(
        -(10**18) <= int(a) < int(b) <= 10**18
        and (int(a) + int(b)) * (int(b) - int(a) + 1) // 2 == n
        for (a, b), n in zip(pairs, ns, strict=True)
    )


@pytest.fixture(scope="module")
def problems(data_dir: Path) -> dict[str, Problem]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVALR_DATA_DIR", str(data_dir))
        samples = codeforces(problems="codecontests").load(0).problems
    return {s.id: s for s in samples if s.id in ("1581A", "1594A")}


def _fenced(language: str, code: str) -> str:
    return f"Here is my program.\n```{language}\n{textwrap.dedent(code).strip()}\n```\n"


def _grade(grader: CodeforcesGrader, sample: Problem, texts: list[str]) -> list:
    extracted = [grader.extract(sample, Completion(text=t)) for t in texts]
    return asyncio.run(grader.grade(sample, extracted))


def test_cpp_verdicts(box: Sandbox, problems: dict[str, Problem]) -> None:
    grader = CodeforcesGrader(language="cpp", sandbox=box)
    sample = problems["1581A"]
    grades = _grade(grader, sample, [_fenced("cpp", code) for code in CPP.values()])
    assert [g.verdict for g in grades] == list(CPP)
    accepted = grades[0]
    assert accepted.correct and accepted.details["passed"] == len(
        sample.metadata["tests"]["inputs"]
    )
    assert accepted.details["language"] == "cpp" and accepted.details["test_set"] == "codecontests"
    assert "error" in grades[3].details["reason"]  # the compiler's message
    assert all(not g.correct for g in grades[1:])


def test_python_verdicts(box: Sandbox, problems: dict[str, Problem]) -> None:
    grader = CodeforcesGrader(language="python", sandbox=box)
    texts = [_fenced("python", code) for code in PYTHON.values()]
    texts.append("No code here.")
    texts.append(_fenced("java", "class Main {}"))
    grades = _grade(grader, problems["1581A"], texts)
    assert [g.verdict for g in grades] == [*PYTHON, "no_code", "no_code"]
    assert grades[-1].details["reason"] == "a java program is not judged"


def test_compiled_once_for_all_tests(box: Sandbox) -> None:
    source = textwrap.dedent(
        r"""
        #include <cstdio>
        #include <sys/stat.h>
        int main() {
            struct stat s; stat("/proc/self/exe", &s);
            long long x; scanf("%lld", &x);
            printf("%lld %lld %ld\n", x, (long long)s.st_ino, (long)s.st_mtim.tv_nsec);
        }
        """
    )
    execution = asyncio.run(box.run(Program("cpp", source), ["1", "2", "3"], Limits(cpu_s=1.0)))
    assert execution.compile_error is None and len(execution.runs) == 3
    binaries = {run.stdout.split(maxsplit=1)[1] for run in execution.runs}
    assert [run.stdout.split()[0] for run in execution.runs] == ["1", "2", "3"]
    assert len(binaries) == 1  # the same executable ran every test


def test_several_answers_need_a_checker(box: Sandbox, problems: dict[str, Problem]) -> None:
    sample = problems["1594A"]
    other = _fenced("python", RIDDLE_OTHER_ANSWER)
    wrong = _fenced(
        "python", "t = int(input())\nfor _ in range(t):\n    n = int(input())\n    print(0, n)"
    )
    plain = CodeforcesGrader(language="python", sandbox=box)
    assert [g.verdict for g in _grade(plain, sample, [other])] == ["wrong_answer"]
    host = CodeforcesGrader(language="python", sandbox=box, checkers={"1594A": riddle_checker})
    graded = _grade(host, sample, [other, wrong])
    assert [g.verdict for g in graded] == ["accepted", "wrong_answer"]
    assert graded[0].details["compare"] == "host checker"
    in_sandbox = Problem(
        sample.id, sample.input, "", {**sample.metadata, "checker": RIDDLE_CHECKER}
    )
    graded = _grade(plain, in_sandbox, [other, wrong])
    assert [g.verdict for g in graded] == ["accepted", "wrong_answer"]
    assert graded[0].details["compare"] == "checker program (sandbox)"


def test_evalr_score_grades_stored_answers(data_dir: Path, tmp_path: Path) -> None:
    """``evalr score --task codeforces --responses FILE``: the engine's grading path."""
    skip_unless("local")
    rows = [
        {"id": "1581A", "response": "<think>factorials</think>" + _fenced("cpp", CPP_ACCEPTED)},
        {"id": "1581A", "response": _fenced("python", PYTHON["wrong_answer"])},
        {"id": "1581A", "response": "I could not solve it."},
    ]
    answers, graded = tmp_path / "answers.jsonl", tmp_path / "graded.jsonl"
    answers.write_text("".join(json.dumps(row) + "\n" for row in rows))
    command = [sys.executable, "-m", "evalr", "score", "--task", "codeforces", "--sandbox", "local"]
    done = subprocess.run(
        [*command, "--responses", str(answers), "--out", str(graded)],
        env={**os.environ, "EVALR_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in graded.read_text().splitlines()]
    assert [(r["correct"], r["verdict"]) for r in out] == [
        (True, "accepted"), (False, "wrong_answer"), (False, "no_code")
    ]  # fmt: skip
