"""Reading and checking environment specification files (conda YAML, pip requirements).

This module knows the syntax of the two file formats an ``Environment`` is made from, and turns
every mistake into a :class:`~dockyard.errors.SpecError` that names the file, the line, the
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

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dockyard.errors import SpecError

#: Top-level keys of a conda environment file (the same set azureml.core accepts).
CONDA_KEYS = ("name", "channels", "dependencies", "prefix", "variables")

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


# --- YAML ---------------------------------------------------------------------------------------
def load_conda_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse and check a conda environment file; return its content as plain dicts and lists."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark and not source.startswith("<") else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            f"{where(source, line)}{col}: the file is not valid YAML ({problem}).",
            hint="fix the YAML syntax (indentation, ':' after keys, '- ' before list items) "
            "and run the command again",
            source=source,
            line=line,
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: the file is not valid YAML ({exc}).") from exc
    finally:
        loader.dispose()
    if node is None or not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else None
        raise SpecError(
            f"{where(source, line)}: a conda environment file must be a YAML mapping with keys "
            f"such as 'name', 'channels' and 'dependencies'.",
            hint="start from 'dependencies:' followed by '  - python=3.11' and '  - pip:' lines",
            source=source,
        )
    check_conda_node(node, source)
    return data


def check_conda_node(root: yaml.MappingNode, source: str) -> None:
    """Check the structure of a composed conda file; errors carry the line of the bad node."""
    for key_node, value_node in root.value:
        key, line = key_node.value, key_node.start_mark.line + 1
        if key not in CONDA_KEYS:
            close = difflib.get_close_matches(str(key), CONDA_KEYS, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(
                f"{where(source, line)}: unknown top-level key {key!r} in the conda environment "
                f"file{guess}.",
                hint=f"use only {', '.join(CONDA_KEYS)}; check the spelling and the indentation",
                source=source,
                line=line,
            )
        if key == "channels":
            for item in _seq(value_node, source, "channels"):
                _scalar(item, source, "a channel name")
        elif key == "dependencies":
            for item in _seq(value_node, source, "dependencies"):
                _check_dependency(item, source)


def _seq(node: yaml.Node, source: str, what: str) -> list[yaml.Node]:
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return []  # an empty 'dependencies:' is allowed
    if not isinstance(node, yaml.SequenceNode):
        line = node.start_mark.line + 1
        raise SpecError(
            f"{where(source, line)}: {what!r} must be a list ('- item' lines).",
            hint=f"write each entry of {what!r} on its own '- ' line",
            source=source,
            line=line,
        )
    return list(node.value)


def _scalar(node: yaml.Node, source: str, what: str) -> str:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
        raise SpecError(
            f"{where(source, line)}: expected {what} (a string), found {_describe(node)}.",
            hint="quote the value if YAML reads it as a number, or fix the indentation",
            source=source,
            line=line,
        )
    return str(node.value)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"{node.value!r}" if node.value else "an empty value"


def _check_dependency(node: yaml.Node, source: str) -> None:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        keys = [k.value for k, _ in node.value]
        if keys != ["pip"]:
            raise SpecError(
                f"{where(source, line)}: a mapping in 'dependencies' may only be 'pip:', "
                f"found {', '.join(map(repr, keys))}.",
                hint="list conda packages as '- name' lines and pip packages under '- pip:'",
                source=source,
                line=line,
            )
        for item in _seq(node.value[0][1], source, "pip"):
            text = _scalar(item, source, "a pip requirement")
            problem = check_pip_line(text)
            if problem:
                _raise_pip(source, item.start_mark.line + 1, text, problem)
        return
    spec = _scalar(node, source, "a conda package spec")
    problem = check_conda_spec(spec)
    if problem:
        raise SpecError(
            f"{where(source, line)}: {spec!r} is not a valid conda package spec: {problem}.",
            hint=CONDA_HINT,
            source=source,
            line=line,
        )


def _raise_pip(source: str, line: int | None, text: str, problem: str) -> None:
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
            _raise_pip(source, start, content, problem)
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
