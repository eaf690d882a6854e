"""A command that was not told which workspace to use says which one it used (issue 9, item 14).

Outside a project folder the CLI falls back to the default workspace; it must say so (name,
folder, why, what to do) on stderr, and keep stdout clean for ``--output json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.cli.conftest import cli


def test_outside_a_project_the_default_workspace_is_named_on_stderr(
    tmp_path: Path, _isolated_home: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    default = _isolated_home / "workspaces" / "default"

    first = cli("service", "list", "--output", "json", cwd=elsewhere)
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout) == []  # stdout is only the JSON
    note = first.stderr.strip()
    assert note.startswith(f"Using workspace 'default' ({default}, created now): ")
    assert f"no .dockyard/config.json found from {elsewhere} upward" in note
    assert "--workspace PATH" in note and "dockyard workspace create NAME --write-config" in note

    again = cli("service", "list", cwd=elsewhere)
    assert again.stdout.strip() == "(no services)"
    assert again.stderr.strip().startswith(f"Using workspace 'default' ({default}): ")


def test_a_named_workspace_gets_no_note_and_a_project_config_is_named(
    tmp_path: Path, ws: Any
) -> None:
    named = cli("model", "list", "--workspace", str(ws.path))
    assert named.code == 0 and named.stderr == ""
    by_env = cli("model", "list", env={"DOCKYARD_WORKSPACE": str(ws.path)})
    assert by_env.code == 0 and by_env.stderr == ""

    project = tmp_path / "project-with-config"
    (project / "sub").mkdir(parents=True)
    config = ws.write_config(project)
    from_sub = cli("model", "list", "--output", "json", cwd=project / "sub")
    assert from_sub.code == 0 and json.loads(from_sub.stdout) == []
    assert from_sub.stderr.strip() == f"Using workspace 'cli-tests' ({ws.path}) named by {config}"

    # The hint of the default-workspace note works: it creates and names a project's workspace.
    fresh = tmp_path / "fresh-project"
    fresh.mkdir()
    made = cli("workspace", "create", "fresh", "--write-config", cwd=fresh)
    assert made.code == 0, made.stderr
    used = cli("model", "list", cwd=fresh)
    assert "Using workspace 'fresh' (" in used.stderr
    assert str(fresh / ".dockyard" / "config.json") in used.stderr
