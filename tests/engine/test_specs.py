"""Model spec parsing, built-in presets and user preset files."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalr import specs
from evalr.errors import ConfigError


@pytest.fixture(autouse=True)
def no_user_presets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Never read the developer's own ~/.config/evalr/models.toml.
    monkeypatch.delenv(specs.USER_PRESETS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_parse_keeps_slashes_and_colons() -> None:
    spec = specs.parse("openai:org/model?base_url=http://h:1/v1&api_key_env=X")
    assert spec.backend == "openai"
    assert spec.target == "org/model"
    assert dict(spec.options) == {"base_url": "http://h:1/v1", "api_key_env": "X"}


def test_parse_target_may_hold_colons_and_paths() -> None:
    spec = specs.parse("llamacpp:/models/r1:q4.gguf")
    assert (spec.backend, spec.target, dict(spec.options)) == ("llamacpp", "/models/r1:q4.gguf", {})


def test_spec_text_round_trips() -> None:
    spec = specs.parse("openai:org/model?base_url=http://h:1/v1&api_key_env=X")
    again = specs.parse(spec.text)
    assert (again.backend, again.target, dict(again.options)) == (
        spec.backend,
        spec.target,
        dict(spec.options),
    )


def test_label_is_last_path_part() -> None:
    assert specs.parse("openai:deepseek-ai/DeepSeek-R1-Distill-Qwen-7B").label == (
        "DeepSeek-R1-Distill-Qwen-7B"
    )


@pytest.mark.parametrize(
    "text",
    ["openai", "openai:", ":model", "openai:?base_url=http://h/v1", "openai:m?novalue"],
)
def test_malformed_specs(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        specs.parse(text)
    assert "\n" not in str(err.value)


def test_r1_preset() -> None:
    spec = specs.resolve("r1")
    assert spec.backend == "openai" and spec.target == "deepseek-reasoner"
    assert spec.options["api_key_env"] == "DEEPSEEK_API_KEY"
    assert spec.options["base_url"].startswith("https://")
    assert spec.name == "r1" and spec.label == "r1"
    assert "temperature" in spec.ignores


def test_all_paper_presets_exist() -> None:
    names = set(specs.presets())
    sizes = ["qwen-1.5b", "qwen-7b", "qwen-14b", "qwen-32b", "llama-8b", "llama-70b"]
    assert {"r1", "v3", *(f"r1-distill-{s}" for s in sizes)} <= names


def test_distill_preset_needs_base_url() -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        specs.resolve("r1-distill-qwen-7b")
    spec = specs.resolve("r1-distill-qwen-7b", base_url="http://127.0.0.1:8000/v1")
    assert spec.target == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
    assert spec.options["base_url"] == "http://127.0.0.1:8000/v1"


def test_base_url_overrides_a_literal_spec() -> None:
    spec = specs.resolve("openai:m?base_url=http://a/v1", base_url="http://b/v1")
    assert spec.options["base_url"] == "http://b/v1"


def test_unknown_model_suggests_a_preset() -> None:
    with pytest.raises(ConfigError, match="did you mean r1-distill-qwen-7b") as err:
        specs.resolve("r1-distil-qwen-7b")
    assert "\n" not in str(err.value)


def test_unknown_backend_suggests_one() -> None:
    with pytest.raises(ConfigError, match="did you mean openai"):
        specs.resolve("opnai:some-model")


def test_user_presets_override_and_add(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[mine]\nspec = "openai:my/model?base_url=http://127.0.0.1:9/v1"\n'
        'description = "my server"\nsampling = { max_tokens = 2048 }\n\n'
        '[r1]\nspec = "openai:deepseek-reasoner?base_url=http://proxy/v1&api_key_env=MY_KEY"\n'
    )
    monkeypatch.setenv(specs.USER_PRESETS_ENV, str(path))
    mine = specs.resolve("mine")
    assert mine.target == "my/model" and mine.description == "my server"
    assert mine.sampling == {"max_tokens": 2048}
    r1 = specs.resolve("r1")
    assert r1.options["api_key_env"] == "MY_KEY" and r1.options["base_url"] == "http://proxy/v1"
    assert "v3" in specs.presets()  # built-ins not overridden stay


def test_user_presets_from_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(specs.os.environ["HOME"])
    (home / ".config/evalr").mkdir(parents=True)
    (home / ".config/evalr/models.toml").write_text('[here]\nspec = "fake:constant"\n')
    assert specs.resolve("here").backend == "fake"


@pytest.mark.parametrize(
    "content",
    [
        "[broken\nspec = 1\n",  # not TOML
        "[nospec]\ndescription = 'x'\n",  # no spec
        "loose = 'not a table'\n",
        "[bad]\nspec = 'fake:constant'\nsampling = { temprature = 0.1 }\n",
        "[bad]\nspec = 'no-colon'\n",
    ],
)
def test_bad_user_presets_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "models.toml"
    path.write_text(content)
    monkeypatch.setenv(specs.USER_PRESETS_ENV, str(path))
    with pytest.raises(ConfigError) as err:
        specs.presets()
    assert "\n" not in str(err.value)


def test_missing_user_presets_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(specs.USER_PRESETS_ENV, str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match=r"absent\.toml"):
        specs.resolve("r1")


def test_the_spec_parser_knows_no_backend() -> None:
    """specs is below every backend (they import ModelSpec): it must not import them back."""
    import json
    import subprocess
    import sys

    probe = (
        "import sys, json, evalr.specs\n"
        "evalr.specs.resolve('r1'); evalr.specs.resolve('r1-distill-qwen-7b', served=True)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('evalr.backends'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out) == []
