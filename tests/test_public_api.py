"""The public surface of ``evalr``: exactly the documented names, and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import evalr
import pytest

DOCUMENTED = {
    "ChoiceGrader",
    "Completion",
    "Dataset",
    "DatasetInfo",
    "EvalrError",
    "ExactGrader",
    "GenerationRequest",
    "Grade",
    "Grader",
    "HubRef",
    "IntegerGrader",
    "MathGrader",
    "Message",
    "ModelSpec",
    "Prompt",
    "Problem",
    "Sample",
    "Sampling",
    "Task",
    "choice_prompt",
    "hub_rows",
    "load_problems",
    "load_rows",
    "load_runs",
    "math_prompt",
    "mirror_rows",
    "read_rows",
    "rescore",
    "run",
}
# Names kept from the first release for plugins, and what they now are.
ALIASES = {"Sample": "Problem"}
HEAVY = ("aiohttp", "pandas", "datasets", "math_verify", "numpy", "sympy", "scipy", "matplotlib")


def test_all_is_exactly_the_documented_set() -> None:
    assert set(evalr.__all__) == DOCUMENTED
    assert len(evalr.__all__) == len(DOCUMENTED)  # no duplicates


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(evalr, name)
    assert value is not None
    assert getattr(value, "__name__", name) == ALIASES.get(name, name)


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from evalr import *", namespace)
    assert set(namespace) >= DOCUMENTED


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = evalr.nope  # type: ignore[attr-defined]


def test_errors_share_one_root() -> None:
    from evalr import errors

    leaves = [errors.ConfigError, errors.DataError, errors.ResumeError, errors.BackendError]
    leaves += [errors.TransientBackendError, errors.FatalBackendError, errors.ErrorRateExceeded]
    assert all(issubclass(e, evalr.EvalrError) for e in leaves)
    assert len({e.exit_code for e in leaves if e.__bases__ == (evalr.EvalrError,)}) == 5


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    return sorted(m for m in HEAVY if m in loaded)


@pytest.mark.parametrize(
    "code",
    [
        "import evalr",
        "from evalr import run, load_runs, Task, Problem, ModelSpec",
        # What `evalr --help`, spec resolution and backend construction need.
        "import evalr.cli, evalr.runner, evalr.specs; evalr.specs.resolve('r1')",
        "from evalr.backends.openai import OpenAIBackend; from evalr.specs import parse\n"
        "OpenAIBackend(parse('openai:m?base_url=http://127.0.0.1:9/v1'))",
        # `evalr --help` loads every command, built-in and plugin, to list them.
        "import contextlib, io, evalr.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()): evalr.cli.main(['--help'])",
    ],
)
def test_import_is_light(code: str) -> None:
    assert _imported_after(code) == []


def test_no_module_shadows_a_public_name() -> None:
    """A submodule named like a public function would replace it once imported."""
    from pathlib import Path

    modules = {p.stem for p in Path(evalr.__file__).parent.glob("*.py")}
    assert not modules & set(evalr.__all__)
