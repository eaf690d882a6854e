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
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import IntegrityError, ValidationError
from dockyard.store.blob_io import (
    CHUNK,
    READ_ONLY,
    VerifyingReader,
    WriteBatch,
    damaged_error,
    hash_file,
)

#: Files stored in parallel (hashing and writing release the GIL): one buffer of CHUNK each.
WORKERS = max(1, min(4, os.cpu_count() or 1))
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


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
        paths = list(paths)
        with self._batch() as batch:

            def store_one(path: Path | str) -> tuple[str, int]:
                try:
                    src = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
                except OSError as exc:
                    raise ValidationError(
                        f"Cannot read {path}: {exc.strerror or exc}",
                        hint="Check that the file exists and that you may read it.",
                    ) from exc
                with src:
                    return batch.add_stream(src)

            if len(paths) < 2 or WORKERS < 2:
                return [store_one(p) for p in paths]
            with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="blobs") as pool:
                return list(pool.map(store_one, paths))

    @contextlib.contextmanager
    def _batch(self) -> Iterator[WriteBatch]:
        self.ensure()
        batch = WriteBatch(self)
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
                raise damaged_error(sha256, target)
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
                raise damaged_error(sha256, self.blob_path(sha256))
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


__all__ = ["CHUNK", "BlobStore", "VerifyReport", "VerifyingReader", "check_sha", "hash_file"]
