"""The ``pip:`` section of an environment spec, and the requirements files it includes, as
entries of an :class:`~dockyard.builders.install_plan.InstallPlan`.

Requirement lines are kept (relative local paths made absolute against the spec's folder;
``${VAR}`` expanded from the environment); pip options become the plan's package sources
(``--index-url``, ``--extra-index-url``, ``--find-links``, ``--trusted-host``, ``--no-index``,
``--pre``, ``--only-binary``/``--no-binary``), ``-e`` editables, or are reported as unsupported;
``-r``/``-c`` files are read from ``spec.included_files`` first, then from disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from dockyard.builders.install_plan import (
    INSTALLER_PACKAGES,
    RUNTIME_PROVIDED,
    InstallPlan,
    provided,
    requirement_name,
)
from dockyard.builders.specs import EnvironmentSpec
from dockyard.errors import SpecError

_OPTION_SPLIT_RE = re.compile(r"\s+(?=--?[A-Za-z])")
_ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


def add_pip_lines(
    plan: InstallPlan,
    spec: EnvironmentSpec,
    lines: list[str],
    folder: Path | None,
    key_prefix: str,
    origin: str,
    depth: int = 0,
) -> None:
    for raw in _logical_lines(lines):
        line = _expand_env(raw)
        if line.startswith("-"):
            _add_option(plan, spec, line, folder, key_prefix, origin, depth)
            continue
        parts = _OPTION_SPLIT_RE.split(line)
        if len(parts) > 1:
            plan.notes.append(f"per-requirement options {parts[1:]} of {parts[0]!r} ignored")
        requirement = _local_path(parts[0], folder, origin)
        name = requirement_name(requirement)
        if name in RUNTIME_PROVIDED:
            provided(plan, requirement)
        elif name in INSTALLER_PACKAGES:
            plan.notes.append(
                f"pip package {requirement!r} dropped: the environment tool manages it"
            )
        else:
            plan.requirements.append(requirement)


def _logical_lines(lines: list[str]) -> list[str]:
    """Join ``\\`` continuations, drop comments and blank lines."""
    out: list[str] = []
    pending = ""
    for line in "\n".join(lines).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        if pending:
            line = line.lstrip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def _expand_env(line: str) -> str:
    return _ENV_VAR_RE.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)


def _split_option(line: str) -> tuple[str, str]:
    """``'--index-url=URL'``, ``'--index-url URL'``, ``'-rfile'`` -> ``(option, value)``."""
    if line.startswith("--"):
        option, _, value = line.partition("=") if "=" in line.split()[0] else line.partition(" ")
        return option.strip(), value.strip()
    return line[:2], line[2:].strip()


def _add_option(
    plan: InstallPlan,
    spec: EnvironmentSpec,
    line: str,
    folder: Path | None,
    key_prefix: str,
    origin: str,
    depth: int,
) -> None:
    option, value = _split_option(line)
    if option in ("-r", "--requirement", "-c", "--constraint"):
        key, text, path = _included(spec, value, folder, key_prefix, origin)
        if depth > 20:
            raise SpecError(f"{origin}: '-r' files nest more than 20 levels deep.")
        if option in ("-c", "--constraint"):
            plan.constraints.extend(ln for ln in _logical_lines([text]) if not ln.startswith("-"))
            return
        parent_key = str(PurePosixPath(key).parent).lstrip(".")
        sub_folder = path.parent if path is not None else None
        add_pip_lines(plan, spec, [text], sub_folder, parent_key, value, depth + 1)
    elif option in ("-i", "--index-url"):
        plan.index_url = value
    elif option == "--extra-index-url":
        plan.extra_index_urls.append(value)
    elif option in ("-f", "--find-links"):
        plan.find_links.append(_local_path(value, folder, origin, force=True))
    elif option == "--trusted-host":
        plan.trusted_hosts.append(value)
    elif option == "--no-index":
        plan.no_index = True
    elif option == "--pre":
        plan.pre = True
    elif option in ("--only-binary", "--no-binary"):
        target = plan.only_binary if option == "--only-binary" else plan.no_binary
        target.append(value)
    elif option in ("-e", "--editable"):
        plan.editables.append(_local_path(value, folder, origin))
    else:
        plan.warnings.append(
            f"pip option {line!r} ({origin}) is not supported by uv and was ignored"
        )


def _included(
    spec: EnvironmentSpec, value: str, folder: Path | None, key_prefix: str, origin: str
) -> tuple[str, str, Path | None]:
    """Find the content of a ``-r``/``-c`` file: ``spec.included_files`` first, then on disk."""
    key = "/".join(p for p in f"{key_prefix}/{value}".split("/") if p not in ("", "."))
    for candidate in (key, value):
        if candidate in spec.included_files:
            path = folder / value if folder is not None else None
            return key, spec.included_files[candidate], path
    path = Path(value) if Path(value).is_absolute() else (folder / value if folder else None)
    if path is not None and path.is_file():
        try:
            return key, path.read_text(encoding="utf-8"), path
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"{origin}: cannot read {str(path)!r}: {exc}.") from exc
    where = str(path) if path is not None else "(the spec has no source folder)"
    raise SpecError(
        f"{origin}: the requirements file {value!r} is not in the spec and not at {where}.",
        hint="create the environment from the folder that holds the file, or fix the path",
    )


def _local_path(token: str, folder: Path | None, origin: str, *, force: bool = False) -> str:
    """Make a relative local path (``./pkg``, ``dist/x.whl``) absolute against ``folder``."""
    if "://" in token or token.startswith("file:") and not token.startswith("file:."):
        return token
    bare = token.removeprefix("file:")
    looks_local = force or bare.startswith((".", "/")) or bare.endswith(_ARCHIVE_SUFFIXES)
    if not looks_local or Path(bare).is_absolute():
        return bare if looks_local else token
    if folder is None:
        raise SpecError(
            f"{origin}: {token!r} is a relative path, but the spec has no source folder to resolve it.",
            hint="use an absolute path, or create the environment from its spec file",
        )
    return str((folder / bare).resolve())


__all__ = ["add_pip_lines"]
