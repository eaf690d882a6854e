"""The service folder's files: status.json round trip, atomic writes, specs, a log's tail."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.targets.base import DeploymentSpec
from dockyard.targets.supervisor import (
    NEXT_SPEC_FILE,
    SPEC_FILE,
    STATUS_FILE,
    read_status,
    tail,
    write_json_atomic,
)
from dockyard.targets.supervisor.files import (
    discard_next_spec,
    promote_next_spec,
    read_spec,
    ready_file,
    remember_port,
)


def _spec(service_dir: Path, port: int = 0, revision: str = "r1") -> DeploymentSpec:
    return DeploymentSpec(
        name="svc",
        service_dir=service_dir,
        app_root=service_dir / "app",
        python="/usr/bin/python3",
        env={"AZUREML_ENTRY_SCRIPT": "score.py"},
        port=port,
        revision=revision,
    )


def test_status_round_trip_leaves_no_temporary_file(tmp_path: Path) -> None:
    status = {"state": "Healthy", "error": None, "pids": [12, 13], "generation": 4}
    write_json_atomic(tmp_path / STATUS_FILE, status)
    assert read_status(tmp_path) == status
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATUS_FILE]


def test_missing_or_half_written_status_reads_as_none(tmp_path: Path) -> None:
    assert read_status(tmp_path) is None
    (tmp_path / STATUS_FILE).write_text('{"state": "Heal')
    assert read_status(tmp_path) is None


def test_tail_returns_the_last_lines_of_a_big_file(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {i} {'x' * 100}\n" for i in range(5000)))  # ~0.5 MB
    text = tail(log, 3)
    assert text.splitlines() == [f"line {i} {'x' * 100}" for i in (4997, 4998, 4999)]
    assert text.endswith("\n")
    assert tail(tmp_path / "missing.log", 3) == ""


def test_spec_round_trip_and_the_port_that_was_bound_is_remembered(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / SPEC_FILE, _spec(tmp_path).to_json())
    remember_port(tmp_path, 40123)
    assert read_spec(tmp_path) == _spec(tmp_path, port=40123)


def test_next_spec_is_promoted_on_a_switch_and_discarded_on_a_failure(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / SPEC_FILE, _spec(tmp_path, revision="r1").to_json())
    write_json_atomic(tmp_path / NEXT_SPEC_FILE, _spec(tmp_path, revision="r2").to_json())
    promote_next_spec(tmp_path)
    assert read_spec(tmp_path).revision == "r2"
    assert not (tmp_path / NEXT_SPEC_FILE).exists()

    write_json_atomic(tmp_path / NEXT_SPEC_FILE, _spec(tmp_path, revision="r3").to_json())
    discard_next_spec(tmp_path)
    discard_next_spec(tmp_path)  # twice is fine
    assert read_spec(tmp_path).revision == "r2"
    assert json.loads((tmp_path / SPEC_FILE).read_text())["revision"] == "r2"


def test_ready_files_are_named_by_generation_and_worker(tmp_path: Path) -> None:
    assert ready_file(tmp_path, 7, 1) == tmp_path / "ready.7.1"
