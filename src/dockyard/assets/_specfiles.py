"""Checking the entries of environment specification files, and reading requirements files.

This module knows the syntax of single conda package specs and pip lines, and of pip requirements
files (the structure of a conda YAML file is checked by :mod:`dockyard.assets._conda_yaml`), and
turns every mistake into a :class:`~dockyard.errors.SpecError` that names the file, the line, the
offending text and what to do about it. It holds no state; ``CondaDependencies`` and
``Environment`` call it.

* Conda package specs (the ``dependencies:`` list) use conda's MatchSpec spelling: ``numpy``,
  ``numpy=1.15``, ``numpy==1.15.4``, ``numpy>=1.15,<2``, ``numpy 1.15.*``,
  ``numpy=1.15.4=py37_0``, ``conda-forge::numpy``, ``numpy[version='>=1.15']``.
* Pip lines (the ``pip:`` list and requirements files) are PEP 508 requirements checked with
  ``packaging.requirements``, URLs and local archives, or pip options (``--extra-index-url URL``,
  ``-r other.txt`` ...). ``-r``/``-c`` files are read so that their content can be hashed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dockyard.errors import SpecError

CONDA_HINT = (
    "conda package specs look like 'numpy', 'numpy=1.15', 'numpy==1.15.4', 'numpy>=1.15,<2', "
    "'numpy 1.15.*' or 'numpy=1.15.4=py37_0'; fix the line and run the command again"
)
PIP_HINT = (
    "pip lines look like 'numpy==1.15.4', 'pandas>=1.5,<3', 'requests[socks]', "
    "'pkg @ https://host/pkg.whl' or an option such as '--extra-index-url URL' or '-r other.txt'; "
    "fix the line and run the command again"
)

# pip options a requirements file may contain; those in _OPTIONS_WITH_VALUE need an argument.
_OPTIONS_WITH_VALUE = {
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "--trusted-host", "--no-binary", "--only-binary",
    "--use-feature", "--config-settings", "--global-option", "--hash",
}  # fmt: skip
_FLAG_OPTIONS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}
_INCLUDE_OPTIONS = {"-r", "--requirement", "-c", "--constraint"}

_NAME = r"[A-Za-z0-9_][A-Za-z0-9._+-]*"
_OP = r"(?:==|>=|<=|!=|~=|=|>|<)"
_VER = r"[0-9A-Za-z*][0-9A-Za-z.*+!_]*"
_CONSTRAINT = rf"{_OP}?\s*{_VER}"
_VERSION_EXPR = rf"{_CONSTRAINT}(?:\s*[,|]\s*{_CONSTRAINT})*"
_BUILD = r"[A-Za-z0-9_.*+]+"
_CONDA_SPEC = re.compile(
    rf"^(?:[A-Za-z0-9_./:-]+::)?{_NAME}"
    rf"(?:\s*\[[^\]]*\]|(?:\s*{_VERSION_EXPR})?(?:(?:=|\s+){_BUILD})?)$"
)
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|tar\.bz2|zip|tgz)$", re.IGNORECASE)


@dataclass(frozen=True)
class PipLine:
    """One logical line of a requirements file: its 1-based line number and its text."""

    lineno: int
    text: str


def where(source: str, line: int | None) -> str:
    """``'env.yml, line 7'`` (or just the source) for the start of an error message.

    Sources in angle brackets (``<conda dependencies given as a dict>``) are in memory: line
    numbers would point into text the user never saw, so they are left out.
    """
    return f"{source}, line {line}" if line and not source.startswith("<") else source


def raise_pip(source: str, line: int | None, text: str, problem: str) -> None:
    hint = PIP_HINT
    if re.match(rf"^{_NAME}\s*=[^=]", text):
        hint = (
            f"pip writes an exact version with '==' ('{text.replace('=', '==', 1)}'); the "
            "single '=' is conda's spelling and belongs in the conda 'dependencies' list"
        )
    raise SpecError(
        f"{where(source, line)}: {text!r} is not a valid pip requirement: {problem}.",
        hint=hint,
        source=source,
        line=line,
    )


# --- single entries ----------------------------------------------------------------------------
def check_conda_spec(spec: str) -> str | None:
    """Return what is wrong with a conda package spec, or ``None`` when it is valid."""
    text = spec.strip()
    if not text:
        return "it is empty"
    if "://" in text or text.endswith((".tar.bz2", ".conda")):
        return None  # an explicit package URL or file
    if _CONDA_SPEC.match(text):
        return None
    if text.startswith("-"):
        return "it looks like an option; conda dependencies are package names"
    return "it does not match conda's 'name[ version[ build]]' syntax"


def is_option(line: str) -> bool:
    """True for a pip option line (``--index-url URL``, ``-r file``), as azureml.core decides."""
    return line.lstrip().startswith("-")


def option_parts(line: str) -> tuple[str, str]:
    """Split ``--index-url=URL`` or ``-r file`` into ``(option, value)``."""
    text = line.strip()
    if text.startswith("--") and "=" in text.split()[0]:
        opt, _, value = text.partition("=")
        return opt, value.strip()
    opt, _, value = text.partition(" ")
    if not value and len(opt) > 2 and not opt.startswith("--"):
        return opt[:2], opt[2:]  # -rfile
    return opt, value.strip()


def check_pip_line(line: str) -> str | None:
    """Return what is wrong with one pip line (requirement or option), or ``None``."""
    text = strip_comment(line)
    if not text:
        return "it is empty"
    if is_option(text):
        opt, value = option_parts(text)
        if opt in _FLAG_OPTIONS:
            return None
        if opt not in _OPTIONS_WITH_VALUE:
            return f"{opt!r} is not a pip option a requirements file may contain"
        return None if value else f"option {opt!r} needs a value"
    req = re.split(r"\s+--", text, maxsplit=1)[0].strip()  # drop per-line '--hash=...'
    if _is_url_or_path(req):
        return None
    missing = re.search(r"(===|==|>=|<=|!=|~=|<|>)\s*(?=,|;|$)", req)
    if missing:
        return f"a version is missing after {missing.group(1)!r}"
    try:
        Requirement(req)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0].rstrip(".")
    return None


def _is_url_or_path(req: str) -> bool:
    if re.match(r"^[a-z][a-z0-9+.-]*://", req) or req.startswith(("git+", "file:")):
        return True
    return req.startswith((".", "/", "~")) or bool(_ARCHIVE.search(req) and "@" not in req)


def strip_comment(line: str) -> str:
    """Remove a ``# comment`` (at the start or after whitespace) and surrounding blanks."""
    text = line.strip()
    if text.startswith("#"):
        return ""
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def pip_name(line: str) -> str:
    """The canonical project name of a pip requirement (``'NumPy>=1'`` -> ``'numpy'``)."""
    text = re.split(r"\s+--", strip_comment(line), maxsplit=1)[0]
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        if text.endswith(".whl"):
            return canonicalize_name(re.split("/", text)[-1].split("-")[0])
        return canonicalize_name(re.split(r"[\s\[=<>~!;@]", text)[0])


