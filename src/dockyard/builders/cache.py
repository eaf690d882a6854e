"""Build a cache folder once across threads and processes, atomically.

The pattern shared by environments and server runtimes: a folder ``final`` is *complete* when
its marker file is there (written last). :func:`build_once` takes a file lock, re-checks, builds
into a sibling temporary folder (``.tmp-<name>-*``) and renames it into place. A build that fails
or is killed leaves only a temporary folder, which the next build under the lock removes: nothing
a later call would trust. A waiting caller is told once that another process is building.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from dockyard.errors import EnvironmentBuildError

Progress = Callable[[str], None]

#: Folder (under the cache) of the lock files.
LOCKS = ".locks"


def build_once(
    final: Path,
    cache_dir: Path,
    complete: Callable[[Path], bool],
    build: Callable[[Path], None],
    say: Progress,
    lock_timeout: float,
) -> bool:
    """Build ``final`` once across threads and processes. Returns True if this call built it."""
    if complete(final):
        return False
    lock_name = "-".join(final.relative_to(cache_dir).parts)
    with locked(cache_dir / LOCKS / f"{lock_name}.lock", say, lock_timeout):
        if complete(final):
            return False
        discard(final)
        for stale in final.parent.glob(f".tmp-{final.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; a shared cache is read by others
        try:
            build(tmp)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return True


@contextlib.contextmanager
def locked(path: Path, say: Progress, timeout: float) -> Iterator[None]:
    """Hold the file lock ``path`` (released by the OS if this process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(f"another process is building {path.stem}: waiting for it to finish")
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            raise EnvironmentBuildError(
                f"Waited {timeout:.0f} s for another process building {path.stem} (lock {path}).",
                step="environment",
                hint="wait for the other build to finish, or stop it and try again",
            ) from exc
    try:
        yield
    finally:
        lock.release()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path`` (OSError or ValueError when missing or damaged)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def discard(path: Path) -> None:
    """Move an incomplete or broken folder out of the way, then delete it."""
    if not path.exists():
        return
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON atomically (a reader sees the old file or the new one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
