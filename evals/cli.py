"""The ``evalr`` command: a click group whose commands load only when used.

Built-in commands live in ``evalr.commands``; other packages add theirs through the
``evalr.commands`` entry point (a ``click.Command`` or ``click.Group``). Every failure a user can
cause is one line on stderr and an exit code: usage mistakes exit 2, ``EvalrError``s their own
code (see the README's table), Ctrl-C 130. Command modules keep heavy imports inside their
functions so ``evalr --help`` stays instant.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

import click

BUILTIN = {
    "run": "evalr.commands.run:run",
    "show": "evalr.commands.results:show",
    "score": "evalr.commands.results:score",
    "tasks": "evalr.commands.catalog:tasks",
    "models": "evalr.commands.catalog:models",
    "sandbox": "evalr.commands.sandbox:sandbox",
}
ENTRY_POINTS = "evalr.commands"


def _load(target: str) -> click.Command:
    module, _, attr = target.partition(":")
    command = getattr(import_module(module), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class EvalrGroup(click.Group):
    """Commands by name from the built-in table, then from installed plugins."""

    def _plugins(self) -> dict[str, str]:
        found = {}
        for point in entry_points(group=ENTRY_POINTS):
            if point.name not in BUILTIN:
                found[point.name] = point.value
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN, *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = BUILTIN.get(cmd_name) or self._plugins().get(cmd_name)
        if target is None:
            return None
        try:
            return _load(target)
        except Exception as exc:  # a broken plugin must not take the other commands down
            message = f"unavailable: {type(exc).__name__}: {exc}"[:200]

            @click.command(cmd_name, help=message, add_help_option=False)
            def broken() -> None:
                from evalr.errors import ConfigError

                raise ConfigError(f"command {cmd_name} is {message}")

            return broken

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            from evalr.registry import did_you_mean

            hint = did_you_mean(name, self.list_commands(ctx))
            raise click.UsageError(f"no command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(
    cls=EvalrGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="evalr", message="evalr %(version)s")
def cli() -> None:
    """Reproducible evaluation of reasoning LLMs (the DeepSeek-R1 protocol)."""


def _usage_line(exc: click.UsageError) -> str:
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else "evalr"
    message = " ".join(exc.format_message().split())
    return f"{path}: error: {message} (see {path} --help)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    from evalr.errors import EvalrError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result: Any = cli.main(args=args, prog_name="evalr", standalone_mode=False)
    except click.UsageError as exc:
        print(_usage_line(exc), file=sys.stderr)
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # e.g. a file click could not open
        print(f"evalr: error: {' '.join(exc.format_message().split())}", file=sys.stderr)
        return exc.exit_code
    except EvalrError as exc:
        print(f"evalr: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, click.Abort):
        print(
            "evalr: interrupted; stored work is kept, rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 0
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
