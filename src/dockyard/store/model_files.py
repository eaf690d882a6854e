"""Files in and out of the registry: collecting a model's files, downloading, materializing.

* ``collect`` walks a file or folder the user registers and returns (source, relative path)
  pairs. A folder keeps its own name as the top of the tree (``outputs/sub/w.bin``), as Azure does.
  Symlinks are followed only when they point inside the folder; special files, ``..`` in
  ``child_paths``, missing paths and empty folders are refused before anything is stored.
* ``download`` writes a model's files under a target folder through a staging folder, so a
  damaged blob or an existing file stops it before any file appears.
* ``materialize`` lays out ``<workspace>/models/<name>/<version>/<root>`` read-only, hard-linked
  from the blob store, for ``Model.get_model_path`` outside a deployment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from dockyard.errors import ConflictError, ValidationError
from dockyard.store.blobs import BlobStore
from dockyard.store.models import FileEntry


def safe_relative(path: str, *, what: str) -> PurePosixPath:
    """``path`` as a relative POSIX path without ``..``, or a ValidationError naming it."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if not path or pure.is_absolute() or ".." in pure.parts or path.startswith("~"):
        raise ValidationError(
            f"{what} {path!r} must be a relative path inside the model without '..' (path traversal is refused).",
            hint="Give paths relative to the model folder, e.g. 'weights/model.bin'.",
        )
    return pure


def collect(
    model_path: str | os.PathLike[str], child_paths: Sequence[str] | None = None
) -> tuple[str, bool, list[tuple[Path, str]]]:
    """The registered tree: ``(root name, is_folder, [(source file, relative POSIX path)])``."""
    given = str(model_path)
    source = Path(given).expanduser()
    if not given or not source.exists():
        raise ValidationError(
            f"Model path {given!r} does not exist (resolved to {source.absolute()}).",
            hint="Pass the path of the model file or folder to register.",
        )
    source = source.resolve()
    root = source.name
    if source.is_file():
        if child_paths:
            raise ValidationError(
                f"child_paths {list(child_paths)!r} need model_path to be a folder, but {given!r} is a file."
            )
        return root, False, [(source, root)]
    if not source.is_dir():
        raise ValidationError(f"Model path {given!r} is neither a regular file nor a folder.")
    if child_paths:
        found: dict[str, Path] = {}
        for child in child_paths:
            rel = safe_relative(str(child), what="Child path")
            target = source / rel
            if not target.exists():
                raise ValidationError(
                    f"Child path {child!r} does not exist in model folder {given!r}.",
                    hint="child_paths are relative to model_path.",
                )
            entries = (
                _walk(target, source, given) if target.is_dir() else [_file(target, source, given)]
            )
            for src, relpath in entries:
                found[relpath] = src
        entries = [(src, relpath) for relpath, src in found.items()]
    else:
        entries = _walk(source, source, given)
    if not entries:
        raise ValidationError(
            f"Model folder {given!r} holds no files: an empty model cannot be registered.",
            hint="Check the path, or put the model files into the folder first.",
        )
    return root, True, sorted(((src, f"{root}/{rel}") for src, rel in entries), key=lambda e: e[1])


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _file(path: Path, top: Path, given: str) -> tuple[Path, str]:
    real = path.resolve()
    if not _inside(real, top):
        raise ValidationError(
            f"{path} in model folder {given!r} is a symlink to {real}, outside the folder (refused: path traversal).",
            hint="Copy the file into the folder, or register its real location.",
        )
    mode = real.stat().st_mode
    if not stat.S_ISREG(mode):
        raise ValidationError(
            f"{path} in model folder {given!r} is not a regular file (a socket, pipe or device).",
            hint="Remove it from the folder or use child_paths to pick the model files.",
        )
    return real, path.relative_to(top).as_posix()


def _walk(start: Path, top: Path, given: str) -> list[tuple[Path, str]]:
    """Files under ``start`` (following in-folder symlinks once; outside ones are refused)."""
    entries: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(start, followlinks=True):
        here = Path(dirpath)
        real = here.resolve()
        if not _inside(real, top):
            raise ValidationError(
                f"{here} in model folder {given!r} is a symlink to {real}, outside the folder (refused: path traversal).",
                hint="Copy the files into the folder, or register their real location.",
            )
        if real in seen:  # a symlink loop or a second link to the same folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames.sort()
        for name in sorted(filenames):
            entries.append(_file(here / name, top, given))
    return entries


def download(
    blobs: BlobStore, files: Sequence[FileEntry], target_dir: Path, *, exist_ok: bool
) -> list[Path]:
    """Copy ``files`` under ``target_dir``; return their paths. All or nothing."""
    target_dir.mkdir(parents=True, exist_ok=True)
    plan = [(f, target_dir / safe_relative(f.path, what="Stored model file path")) for f in files]
    if not exist_ok:
        taken = [str(dest) for _, dest in plan if dest.exists()]
        if taken:
            raise ConflictError(
                f"Download target already has {len(taken)} of the model's files, e.g. {taken[0]}.",
                hint="Pass exist_ok=True (--exist-ok) to overwrite, or choose another target folder.",
            )
    staging = target_dir / f".dockyard-download-{secrets.token_hex(4)}"
    try:
        for entry, _ in plan:
            blobs.copy_to(entry.sha256, staging / entry.path, size=entry.size)
        for entry, dest in plan:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_dir():
                raise ConflictError(f"Cannot download {entry.path}: {dest} is a folder.")
            os.replace(staging / entry.path, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [dest for _, dest in plan]


def materialize(blobs: BlobStore, files: Sequence[FileEntry], folder: Path) -> Path:
    """Lay ``files`` out read-only in ``folder`` (``models/<name>/<version>``), once.

    Built in a temporary sibling and renamed into place, so a reader never sees half a tree.
    """
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = folder.parent / f".{folder.name}.{secrets.token_hex(4)}.building"
    try:
        for entry in files:
            dest = building / safe_relative(entry.path, what="Stored model file path")
            blobs.link_to(entry.sha256, dest)
        with contextlib.suppress(OSError):
            os.rename(building, folder)  # another process may have won: its tree is identical
    finally:
        shutil.rmtree(building, ignore_errors=True)
    if not folder.is_dir():
        raise ConflictError(
            f"Could not lay out the model files in {folder}.",
            hint="Check that the workspace folder is writable and has free space.",
        )
    return folder


__all__ = ["collect", "download", "materialize", "safe_relative"]
