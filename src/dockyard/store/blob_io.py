"""Low-level helpers of the blob store: the write batch, disk flushes, verified reading.

``WriteBatch`` writes the temporary files of one ``BlobStore.put_*`` call (possibly from several
threads) and, on commit, flushes them to disk and links each under its SHA-256 name.
``VerifyingReader`` hashes what is read and raises at the end when the bytes do not match.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import mmap
import os
import secrets
import stat
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO

from dockyard.errors import IntegrityError

if TYPE_CHECKING:
    from dockyard.store.blobs import BlobStore

CHUNK = 1 << 20  # 1 MiB: large enough for full disk speed, small enough for flat memory
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
#: Bytes copied by the kernel, then hashed, per step (bounds the memory mapped at once).
WINDOW = 4 * CHUNK


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


class WriteBatch:
    """Temporary files of one ``put_*`` call; ``commit`` flushes them and links them in place.

    ``add_stream`` may run in several threads at once (one file each): hashing and writing
    release the GIL, so files are stored in parallel.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.temps: list[Path] = []  # every temporary file created (removed at the end)
        self.done: list[tuple[Path, str, int]] = []  # complete ones: (temp, sha256, size)
        self.local = threading.local()
        self.linux_sync = sys.platform.startswith("linux")

    def add_stream(self, src: IO[bytes]) -> tuple[str, int]:
        tmp = self.store.tmp / f"{os.getpid()}-{secrets.token_hex(8)}.part"
        with self.lock:
            self.temps.append(tmp)
        # Created read-only: the descriptor stays writable, the stored file never is.
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, READ_ONLY)
        with open(fd, "r+b", buffering=0, closefd=True) as out:
            copied = _kernel_copy(src, out.fileno())
            sha, size = copied if copied is not None else self._copy(src, out)
            if not self.linux_sync:
                os.fsync(out.fileno())
        with self.lock:
            self.done.append((tmp, sha, size))
        return sha, size

    def _copy(self, src: IO[bytes], out: IO[bytes]) -> tuple[str, int]:
        """Read, hash and write in CHUNK pieces (streams, or when the kernel cannot copy)."""
        buf = getattr(self.local, "buf", None)
        if buf is None:
            buf = self.local.buf = bytearray(CHUNK)
        view = memoryview(buf)
        digest = hashlib.sha256()
        size = 0
        readinto = getattr(src, "readinto", None)
        while True:
            if readinto is not None:
                n = readinto(buf)
                chunk = view[:n]
            else:
                data = src.read(CHUNK)
                n, chunk = len(data), memoryview(data)
            if not n:
                break
            digest.update(chunk)
            written = 0
            while written < n:
                written += out.write(chunk[written:]) or 0
            size += n
        return digest.hexdigest(), size

    def commit(self) -> None:
        if not self.done:
            return
        if not (self.linux_sync and _syncfs(self.store.tmp)):
            for tmp, _, _ in self.done:
                _fsync_file(tmp)
        dirs: set[Path] = set()
        for tmp, sha, size in self.done:
            final = self.store.blob_path(sha)
            if final.parent not in dirs:
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
        self.discard()
        if not (self.linux_sync and _syncfs(self.store.objects)):
            for folder in dirs:
                _fsync_dir(folder)

    def discard(self) -> None:
        for tmp in self.temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self.temps.clear()
        self.done.clear()


def _kernel_copy(src: IO[bytes], out_fd: int) -> tuple[str, int] | None:
    """Copy ``src`` into ``out_fd`` inside the kernel and hash what was written.

    ``copy_file_range`` moves the bytes without passing them through Python; each window is
    then hashed from the written file through a short-lived memory map (so the name always
    matches the stored bytes, and memory stays bounded by ``WINDOW``). Returns None when the
    kernel or file system cannot do it before anything was copied (the caller copies by hand).
    """
    copy = getattr(os, "copy_file_range", None)
    try:
        src_fd = src.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    if copy is None or not stat.S_ISREG(os.fstat(src_fd).st_mode):
        return None
    digest = hashlib.sha256()
    size = hashed = 0
    while True:
        try:
            n = copy(src_fd, out_fd, WINDOW)
        except OSError:
            if size == 0:
                return None
            raise
        if n == 0:
            break
        size += n
        start = hashed - hashed % mmap.ALLOCATIONGRANULARITY
        with (
            mmap.mmap(out_fd, size - start, offset=start, access=mmap.ACCESS_READ) as mapped,
            memoryview(mapped) as whole,
            whole[hashed - start :] as part,
        ):
            digest.update(part)
        hashed = size
    return digest.hexdigest(), size


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def damaged_error(sha256: str, path: Path) -> IntegrityError:
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
                raise damaged_error(self._sha, self._path)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CHUNK", "READ_ONLY", "VerifyingReader", "WriteBatch", "damaged_error", "hash_file"]
