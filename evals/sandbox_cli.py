"""``evalr sandbox build`` and ``evalr sandbox check``.

The engine reaches the sandbox implementations only through the registry: each class has
``probe()``, ``build(method, force)``, and the Docker one ``image_present(method)``.
"""

from __future__ import annotations

import argparse
import sys

from evalr import registry
from evalr.errors import EvalrError, SandboxError
from evalr.sandbox import availability


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("sandbox", help="build or check the code-execution sandbox")
    actions = parser.add_subparsers(dest="sandbox_action", required=True)
    build = actions.add_parser("build", help="build the sandbox image without a registry")
    build.add_argument(
        "--method",
        choices=("host", "debootstrap", "dockerfile"),
        default="host",
        help="host: copy the system Python and its libraries (seconds, offline; default); "
        "debootstrap: minimal Debian + python3, numpy, g++ from the configured apt mirror; "
        "dockerfile: docker build of the bundled Dockerfile (needs a registry)",
    )
    build.add_argument("--force", action="store_true", help="re-import the image even if present")
    actions.add_parser("check", help="say which sandboxes work here and which one runs code")
    parser.set_defaults(handler=run)
    return parser


def _build(method: str, force: bool) -> int:
    if method != "dockerfile":
        root = registry.load("sandbox", "local").build(method)
        how = f"built in {root['seconds']:.1f} s" if root["seconds"] else "cached"
        print(f"root filesystem ({method}): {root['rootfs']} ({root['size_mb']} MB, {how})")
    docker = availability("docker")
    if not docker.usable:
        print(f"docker: {docker.detail}; only the local sandbox can use this build")
        return 0
    image = registry.load("sandbox", "docker").build(method, force=force)
    how = f"imported in {image['seconds']:.1f} s" if image["seconds"] else "already present"
    print(f"docker image: {image['image']} {image['image_id']} ({how})")
    return 0


def _check() -> int:
    usable = []
    for name in ("docker", "local"):
        found = availability(name)
        state = f"usable, {found.strength} isolation" if found.usable else "not usable"
        print(f"{name:7s} {state}: {found.detail}")
        if found.usable:
            usable.append(found.name)
    if not usable:
        print("untrusted code cannot run here: start a Docker engine or install bubblewrap")
        return SandboxError.exit_code
    chosen = usable[0]
    note = "" if chosen == "docker" else " (weaker isolation: no Docker engine answers)"
    print(f"default: {chosen}{note}; choose with EVALR_SANDBOX=docker|local")
    if chosen == "docker":
        tag, image_id = registry.load("sandbox", "docker").image_present("host")
        print(f"image:   {tag} {image_id or '(built on first use, or run: evalr sandbox build)'}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        if args.sandbox_action == "build":
            return _build(args.method, args.force)
        return _check()
    except EvalrError as exc:
        print(f"evalr: {exc}", file=sys.stderr)
        return exc.exit_code
