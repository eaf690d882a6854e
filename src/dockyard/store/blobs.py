"""Content-addressed file store: every file is kept once, under the SHA-256 of its bytes.

Layout under the workspace's ``blobs/`` folder::

    sha256/ab/ab12...ef    one read-only file per distinct content
    tmp/                   files being written (``<pid>-<random>.part``)

Writes stream in chunks (memory stays flat however large the file), go to a temporary file, are
flushed to disk, and only then are linked under their final name: a reader never sees a partial
blob, and a writer killed half-way leaves only a ``.part`` file that ``clean_temp`` removes.
Identical content is stored once (the second copy's temporary file is dropped). Reads verify:
``path()``, ``open()`` and ``copy_to()`` raise :class:`~dockyard.errors.IntegrityError` when a
blob's bytes no longer match its name.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from dockyard.errors import IntegrityError, ValidationError

CHUNK = 1 << 20  # 1 MiB: large enough for full disk speed, small enough for flat memory
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass
class VerifyReport:
    """What ``BlobStore.verify`` found. ``ok`` is False when a blob is damaged or missing."""

    checked: int = 0
    bytes_checked: int = 0
    damaged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unreferenced: list[str] = field(default_factory=list)
    stale_temp: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "bytes_checked": self.bytes_checked,
            "damaged": sorted(self.damaged),
            "missing": sorted(self.missing),
            "unreferenced": sorted(self.unreferenced),
            "stale_temp": sorted(self.stale_temp),
        }


def check_sha(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise (it becomes a path)."""
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        raise ValidationError(
            f"Invalid blob id {sha256!r}: expected 64 lowercase hexadecimal digits (a SHA-256).",
            hint="Use the sha256 recorded for the model file; do not edit it by hand.",
        )
    return sha256


