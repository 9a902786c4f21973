"""The sandbox root filesystem and Docker image, built without a registry.

Methods:
- ``host`` (default): the host's system Python (``/usr/bin/python3``, Debian's), its standard
  library, numpy if the system Python has it, the system C++ compiler (the Debian packages of
  ``/usr/bin/g++`` and their dependencies, as ``dpkg`` lists them, without documentation, the C
  and LTO compilers and the sanitizer runtimes), and every shared library those link (found
  with ``ldd``), copied into a directory; then a precompiled ``<bits/stdc++.h>`` made with the
  runner's compile flags (about 100 MB; it cuts a typical submission's compile from about 2.7 s
  to under 1 s). Seconds, no network.
- ``debootstrap``: a minimal Debian from the mirror the host's apt is configured with, plus
  python3, python3-numpy and g++. Minutes, needs that mirror.
- ``dockerfile``: ``docker build`` of the Dockerfile beside this module, for engines that reach
  a registry.

The directory is the local sandbox's root; ``docker import`` of it plus the runner is the
Docker image, tagged with a hash of its inputs, so a changed runner gives a new image.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalr.errors import SandboxError

from .wire import PYTHON, RUNNER, RUNNER_PATH

Method = Literal["host", "debootstrap", "dockerfile"]
REPOSITORY = "evalr-sandbox"
UID_NOBODY = 65534
_DROP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data"}
GXX = "/usr/bin/g++"
# Packages of the compiler's dependency closure that a C++ submission never needs.
_SKIP_PACKAGES = re.compile(
    r"^(lib(asan|tsan|lsan|ubsan|hwasan|gprofng|krb5|gssapi|k5crypto|ssl|com-err|keyutils)"
    r"|rpcsvc-proto|libc-dev-bin|.*-base$)"
)
# Files of the kept packages that are not needed: docs, locales, and compilers other than C++.
_SKIP_FILES = re.compile(
    r"^/usr/share/(doc|man|info|locale|lintian|bug|bash-completion|gdb)/"
    r"|/gconv/|/plugin/|/(cc1|lto1|lto-wrapper)$|lto-dump|gprofng|/gp-|ld\.gold|dwp$"
    r"|/lib(a|t|l|ub|hwa)san[._]|/libgfortran"
)
_BUILDING = threading.RLock()  # one build at a time per process; across processes, atomic renames
_LDD = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def cache_dir() -> Path:
    """Where root filesystems live. Root's home is private, and the local sandbox reads the
    tree as an unprivileged uid, so root builds go to /var/cache."""
    root = os.environ.get("EVALR_CACHE_DIR")
    if not root and os.getuid() == 0:
        root = "/var/cache/evalr"
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        root = os.path.join(base, "evalr")
    return Path(root) / "sandbox"


def runner_copy() -> Path:
    """The runner beside the cached roots, readable by the sandbox uids (a checkout may not be)."""
    with _BUILDING:
        return _runner_copy()


def _runner_copy() -> Path:
    target = cache_dir() / f"runner-{hashlib.sha256(RUNNER.read_bytes()).hexdigest()[:12]}.py"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}-{threading.get_ident()}")
        shutil.copyfile(RUNNER, tmp)
        tmp.chmod(0o644)
        tmp.rename(target)
    return target


def _system_python() -> Path:
    path = Path(PYTHON)
    if not path.exists():
        raise SandboxError(f"{PYTHON} not found: the host build copies the system Python")
    return path.resolve()


# Bumped whenever what a build puts in the root changes (2: g++ and a precompiled header).
LAYOUT = "2"


def base_key(method: Method) -> str:
    """What the root filesystem depends on (not the runner)."""
    digest = hashlib.sha256(f"{method}:{LAYOUT}".encode())
    if method == "host":
        exe = _system_python()
        stat = exe.stat()
        digest.update(f"{exe}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        digest.update(str(_numpy_dir()).encode())
        digest.update(_compiler_version().encode())
    return digest.hexdigest()[:16]


def image_tag(method: Method) -> str:
    digest = hashlib.sha256(base_key(method).encode() + RUNNER.read_bytes())
    return f"{REPOSITORY}:{method}-{digest.hexdigest()[:12]}"


def rootfs_dir(method: Method = "host") -> Path:
    return cache_dir() / f"rootfs-{method}-{base_key(method)}" / "root"


@dataclass(frozen=True)
class Built:
    path: Path
    seconds: float
    size_mb: float


def ensure_rootfs(method: Method = "host") -> Built:
    """The cached root filesystem for ``method``, built if missing (atomically)."""
    with _BUILDING:
        return _ensure_rootfs(method)


def _ensure_rootfs(method: Method) -> Built:
    dest = rootfs_dir(method)
    marker = dest.with_name("complete")
    if marker.exists():
        return Built(dest, 0.0, _size_mb(dest))
    start = time.monotonic()
    tmp = dest.with_name(f"tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for folder in (cache_dir().parent, cache_dir(), tmp.parent, tmp):
        folder.chmod(0o755)  # the local sandbox's uids must traverse it, whatever the umask
    try:
        if method == "host":
            _build_host(tmp)
        elif method == "debootstrap":
            _build_debootstrap(tmp)
        else:
            raise SandboxError(f"method {method!r} builds no root filesystem")
        _finish(tmp)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
        marker.write_text("ok\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Built(dest, time.monotonic() - start, _size_mb(dest))


def _numpy_dir() -> Path | None:
    probe = subprocess.run(
        [PYTHON, "-I", "-c", "import numpy, os; print(os.path.dirname(numpy.__file__))"],
        capture_output=True,
        text=True,
    )
    return Path(probe.stdout.strip()) if probe.returncode == 0 else None


def _copy(src: Path, root: Path) -> None:
    """Copy ``src`` to the same path under ``root``, keeping symlinks as symlinks."""
    target = root / str(src).lstrip("/")
    if target.exists() or target.is_symlink():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        link = os.readlink(src)
        os.symlink(link, target)
        _copy((src.parent / link).resolve() if not os.path.isabs(link) else Path(link), root)
    else:
        shutil.copy2(src, target)


def _libraries(binaries: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for chunk in range(0, len(binaries), 64):
        out = subprocess.run(
            ["ldd", *map(str, binaries[chunk : chunk + 64])], capture_output=True, text=True
        ).stdout
        found.update(Path(m.group(1)) for m in _LDD.finditer(out))
    return found


def _compiler_version() -> str:
    """What identifies the host's C++ compiler (its resolved path, size and mtime)."""
    gxx = Path(GXX)
    if not gxx.exists():
        return "no g++"
    real = gxx.resolve()
    stat = real.stat()
    return f"{real}:{stat.st_size}:{stat.st_mtime_ns}"


