"""Bootstrap a Python base image from Debian packages, without pulling from any registry.

Many networks (this project's CI included) cannot pull ``python:3.11-slim`` from a public
registry. :func:`bootstrap_base_image` builds an equivalent image locally instead:

1. ``debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates
   bookworm DIR`` (about 40 s; needs root and the ``debootstrap`` package);
2. trims what a server image never needs (downloaded ``.deb`` files, apt lists, man pages, docs,
   translations);
3. ``docker import`` of the folder as a tar stream, with a sensible ``PATH``, ``LANG`` and ``CMD``
   and labels saying what it is.

It is idempotent: when an image of that name exists it is reused (``force=True`` rebuilds it).
``Image.bootstrap_base_image(ws)`` (and the CLI's ``dockyard base-image bootstrap [--python
3.11]``) calls it; the engine's calls are those of :mod:`dockyard.targets.docker_images`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import ImageBuildError, ValidationError
from dockyard.targets import docker_images as engine

#: The image name dockyard uses when a spec names no base image.
DEFAULT_BASE_IMAGE = "dockyard/python:3.11-bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
#: Debian release shipping each Python version as its ``python3``.
SUITE_FOR_PYTHON = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
#: Removed after debootstrap: caches and documentation a server image never reads.
_TRIM = (
    "var/cache/apt/archives",
    "var/cache/apt/pkgcache.bin",
    "var/cache/apt/srcpkgcache.bin",
    "var/lib/apt/lists",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
)


@dataclass(frozen=True)
class BaseImage:
    """The result of :func:`bootstrap_base_image`."""

    name: str
    image_id: str
    python_version: str
    suite: str
    created: bool  # False when an existing image was reused
    seconds: float


def default_base_image_name(python_version: str = "3.11") -> str:
    """``dockyard/python:<version>-<suite>``, e.g. ``dockyard/python:3.11-bookworm``."""
    return f"dockyard/python:{python_version}-{_suite_for(python_version)}"


def bootstrap_base_image(
    client: Any,
    name: str | None = None,
    *,
    python_version: str = "3.11",
    suite: str | None = None,
    mirror: str = DEFAULT_MIRROR,
    extra_packages: tuple[str, ...] = (),
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> BaseImage:
    """Make sure a Python base image called ``name`` exists in the engine; build it if needed.

    ``client`` is a ``docker.DockerClient`` (see :func:`dockyard.targets.docker_engine.connect`).
    ``python_version`` picks the Debian suite whose ``python3`` has that version (3.11: bookworm);
    ``suite`` overrides it. ``log`` receives progress lines (debootstrap's output included).
    Raises :class:`~dockyard.errors.ImageBuildError` (with the failing step and log tail) when
    debootstrap or the import fails.
    """
    suite = suite or _suite_for(python_version)
    name = name or f"dockyard/python:{python_version}-{suite}"
    say = log or (lambda _line: None)
    started = time.monotonic()
    with _lock(name):
        existing = None if force else engine.get_image(client, name)
        if existing is not None:
            say(f"Base image {name} exists ({existing.short_id}); reusing it")
            return BaseImage(name, existing.id, python_version, suite, False, 0.0)
        _check_tools()
        with tempfile.TemporaryDirectory(prefix="dockyard-rootfs-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            packages = ",".join((*BASE_PACKAGES, *extra_packages))
            say(f"debootstrap {suite} with {packages} (about 40 s)")
            _run(
                "debootstrap",
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={packages}",
                    suite,
                    str(rootfs),
                    mirror,
                ],
                say,
            )
            _finish_rootfs(rootfs, suite, mirror)
            say(f"Importing the root filesystem as {name}")
            image_id = _import(client, rootfs, name, python_version, suite)
    seconds = time.monotonic() - started
    say(f"Base image {name} ready in {seconds:.0f} s")
    return BaseImage(name, image_id, python_version, suite, True, seconds)


def _suite_for(python_version: str) -> str:
    try:
        return SUITE_FOR_PYTHON[python_version]
    except KeyError:
        known = ", ".join(sorted(SUITE_FOR_PYTHON))
        raise ValidationError(
            f"No Debian release is known to ship Python {python_version}",
            hint=f"use one of {known}, or pass suite=... explicitly",
        ) from None


def _check_tools() -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is not installed, so the base image cannot be bootstrapped",
            step="debootstrap",
            hint="install it (`apt-get install -y debootstrap`, or scripts/engines/install)",
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            "debootstrap needs root to build a root filesystem",
            step="debootstrap",
            hint="run the bootstrap as root (e.g. `sudo dockyard base-image bootstrap`)",
        )


def _run(step: str, argv: list[str], say: Callable[[str], None]) -> None:
    lines: list[str] = []
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        say(line.rstrip("\n"))
    if proc.wait() != 0:
        raise ImageBuildError(
            f"{step} failed with exit code {proc.returncode}",
            step=step,
            log_tail="\n".join(lines[-30:]),
            hint="check the mirror is reachable (apt-get update works?) and there is disk space",
        )


def _finish_rootfs(rootfs: Path, suite: str, mirror: str) -> None:
    for rel in _TRIM:
        target = rootfs / rel
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir(parents=True)
        elif target.exists():
            target.unlink()
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    # Keep copyright files (licences), drop the rest of /usr/share/doc.
    doc = rootfs / "usr/share/doc"
    for path in sorted(doc.rglob("*"), reverse=True) if doc.is_dir() else []:
        if path.is_file() and path.name != "copyright":
            path.unlink()
    # Security and point-release updates, so that a Dockerfile step's apt-get sees them.
    sources = [f"deb {mirror} {suite} main", f"deb {mirror} {suite}-updates main"]
    if "deb.debian.org" in mirror:
        sources.append(f"deb http://deb.debian.org/debian-security {suite}-security main")
    (rootfs / "etc/apt/sources.list").write_text("\n".join(sources) + "\n")


def _import(client: Any, rootfs: Path, name: str, python_version: str, suite: str) -> str:
    changes = [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["python3"]',
        f'LABEL dockyard.base.python="{python_version}" dockyard.base.suite="{suite}"',
    ]
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tar.stdout is not None
    try:
        image_id = engine.import_image(client, tar.stdout, name, changes)
    except ImageBuildError:
        tar.kill()
        tar.wait()
        raise
    finally:
        tar.stdout.close()
    if tar.wait() != 0:
        raise ImageBuildError(
            "tar of the bootstrapped root filesystem failed",
            step="docker import",
            log_tail=tar.stderr.read().decode(errors="replace") if tar.stderr else None,
            hint="check there is disk space in the temporary folder",
        )
    return image_id


class _lock:
    """An exclusive file lock per image name, so parallel test workers bootstrap only once."""

    def __init__(self, name: str) -> None:
        safe = "".join(ch if ch.isalnum() else "_" for ch in name)
        self.path = Path(tempfile.gettempdir()) / f"dockyard-base-image-{safe}.lock"

    def __enter__(self) -> None:
        self.handle = open(self.path, "w")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