def _syncfs(folder: Path) -> bool:
    """Flush the file system holding ``folder`` (Linux ``syncfs``). False if unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        return bool(libc.syncfs(fd) == 0)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class BlobStore:
    """The content-addressed store under ``root`` (a workspace's ``blobs/`` folder)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.objects = self.root / "sha256"
        self.tmp = self.root / "tmp"

    def ensure(self) -> None:
        """Create the folders (idempotent)."""
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    # --- writing ------------------------------------------------------------------------------
    def put_file(self, path: Path | str) -> tuple[str, int]:
        """Store one file's bytes; return ``(sha256, size)``."""
        return self.put_files([path])[0]

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import io

        with self._batch() as batch:
            ref = batch.add_stream(io.BytesIO(data))
        return ref

    def put_files(self, paths: Iterable[Path | str]) -> list[tuple[str, int]]:
        """Store many files with one disk flush for the batch; return ``(sha256, size)`` each.

        Nothing becomes visible until every file is written and flushed; if one file fails, the
        temporary files of the batch are removed and the error is raised.
        """
        refs: list[tuple[str, int]] = []
        with self._batch() as batch:
            for path in paths:
                try:
                    src = open(path, "rb")  # noqa: SIM115 - closed below
                except OSError as exc:
                    raise ValidationError(
                        f"Cannot read {path}: {exc.strerror or exc}",
                        hint="Check that the file exists and that you may read it.",
                    ) from exc
                with src:
                    refs.append(batch.add_stream(src))
        return refs

    @contextlib.contextmanager
    def _batch(self) -> Iterator[_Batch]:
        self.ensure()
        batch = _Batch(self)
        try:
            yield batch
            batch.commit()
        finally:
            batch.discard()

    # --- reading ------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        """Where blob ``sha256`` lives (not checked: see :meth:`path`)."""
        check_sha(sha256)
        return self.objects / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def path(self, sha256: str, *, verify: bool = True, size: int | None = None) -> Path:
        """The path of blob ``sha256``, after checking its bytes (unless ``verify=False``)."""
        target = self.blob_path(sha256)
        if not target.is_file():
            raise IntegrityError(
                f"Blob {sha256} is missing from {self.objects}.",
                hint="Run `dockyard workspace verify`; re-register the model from its source files to restore it.",
            )
        if verify:
            actual, actual_size = hash_file(target)
            if actual != sha256 or (size is not None and actual_size != size):
                raise _damaged(sha256, target)
        return target

    def open(self, sha256: str) -> VerifyingReader:
        """Open blob ``sha256`` for reading; reading to the end raises if the bytes are damaged."""
        target = self.path(sha256, verify=False)
        return VerifyingReader(open(target, "rb"), sha256, target)  # noqa: SIM115

    def copy_to(self, sha256: str, dest: Path, *, size: int | None = None) -> None:
        """Copy blob ``sha256`` to ``dest`` (atomically, verified before ``dest`` appears)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
        try:
            with self.open(sha256) as src, open(tmp, "wb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
            if size is not None and tmp.stat().st_size != size:
                raise _damaged(sha256, self.blob_path(sha256))
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def link_to(self, sha256: str, dest: Path, *, verify: bool = True) -> None:
        """Hard-link blob ``sha256`` at ``dest`` (read-only, no copy); copy across devices."""
        src = self.path(sha256, verify=verify)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dest)
        except FileExistsError:
            if not os.path.samefile(src, dest):
                raise
        except OSError:
            self.copy_to(sha256, dest)
            os.chmod(dest, READ_ONLY)

    # --- maintenance --------------------------------------------------------------------------
    def iter_blobs(self) -> Iterator[tuple[str, Path]]:
        if not self.objects.is_dir():
            return
        for prefix in sorted(self.objects.iterdir()):
            if prefix.is_dir():
                for blob in sorted(prefix.iterdir()):
                    yield blob.name, blob

    def verify(
        self, expected: Mapping[str, int] | None = None, *, full: bool = True
    ) -> VerifyReport:
        """Check the store. ``expected`` maps every referenced sha256 to its size.

        Damaged: bytes (or size) differ from the name. Missing: referenced but absent.
        ``full=False`` checks sizes only (fast). Leftover temporary files and unreferenced
        blobs are listed but are not damage.
        """
        report = VerifyReport()
        seen: set[str] = set()
        for name, blob in self.iter_blobs():
            if not _SHA_RE.match(name):
                report.damaged.append(name)
                continue
            seen.add(name)
            size = blob.stat().st_size
            want = None if expected is None else expected.get(name)
            if expected is not None and name not in expected:
                report.unreferenced.append(name)
            report.checked += 1
            report.bytes_checked += size
            wrong_size = want is not None and want != size
            if wrong_size or (full and hash_file(blob)[0] != name):
                report.damaged.append(name)
        if expected is not None:
            report.missing.extend(sha for sha in expected if sha not in seen)
        if self.tmp.is_dir():
            report.stale_temp.extend(p.name for p in self.tmp.iterdir() if not _writer_alive(p))
        return report

    def clean_temp(self) -> int:
        """Remove temporary files whose writer is gone; return how many were removed."""
        removed = 0
        if self.tmp.is_dir():
            for part in self.tmp.iterdir():
                if not _writer_alive(part):
                    with contextlib.suppress(FileNotFoundError):
                        part.unlink()
                        removed += 1
        return removed

    def remove_unreferenced(self, referenced: set[str], *, grace_seconds: float = 3600) -> int:
        """Delete blobs not in ``referenced`` and untouched for ``grace_seconds``.

        The grace period protects blobs that a registration running right now has stored but not
        yet recorded (storing refreshes an existing blob's modification time).
        """
        cutoff = time.time() - grace_seconds
        removed = 0
        for name, blob in self.iter_blobs():
            if name not in referenced and blob.stat().st_mtime < cutoff:
                with contextlib.suppress(FileNotFoundError):
                    blob.unlink()
                    removed += 1
        return removed

    def size_on_disk(self) -> int:
        return sum(blob.stat().st_size for _, blob in self.iter_blobs())


class _Batch:
    """Temporary files of one ``put_*`` call; ``commit`` flushes them and links them in place."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.pending: list[tuple[Path, str, int]] = []
        self.buf = bytearray(CHUNK)
        self.linux_sync = sys.platform.startswith("linux")

    def add_stream(self, src: IO[bytes]) -> tuple[str, int]:
        name = f"{os.getpid()}-{secrets.token_hex(8)}.part"
        tmp = self.store.tmp / name
        digest = hashlib.sha256()
        size = 0
        view = memoryview(self.buf)
        with open(tmp, "wb") as out:
            self.pending.append((tmp, "", 0))
            readinto = getattr(src, "readinto", None)
            while True:
                if readinto is not None:
                    n = readinto(self.buf)
                    chunk = view[:n]
                else:
                    data = src.read(CHUNK)
                    n, chunk = len(data), memoryview(data)
                if not n:
                    break
                digest.update(chunk)
                out.write(chunk)
                size += n
            if not self.linux_sync:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, READ_ONLY)
        sha = digest.hexdigest()
        self.pending[-1] = (tmp, sha, size)
        return sha, size

    def commit(self) -> None:
        if not self.pending:
            return
        if not (self.linux_sync and _syncfs(self.store.tmp)):
            for tmp, _, _ in self.pending:
                _fsync_file(tmp)
        dirs: set[Path] = set()
        for tmp, sha, size in self.pending:
            final = self.store.blob_path(sha)
            final.parent.mkdir(exist_ok=True)
            dirs.add(final.parent)
            try:
                os.link(tmp, final)
            except FileExistsError:
                try:
                    good = final.stat().st_size == size
                except FileNotFoundError:
                    good = False
                if good:
                    os.utime(final)  # refresh: keeps the blob out of remove_unreferenced's reach
                else:
                    os.replace(tmp, final)  # repair a damaged or vanished copy
            except OSError:
                os.replace(tmp, final)  # file systems without hard links
        for tmp, _, _ in self.pending:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.pending.clear()
        if not (self.linux_sync and _syncfs(self.store.objects)):
            for folder in dirs:
                _fsync_dir(folder)

    def discard(self) -> None:
        for tmp, _, _ in self.pending:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.pending.clear()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer_alive(part: Path) -> bool:
    """Whether the process that writes temporary file ``part`` still runs (same host)."""
    pid_text = part.name.split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def hash_file(path: Path | str) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb") as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def _damaged(sha256: str, path: Path) -> IntegrityError:
    return IntegrityError(
        f"Blob {sha256} at {path} is damaged: its bytes no longer match their SHA-256.",
        hint="Run `dockyard workspace verify` to list every damaged blob; re-register the model from its source files to repair it.",
    )


class VerifyingReader:
    """A read-only file over a blob that hashes what is read and raises at the end on mismatch."""

    def __init__(self, raw: BinaryIO, sha256: str, path: Path) -> None:
        self._raw = raw
        self._sha = sha256
        self._path = path
        self._digest = hashlib.sha256()
        self._checked = False

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._digest.update(data)
        if not data or n is None or n < 0:
            self._check()
        return data

    def _check(self) -> None:
        if not self._checked:
            self._checked = True
            if self._digest.hexdigest() != self._sha:
                raise _damaged(self._sha, self._path)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CHUNK", "BlobStore", "VerifyReport", "VerifyingReader", "check_sha", "hash_file"]
