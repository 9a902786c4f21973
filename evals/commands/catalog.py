"""``evalr tasks [NAME]`` and ``evalr models``: what can be run."""

from __future__ import annotations

import click


@click.command()
@click.argument("name", required=False)
def tasks(name: str | None) -> int:
    """List tasks, or show one task's description and -T options."""
    from evalr import registry, taskref

    if name is not None:
        resolved = taskref.resolve(name)
        task = resolved.task
        click.echo(f"{task.name}  (version {task.version}, k={task.default_samples})")
        click.echo(task.description.strip())
        factory = None if taskref.is_file_ref(name) or ":" in name else registry.load("task", name)
        names = taskref.option_names(factory) if factory is not None else []
        if names:
            import inspect

            params = inspect.signature(factory).parameters  # type: ignore[arg-type]
            click.echo("options (-T KEY=VALUE):")
            for option in names:
                default = params[option].default
                shown = "" if default is inspect.Parameter.empty else f" (default {default!r})"
                click.echo(f"  {option}{shown}")
        else:
            click.echo("options: none")
        return 0
    for registered in registry.names("task"):
        try:
            task = taskref.resolve(registered).task
            line = task.description.strip().splitlines()[0] if task.description else ""
            click.echo(f"{registered:16} k={task.default_samples:<3} {line}")
        except Exception as exc:  # a broken plugin must not hide the others
            click.echo(f"{registered:16} (unavailable: {exc})")
    return 0


@click.command()
def models() -> int:
    """List model presets (built-in and your models.toml)."""
    from evalr import specs

    for name, spec in specs.presets().items():
        click.echo(f"{name:22} {spec.text}\n{'':22} {spec.description}")
    return 0
