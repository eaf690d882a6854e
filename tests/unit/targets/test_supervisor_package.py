"""The supervisor package: its command line, what the local target imports, and its import weight."""

from __future__ import annotations

import subprocess
import sys

import dockyard.targets.supervisor as supervisor

LOCAL_TARGET_NAMES = [
    "LOG_FILE",
    "NEXT_SPEC_FILE",
    "SPEC_FILE",
    "STATUS_FILE",
    "read_status",
    "tail",
    "write_json_atomic",
]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_local_targets_names_are_exported_sorted() -> None:
    assert supervisor.__all__ == sorted(supervisor.__all__) == LOCAL_TARGET_NAMES
    for name in LOCAL_TARGET_NAMES:
        assert getattr(supervisor, name) is not None


def test_importing_the_package_does_not_load_the_loop() -> None:
    loaded = _modules_after("import dockyard.targets.supervisor")
    ours = {m for m in loaded if m.startswith("dockyard.")}
    assert ours <= {
        "dockyard.targets",
        "dockyard.targets.base",
        "dockyard.targets.supervisor",
        "dockyard.targets.supervisor.files",
    }, ours


def test_the_supervisor_imports_nothing_above_the_targets() -> None:
    loaded = _modules_after("import dockyard.targets.supervisor.__main__")
    above = sorted(
        m
        for m in loaded
        if m.startswith("dockyard.")
        and not m.startswith(("dockyard.targets.", "dockyard.server"))
        and m != "dockyard.targets"
    )
    assert above == []
    heavy = sorted({"sqlalchemy", "docker", "ray", "typer", "rich", "pydantic"} & loaded)
    assert heavy == []
    assert "dockyard.targets.supervisor.loop" in loaded
    others = {m for m in loaded if m.startswith("dockyard.targets.") and "supervisor" not in m}
    assert others <= {"dockyard.targets.base"}, others


def test_the_command_line_without_a_folder_prints_its_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.targets.supervisor"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "usage: python -m dockyard.targets.supervisor SERVICE_DIR"
