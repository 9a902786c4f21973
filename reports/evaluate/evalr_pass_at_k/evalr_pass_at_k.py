"""evalr's pass@1, pass@k and cons@k as a Hugging Face ``evaluate`` metric.

Load it by path (``evaluate.load(".../evalr_pass_at_k")``). The module computes nothing itself:
it calls evalr's own grading path (``evalr.grading.Grading`` with evalr's graders, the same
reasoning split as ``evalr score --responses``) and evalr's metrics (``evalr.metrics``,
rounded as results.json rounds them), so its numbers are exactly those of an evalr run over the
same responses. It needs evalr installed (``pip install 'evalr[evaluate]'``); the module loader
copies this file alone, so nothing of evalr is copied here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Sequence
from typing import Any

import datasets
import evaluate
from evalr.graders import ChoiceGrader, ExactGrader, IntegerGrader, MathGrader
from evalr.grading import Grading
from evalr.metrics import Attempt, majority_correct, task_metrics
from evalr.results import metric_json
from evalr.score import as_completion
from evalr.task import Dataset, Prompt, Task
from evalr.types import Grade, Problem

GRADERS = {
    "math": MathGrader,
    "integer": IntegerGrader,
    "choice": ChoiceGrader,
    "exact": ExactGrader,
}

_DESCRIPTION = """\
pass@1 (mean correctness over the k responses to each problem, averaged over problems),
unbiased pass@k for k = 2, 4, 8, ... up to the number of responses, and cons@k (majority vote
over groups of mathematically equivalent answers; a tie goes to the answer that came first),
graded by evalr: the final answer is read after the reasoning (`</think>`), math answers are
compared by mathematical equivalence (math-verify plus evalr's fixes), as in an evalr run.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: one list of responses per problem (k responses; reasoning included or not).
    references: the gold answer of each problem (a letter for grader="choice").
    grader: "math" (default: mathematical equivalence of the last \\boxed{} answer),
        "integer" (AIME-style, as math but for integer golds), "choice" (the option letter:
        "Answer: C", "\\boxed{C}", "(C)") or "exact" (whitespace-normalised string match).
    return_details: also return each metric's standard error, 95% interval, interval method
        and problem count ("details"), and per problem the extracted answers, which were
        correct and whether the majority vote was right ("per_problem").
Returns:
    {"pass@1": float, "pass@2": float, ..., "pass@k": float, "cons@k": float}, values in
    [0, 1] rounded to 6 places as in evalr's results.json; k is the most responses any
    problem has. Problems with fewer responses count for the pass@k they can support.
Examples:
    >>> metric = evaluate.load("reports/evaluate/evalr_pass_at_k")
    >>> responses = [["\\\\boxed{1/2}", "\\\\boxed{0.5}"]]
    >>> metric.compute(predictions=responses, references=["\\\\frac12"])
    {'pass@1': 1.0, 'pass@2': 1.0, 'cons@2': 1.0}
"""

_CITATION = """\
@article{deepseekr1,
  title={DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning},
  author={DeepSeek-AI},
  journal={arXiv preprint arXiv:2501.12948},
  year={2025}
}
@article{chen2021codex,
  title={Evaluating Large Language Models Trained on Code},
  author={Chen, Mark and others},
  journal={arXiv preprint arXiv:2107.03374},
  year={2021}
}
"""


def _no_dataset(seed: int) -> Dataset:
    raise RuntimeError("the evaluate module grades given responses; it loads no dataset")


def _no_prompt(sample: Problem) -> Prompt:
    raise RuntimeError("the evaluate module grades given responses; it builds no prompt")


def _task(grader: str) -> Task:
    if grader not in GRADERS:
        raise ValueError(f"grader must be one of {', '.join(GRADERS)}, not {grader!r}")
    return Task(
        name=f"evaluate-{grader}",
        version="1",
        description=f"responses given to the evaluate module, graded by evalr's {grader} grader",
        load=_no_dataset,
        prompt=_no_prompt,
        grader=GRADERS[grader](),
        default_samples=1,
    )


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run to completion, also from inside a running event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _grade_all(
    task: Task, predictions: Sequence[Sequence[str | None]], references: Sequence[Any]
) -> list[list[tuple[int, Grade]]]:
    grading = Grading()

    async def one(
        index: int, responses: Sequence[str | None], gold: Any
    ) -> list[tuple[int, Grade]]:
        given = [(i, r) for i, r in enumerate(responses) if r is not None]
        if not given:
            return []
        sample = Problem(id=str(index), input="", target=str(gold).strip())
        grades = await grading.grade(task, sample, [as_completion(r) for _, r in given])
        return [(i, g) for (i, _), g in zip(given, grades, strict=True)]

    jobs = (one(n, p, r) for n, (p, r) in enumerate(zip(predictions, references, strict=True)))
    return list(await asyncio.gather(*jobs))


def _attempts(graded: Sequence[tuple[int, Grade]]) -> list[Attempt]:
    """Votes from the stored answer classes, as evalr's results do (no grader call)."""
    ids: dict[str, int] = {}
    out = []
    for index, grade in graded:
        cls = grade.answer_class if grade.answer_class is not None else grade.extracted
        vote = None if cls is None else ids.setdefault(cls, len(ids))
        out.append(Attempt(grade.correct, vote, index))
    return out


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EvalrPassAtK(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Value("string"),
                }
            ),
            reference_urls=["arXiv:2501.12948", "arXiv:2107.03374"],
        )

    def _compute(
        self,
        predictions: Sequence[Sequence[str | None]],
        references: Sequence[Any],
        grader: str = "math",
        return_details: bool = False,
    ) -> dict[str, Any]:
        task = _task(grader)
        graded = _run(_grade_all(task, predictions, references))
        problems = [_attempts(g) for g in graded]
        metrics = task_metrics(problems, task.majority_vote)
        out: dict[str, Any] = {m.label: metric_json(m)["value"] for m in metrics}
        if return_details:
            out["details"] = {m.label: metric_json(m) for m in metrics}
            out["per_problem"] = [
                {
                    "extracted": [g.extracted for _, g in attempts],
                    "correct": [bool(g.correct) for _, g in attempts],
                    "cons": bool(majority_correct(problem)) if attempts else None,
                }
                for attempts, problem in zip(graded, problems, strict=True)
            ]
        return out