def _dpkg(*args: str) -> str:
    done = subprocess.run(["dpkg-query", *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def compiler_packages() -> list[str]:
    """The installed Debian packages g++ needs: its package and its Depends, transitively."""
    if shutil.which("dpkg-query") is None or not Path(GXX).exists():
        raise SandboxError(
            f"{GXX} not found (or no dpkg): the host build copies the system C++ compiler; "
            "apt-get install g++"
        )
    owner = subprocess.run(
        ["dpkg", "-S", str(Path(GXX).resolve())], capture_output=True, text=True
    ).stdout
    todo, seen = [owner.split(":")[0].strip()], set()
    while todo:
        name = todo.pop()
        if name in seen or not name or _SKIP_PACKAGES.match(name):
            continue
        if "installed" not in _dpkg("-W", "-f=${Status}", name):
            continue
        seen.add(name)
        depends = _dpkg("-W", "-f=${Depends},${Pre-Depends}", name)
        for alternative in depends.split(","):
            first = alternative.split("|")[0].strip()
            todo.append(re.split(r"[ (:]", first)[0])
    return sorted(seen)


def _copy_compiler(root: Path) -> list[Path]:
    """Copy the C++ toolchain's files; return its executables for the ``ldd`` pass."""
    executables: list[Path] = []
    for package in compiler_packages():
        for line in _dpkg("-L", package).splitlines():
            path = Path(line.strip())
            if not line.startswith("/") or _SKIP_FILES.search(line) or path.is_dir():
                continue
            if not (path.exists() or path.is_symlink()):
                continue  # diverted or removed
            _copy(path, root)
            if not path.is_symlink() and os.access(path, os.X_OK) and _is_elf(path):
                executables.append(path)
    _copy(Path(GXX), root)
    return executables


def _precompile_header(root: Path) -> None:
    """``bits/stdc++.h.gch`` beside the header in the root, made by the same g++ with the
    runner's flags (g++ uses it only when they match, else reads the header as usual)."""
    from .runner import CXX_FLAGS

    headers = sorted(Path("/usr/include").glob("*/c++/*/bits/stdc++.h"))
    if not headers:
        return
    target = root / str(headers[-1]).lstrip("/")
    done = subprocess.run(
        [GXX, *CXX_FLAGS, "-x", "c++-header", str(headers[-1]), "-o", f"{target}.gch"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:  # the image still works, only compiles are slower
        Path(f"{target}.gch").unlink(missing_ok=True)


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def _build_host(root: Path) -> None:
    exe = _system_python()
    version = f"python{exe.name.removeprefix('python')}"
    stdlib = Path("/usr/lib") / version
    if not stdlib.is_dir():
        raise SandboxError(f"{stdlib} not found: the host build needs Debian's system Python")
    for top in ("usr/bin", "usr/lib", "usr/lib64", "etc", "tmp", "proc", "dev", "opt/evalr"):
        (root / top).mkdir(parents=True, exist_ok=True)
    for name, target in (("lib", "usr/lib"), ("lib64", "usr/lib64"), ("bin", "usr/bin")):
        if Path("/" + name).is_symlink():
            os.symlink(target, root / name)
    _copy(exe, root)
    for alias in (Path(PYTHON), Path("/usr/bin/python3")):
        _copy(alias, root)
    ignore = shutil.ignore_patterns(*_DROP, "*.exe")
    shutil.copytree(stdlib, root / str(stdlib).lstrip("/"), symlinks=True, ignore=ignore)
    binaries = [exe, *sorted((stdlib / "lib-dynload").glob("*.so"))]
    numpy = _numpy_dir()
    if numpy is not None:
        shutil.copytree(numpy, root / str(numpy).lstrip("/"), symlinks=True, ignore=ignore)
        binaries += sorted(numpy.rglob("*.so"))
    binaries += _copy_compiler(root)
    _precompile_header(root)
    for lib in _libraries(binaries):
        _copy(lib, root)
        for sibling in lib.parent.glob(lib.name.split(".so")[0] + ".so*"):
            if sibling.is_symlink() and sibling.resolve() == lib.resolve():
                _copy(sibling, root)
    for path in _libraries(binaries):  # libraries of libraries (ldd is already transitive)
        _copy(path.resolve(), root)


def mirror(sources: list[Path] | None = None) -> tuple[str, str]:
    """(URI, suite) of the first Debian source the host's apt is configured with."""
    if sources is None:
        listed = sorted(Path("/etc/apt/sources.list.d").glob("*"))
        sources = [Path("/etc/apt/sources.list"), *listed]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for block in text.split("\n\n"):  # deb822 .sources stanzas
            fields = dict(
                (k.strip(), v.strip())
                for k, _, v in (line.partition(":") for line in block.splitlines())
                if not k.startswith("#") and v
            )
            uri, suites = fields.get("URIs", ""), fields.get("Suites", "").split()
            if "debian" in uri and "security" not in uri and suites:
                return uri.split()[0], suites[0]
        for line in text.splitlines():  # one-line "deb URI suite components" form
            parts = line.split()
            deb = len(parts) >= 3 and parts[0] == "deb" and "debian" in parts[1]
            if deb and "security" not in parts[1]:
                return parts[1], parts[2]
    raise SandboxError("no Debian mirror configured in /etc/apt/sources.list*")


def _build_debootstrap(root: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap not installed (apt-get install debootstrap)")
    uri, suite = mirror()
    cmd = [
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-numpy,g++",
        suite,
        str(root),
        uri,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        raise SandboxError(f"debootstrap failed: {tail[0]}")
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        shutil.rmtree(root / sub, ignore_errors=True)
    (root / "opt/evalr").mkdir(parents=True, exist_ok=True)


def _finish(root: Path) -> None:
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    passwd = etc / "passwd"
    if not passwd.exists() or passwd.is_symlink():
        passwd.write_text("root:x:0:0::/root:/bin/false\nnobody:x:65534:65534::/tmp:/bin/false\n")
    group = etc / "group"
    if not group.exists():
        group.write_text("root:x:0:\nnogroup:x:65534:\n")
    for mount in ("tmp", "proc", "dev", "opt/evalr"):
        (root / mount).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / RUNNER_PATH.lstrip("/")).touch()  # a mount point for the local sandbox's bind


def _size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink())
    return round(total / 2**20, 1)


def image_tar(root: Path) -> bytes:
    """The root filesystem plus the runner as an uncompressed tar, owned by root."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            if info.name == "./" + RUNNER_PATH.lstrip("/"):
                return None  # the placeholder; the real runner is added below
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info

        tar.add(str(root), arcname=".", filter=owned_by_root)
        data = RUNNER.read_bytes()
        info = tarfile.TarInfo(RUNNER_PATH.lstrip("/"))
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ensure_image(client, method: Method = "host", force: bool = False) -> tuple[str, str, float]:
    """(tag, image id, seconds spent) of the sandbox image, importing it if missing."""
    import docker.errors

    tag = image_tag(method)
    if not force:
        try:
            return tag, client.images.get(tag).id, 0.0
        except docker.errors.ImageNotFound:
            pass
    start = time.monotonic()
    if method == "dockerfile":
        context = Path(__file__).parent
        image, _ = client.images.build(
            path=str(context), dockerfile="Dockerfile", tag=tag, rm=True, pull=False
        )
        return tag, image.id, time.monotonic() - start
    root = ensure_rootfs(method).path
    repository, _, version = tag.partition(":")
    changes = [
        f"USER {UID_NOBODY}:{UID_NOBODY}",
        "WORKDIR /tmp",
        "ENV PATH=/usr/bin:/bin LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1",
        f'CMD ["{PYTHON}", "-I", "-B", "{RUNNER_PATH}", "idle"]',
    ]
    client.api.import_image_from_data(
        image_tar(root), repository=repository, tag=version, changes=changes
    )
    _prune(client, method, keep=tag)
    return tag, client.images.get(tag).id, time.monotonic() - start


def _prune(client, method: Method, keep: str) -> None:
    """Drop this method's images from older runners; ones still in use are left alone."""
    for image in client.images.list(name=REPOSITORY):
        stale = [t for t in image.tags if t.startswith(f"{REPOSITORY}:{method}-") and t != keep]
        if stale and keep not in image.tags:
            for old in stale:
                # An image a container still runs (another evalr process) refuses: keep it.
                with contextlib.suppress(Exception):
                    client.images.remove(old, force=False)


if __name__ == "__main__":  # python -m evalr.sandboxes.image [method]: build the root only
    built = ensure_rootfs(sys.argv[1] if len(sys.argv) > 1 else "host")  # type: ignore[arg-type]
    print(built)
