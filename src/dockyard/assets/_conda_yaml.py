"""Conda environment files: reading one (YAML checked node by node, so that every mistake is a
:class:`~dockyard.errors.SpecError` naming the file, the line and what to do) and writing one
(YAML with list items indented under their key, as conda writes them, that parses back equal).

``CondaDependencies`` keeps the content as plain dicts and lists and calls these; single package
specs and pip lines are checked by :mod:`dockyard.assets._specfiles`.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

import yaml

from dockyard.assets import _specfiles as sf
from dockyard.errors import SpecError, ValidationError

#: Top-level keys of a conda environment file (the same set azureml.core accepts).
CONDA_KEYS = ("name", "channels", "dependencies", "prefix", "variables")


# --- reading ------------------------------------------------------------------------------------
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
            f"{sf.where(source, line)}{col}: the file is not valid YAML ({problem}).",
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
            f"{sf.where(source, line)}: a conda environment file must be a YAML mapping with keys "
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
                f"{sf.where(source, line)}: unknown top-level key {key!r} in the conda environment "
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
            f"{sf.where(source, line)}: {what!r} must be a list ('- item' lines).",
            hint=f"write each entry of {what!r} on its own '- ' line",
            source=source,
            line=line,
        )
    return list(node.value)


def _scalar(node: yaml.Node, source: str, what: str) -> str:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
        raise SpecError(
            f"{sf.where(source, line)}: expected {what} (a string), found {_describe(node)}.",
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
                f"{sf.where(source, line)}: a mapping in 'dependencies' may only be 'pip:', "
                f"found {', '.join(map(repr, keys))}.",
                hint="list conda packages as '- name' lines and pip packages under '- pip:'",
                source=source,
                line=line,
            )
        for item in _seq(node.value[0][1], source, "pip"):
            text = _scalar(item, source, "a pip requirement")
            problem = sf.check_pip_line(text)
            if problem:
                sf.raise_pip(source, item.start_mark.line + 1, text, problem)
        return
    spec = _scalar(node, source, "a conda package spec")
    problem = sf.check_conda_spec(spec)
    if problem:
        raise SpecError(
            f"{sf.where(source, line)}: {spec!r} is not a valid conda package spec: {problem}.",
            hint=sf.CONDA_HINT,
            source=source,
            line=line,
        )


# --- writing ------------------------------------------------------------------------------------
class _IndentedDumper(yaml.SafeDumper):
    """Indent list items under their key (``dependencies:\\n  - numpy``), as conda files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump_conda_yaml(data: dict[str, Any]) -> str:
    """``data`` as conda environment YAML; :func:`load_conda_yaml` reads it back equal."""
    return yaml.dump(
        data,
        Dumper=_IndentedDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
    )


def checked_dict(data: dict[str, Any], source: str) -> dict[str, Any]:
    """A conda file's content given as a dict, checked as if it had been read from a file."""
    if not isinstance(data, dict):
        raise ValidationError(
            f"Conda dependencies must be a dict like a conda YAML file, got {type(data).__name__}.",
            hint="pass the parsed content of a conda environment file",
        )
    if not data:
        return {}
    text = yaml.safe_dump(copy.deepcopy(data), sort_keys=False)
    return load_conda_yaml(text, source)
