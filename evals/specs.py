"""Model specs (``backend:target?key=value``) and named presets (``--model r1``)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlencode

from evalr import registry
from evalr.errors import ConfigError
from evalr.secrets import redact_url

USER_PRESETS_ENV = "EVALR_MODELS"
# Options that change how evalr reaches a model, not what it answers: a resume may change them
# (a vLLM server restarted on another port is the same model).
TRANSPORT_OPTIONS = frozenset(
    {
        "base_url",
        "api_key_env",
        "timeout_s",
        "max_connections",
        "native_n",
        "port",
        "host",
        "stream",
        "hub",  # where a model file is fetched from when not installed: same file, same model
    }
)
_SAMPLING_KEYS = {"temperature": float, "top_p": float, "max_tokens": int}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec. ``options`` are the backend's own settings, validated by it."""

    backend: str
    target: str
    options: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None  # the preset name, when one was used
    description: str = ""
    # Preset overrides of the protocol's sampling (e.g. a smaller token cap for a tiny model).
    sampling: Mapping[str, float | int] = field(default_factory=dict)
    ignores: tuple[str, ...] = ()
    native_n: bool | None = None
    needs_base_url: bool = False
    # A preset's k for every task (a tiny demo model needs 1, not AIME's 64); --samples wins.
    samples: int | None = None

    @property
    def text(self) -> str:
        """The spec as stored and shown: URLs without their user-info (credentials)."""
        shown = {k: redact_url(v) for k, v in self.options.items()}
        query = f"?{urlencode(sorted(shown.items()), safe='/:')}" if shown else ""
        return f"{self.backend}:{self.target}{query}"

    @property
    def identity(self) -> str:
        """The spec without transport options: what must match for a run to resume."""
        kept = {k: v for k, v in self.options.items() if k not in TRANSPORT_OPTIONS}
        query = f"?{urlencode(sorted(kept.items()), safe='/:')}" if kept else ""
        return f"{self.backend}:{self.target}{query}"

    @property
    def label(self) -> str:
        """A short display and directory name."""
        return self.name or self.target.rstrip("/").rsplit("/", 1)[-1] or self.backend

    def with_options(self, **options: str) -> ModelSpec:
        return replace(self, options=MappingProxyType({**self.options, **options}))


def parse(text: str) -> ModelSpec:
    """Parse ``backend:target?k=v&...``; partition, not URL parsing, so ``org/model`` survives."""
    backend, sep, rest = text.partition(":")
    if not sep or not backend or not rest:
        raise ConfigError(f"bad model spec {text!r}: expected BACKEND:TARGET[?key=value&...]")
    target, _, query = rest.partition("?")
    if not target:
        raise ConfigError(f"bad model spec {text!r}: no target before '?'")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"bad model spec {text!r}: malformed options after '?'") from None
    return ModelSpec(backend=backend, target=target, options=MappingProxyType(dict(pairs)))


def _preset_files() -> list[tuple[str, str]]:
    builtin = resources.files("evalr").joinpath("presets.toml").read_text(encoding="utf-8")
    files = [("built-in presets", builtin)]
    user = os.environ.get(USER_PRESETS_ENV)
    path = Path(user).expanduser() if user else Path("~/.config/evalr/models.toml").expanduser()
    if path.is_file():
        files.append((str(path), path.read_text(encoding="utf-8")))
    elif user:
        raise ConfigError(f"{USER_PRESETS_ENV}={user}: no such file")
    return files


def _preset(name: str, table: Mapping[str, Any], origin: str) -> ModelSpec:
    if "spec" not in table:
        raise ConfigError(f"{origin}: preset {name!r} has no 'spec'")
    spec = parse(str(table["spec"]))
    sampling = dict(table.get("sampling", {}))
    for key, value in sampling.items():
        if key not in _SAMPLING_KEYS:
            raise ConfigError(f"{origin}: preset {name!r}: unknown sampling key {key!r}")
        sampling[key] = _SAMPLING_KEYS[key](value)
    samples = table.get("samples")
    if samples is not None and (not isinstance(samples, int) or samples < 1):
        raise ConfigError(f"{origin}: preset {name!r}: samples must be a positive integer")
    return replace(
        spec,
        samples=samples,
        name=name,
        description=str(table.get("description", "")),
        sampling=MappingProxyType(sampling),
        ignores=tuple(table.get("ignores", ())),
        native_n=table.get("native_n"),
        needs_base_url=bool(table.get("needs_base_url", False)),
    )


def presets() -> dict[str, ModelSpec]:
    """Built-in presets, then the user's file (which may override them)."""
    found: dict[str, ModelSpec] = {}
    for origin, text in _preset_files():
        try:
            tables = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin}: not valid TOML ({exc})") from None
        for name, table in tables.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{origin}: {name!r} must be a table")
            found[name] = _preset(name, table, origin)
    return found


def resolve(text: str, base_url: str | None = None, served: bool = False) -> ModelSpec:
    """A preset name or a literal spec, with ``--base-url`` applied.

    ``served``: evalr will start the model's server itself (``--serve``; see
    ``evalr.backends.served.served_spec``), so a preset that needs a URL needs none.
    """
    known = presets()
    if text in known:
        spec = known[text]
    elif ":" in text:
        spec = parse(text)
        backends = registry.names("backend")
        if spec.backend not in backends:
            raise ConfigError(
                f"unknown backend {spec.backend!r} in {text!r}"
                f"{registry.did_you_mean(spec.backend, backends)}; known: {', '.join(backends)}"
            )
    else:
        options = sorted(known)
        raise ConfigError(
            f"unknown model {text!r}{registry.did_you_mean(text, options)}; "
            "use a preset (evalr models) or a spec like openai:MODEL?base_url=URL"
        )
    if served:
        if base_url:
            raise ConfigError("--serve starts its own server: drop --base-url")
    elif base_url:
        spec = spec.with_options(base_url=base_url)
    elif spec.needs_base_url and "base_url" not in spec.options:
        raise ConfigError(
            f"model {text!r} is served by your own server: pass --base-url http://HOST:PORT/v1"
        )
    return spec