def python_version_of(spec: str) -> str | None:
    """``'python=3.11'`` -> ``'3.11'``; ``'python 3.11.*'`` -> ``'3.11'``; ``'python'`` -> None."""
    version = spec.strip().split("::")[-1][len("python") :].strip()
    if version.startswith("=="):
        version = version[2:]
    version = version.lstrip("= ").split("=")[0].split(" ")[0]
    if version.endswith(".*"):
        version = version[:-2]
    return version or None


def conda_name(spec: str) -> str:
    """The package name of a conda spec (``'conda-forge::numpy=1.15'`` -> ``'numpy'``)."""
    text = spec.strip().split("::")[-1]
    return re.split(r"[\s\[=<>~!]", text)[0].lower()


# --- requirements files -------------------------------------------------------------------------
def parse_requirements(text: str, source: str) -> list[PipLine]:
    """Split a requirements file into checked logical lines (comments and blanks dropped)."""
    lines: list[PipLine] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\") and not raw.lstrip().startswith("#"):
            pending += raw.rstrip()[:-1] + " "
            continue
        logical, pending = pending + raw, ""
        content = strip_comment(logical)
        if not content:
            continue
        problem = check_pip_line(content)
        if problem:
            raise_pip(source, start, content, problem)
        lines.append(PipLine(start, " ".join(content.split())))
    if pending.strip():
        lines.append(PipLine(start, " ".join(strip_comment(pending).split())))
    return lines


def read_text(path: Path, what: str) -> str:
    """Read a spec file as UTF-8; a missing or unreadable file is a clear ``SpecError``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(
            f"{what} {str(path)!r} does not exist.",
            hint="check the path (relative paths start at the current folder)",
            source=str(path),
        ) from exc
    except IsADirectoryError as exc:
        raise SpecError(f"{what} {str(path)!r} is a folder, not a file.") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{what} {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}).",
            hint="save the file as UTF-8",
            source=str(path),
        ) from exc
    except OSError as exc:
        raise SpecError(f"{what} {str(path)!r} cannot be read: {exc.strerror}.") from exc


def collect_included_files(
    pip_options: list[str],
    base_dir: Path | None,
    cached: dict[str, str],
    source: str,
    prefer_cached: bool = False,
) -> dict[str, str]:
    """Content of every file that ``-r``/``-c`` options include, recursively.

    Keys are the paths as written, relative to ``base_dir`` (the spec file's folder, else the
    current folder). A file that is gone but was read before (``cached``) keeps its recorded
    content; with ``prefer_cached`` (a registered or saved environment, whose content is fixed)
    the recorded content wins even when the file on disk has changed since.
    """
    found: dict[str, str] = {}
    root = base_dir or Path.cwd()

    def visit(options: list[str], folder: Path, prefix: str, origin: str, depth: int) -> None:
        for option in options:
            opt, value = option_parts(option)
            if opt not in _INCLUDE_OPTIONS:
                continue
            key = _join_key(prefix, value)
            if key in found:
                continue
            path = folder / value
            if prefer_cached and key in cached:
                found[key] = cached[key]
            elif path.is_file():
                found[key] = read_text(path, f"File {option!r} includes")
            elif key in cached:
                found[key] = cached[key]
            else:
                raise SpecError(
                    f"{origin}: {option!r} includes {str(path)!r}, which does not exist.",
                    hint="put the file there, or fix the path (it is relative to the file that "
                    "names it)",
                    source=origin,
                )
            if depth > 20:
                raise SpecError(f"{origin}: '-r' files nest more than 20 levels deep.")
            nested = [
                ln.text for ln in parse_requirements(found[key], str(path)) if is_option(ln.text)
            ]
            visit(nested, path.parent, key.rpartition("/")[0], str(path), depth + 1)

    visit(pip_options, root, "", source, 0)
    return found


def _join_key(prefix: str, value: str) -> str:
    parts = [p for p in f"{prefix}/{value}".split("/") if p not in ("", ".")]
    return "/".join(parts)
