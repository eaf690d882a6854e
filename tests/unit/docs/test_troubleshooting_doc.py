"""docs/troubleshooting.md stays true: every test its table names exists, and every `dockyard`
command it shows is a command of this CLI with options it has (checked by asking the command for
its own --help, so a renamed option fails here)."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import typer.main

from dockyard.cli.app import build_app

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "troubleshooting.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")
COMMAND = re.compile(r"^\$ (dockyard [^\n]+?)(?:\s+#.*)?$", re.MULTILINE)
INLINE = re.compile(r"`(dockyard (?:[a-z-]+ )+[^`]*)`")


def test_every_test_the_table_names_exists() -> None:
    refs = TEST_REF.findall(DOC.read_text())
    assert len(refs) >= 13
    for path, name in refs:
        file = REPO / path
        assert file.is_file(), path
        if name:
            defined = {
                n.name
                for n in ast.walk(ast.parse(file.read_text()))
                if isinstance(n, ast.FunctionDef)
            }
            assert name in defined, f"{path} has no {name}"


def _commands() -> list[str]:
    text = re.sub(r"\\\n\s*", " ", DOC.read_text())  # continued lines as one
    shown = COMMAND.findall(text) + INLINE.findall(text)
    return [c.split("<<<")[0].strip() for c in shown if "..." not in c]


@pytest.mark.parametrize("line", sorted(set(_commands())))
def test_every_command_shown_is_one_the_cli_has(line: str) -> None:
    words = shlex.split(line)[1:]
    group = typer.main.get_command(build_app())
    command = group
    path = []
    while hasattr(command, "commands") and words and words[0] in command.commands:
        path.append(words[0])
        command = command.commands[words.pop(0)]
    assert path, f"`{line}`: no such command"
    assert not hasattr(command, "commands"), f"`{line}`: {' '.join(path)} needs a sub-command"
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    for word in words:
        if word == "--":
            break
        if word.startswith("-"):
            assert word.split("=")[0] in options, (
                f"`{line}`: dockyard {' '.join(path)} has no {word}"
            )
