"""``evalr sandbox build`` and ``evalr sandbox check``.

The engine reaches the sandbox implementations only through the registry: each class has
``probe()``, ``build(method, force)``, and the Docker one ``image_present(method)``.
"""

from __future__ import annotations

import click


@click.group()
def sandbox() -> None:
    """Build or check the code-execution sandbox."""


@sandbox.command()
@click.option(
    "--method",
    type=click.Choice(["host", "debootstrap", "dockerfile"]),
    default="host",
    show_default=True,
    help="host: copy the system Python and its libraries (seconds, offline); debootstrap: "
    "minimal Debian from the configured apt mirror; dockerfile: docker build of the bundled "
    "Dockerfile (needs a registry).",
)
@click.option("--force", is_flag=True, help="Re-import the image even if present.")
def build(method: str, force: bool) -> int:
    """Build the sandbox image without a registry."""
    from evalr import registry
    from evalr.sandbox import availability

    if method != "dockerfile":
        root = registry.load("sandbox", "local").build(method)
        how = f"built in {root['seconds']:.1f} s" if root["seconds"] else "cached"
        click.echo(f"root filesystem ({method}): {root['rootfs']} ({root['size_mb']} MB, {how})")
    docker = availability("docker")
    if not docker.usable:
        click.echo(f"docker: {docker.detail}; only the local sandbox can use this build")
        return 0
    image = registry.load("sandbox", "docker").build(method, force=force)
    how = f"imported in {image['seconds']:.1f} s" if image["seconds"] else "already present"
    click.echo(f"docker image: {image['image']} {image['image_id']} ({how})")
    return 0


@sandbox.command()
def check() -> int:
    """Say which sandboxes work here and which one runs code."""
    from evalr import registry
    from evalr.errors import SandboxError
    from evalr.sandbox import availability

    usable = []
    for name in ("docker", "local"):
        found = availability(name)
        state = f"usable, {found.strength} isolation" if found.usable else "not usable"
        click.echo(f"{name:7s} {state}: {found.detail}")
        if found.usable:
            usable.append(found.name)
    if not usable:
        raise SandboxError(
            "untrusted code cannot run here: start a Docker engine or install bubblewrap"
        )
    chosen = usable[0]
    note = "" if chosen == "docker" else " (weaker isolation: no Docker engine answers)"
    click.echo(f"default: {chosen}{note}; choose with --sandbox or EVALR_SANDBOX=docker|local")
    if chosen == "docker":
        tag, image_id = registry.load("sandbox", "docker").image_present("host")
        click.echo(
            f"image:   {tag} {image_id or '(built on first use, or run: evalr sandbox build)'}"
        )
    return 0
