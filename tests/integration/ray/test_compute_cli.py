"""``dockyard compute`` on a real local Ray, as a user runs it (a subprocess, piped output):
create, list, show, attach, default, delete, with what each prints and its JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard import Workspace
from dockyard.ops import cluster_choice, computes
from dockyard.targets.ray_processes import is_running
from dockyard.targets.ray_record import members, read_record
from tests.integration.cli.conftest import cli
from tests.integration.ray.conftest import RayClusterFacts

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_the_compute_commands_walk(tmp_path: Path, ray_cluster: RayClusterFacts) -> None:
    ws = Workspace.create("compute-cli", path=str(tmp_path / "ws"))
    w = ("-w", str(ws.path))
    try:
        created = cli("compute", "create", "c2", "--cpus", "2", *w, timeout=300)
        assert created.code == 0, created.stderr
        first = created.stdout.splitlines()[0]
        assert first.startswith("c2: Succeeded: Ray cluster at 127.0.0.1:")
        assert ", Serve at http://127.0.0.1:" in first
        assert "it runs until `dockyard compute delete c2`" in created.stderr

        attached = cli(
            "compute", "attach", "a2", "--address", ray_cluster.address,
            "--serve-port", str(ray_cluster.serve_port), "--default", *w, "-o", "json",
        )  # fmt: skip
        assert attached.code == 0, attached.stderr
        data = json.loads(attached.stdout)
        assert (data["name"], data["provisioning"], data["address"]) == (
            "a2", "attached", ray_cluster.address
        )  # fmt: skip
        assert data["servePort"] == ray_cluster.serve_port and data["isDefault"] is True

        listed = cli("compute", "list", *w)
        rows = [line.split() for line in listed.stdout.splitlines()]
        assert rows[0] == ["name", "provisioning", "state", "address", "servePort", "default"]
        assert rows[1][:3] == ["a2", "attached", "Succeeded"] and rows[1][-1] == "true"
        assert rows[2][:3] == ["c2", "created", "Succeeded"] and rows[2][-1] == "false"

        shown = cli("compute", "show", "c2", *w)
        assert shown.code == 0, shown.stderr
        assert "alive:      true" in shown.stdout and "cpus:       2.0" in shown.stdout
        assert f"folder:            {ws.path}/computes/c2" in shown.stdout
        as_json = json.loads(cli("compute", "show", "c2", *w, "-o", "json").stdout)
        assert as_json["status"]["alive"] is True and as_json["status"]["rayVersion"] == "2.60.0"
        assert as_json["status"]["nodes"][0]["head"] is True
        pids = as_json["processes"]
        assert len(pids) >= 5

        assert cli("compute", "default", "c2", *w).stdout == "c2: the default compute target\n"
        assert cluster_choice.resolve(ws, None).name == "c2"

        forgot = cli("compute", "delete", "a2", "--yes", *w)
        assert forgot.stdout == (
            f"a2: forgotten (the cluster at {ray_cluster.address} keeps running)\n"
        )
        suite = read_record(ray_cluster.folder)
        assert suite is not None and all(is_running(p) for p in members(suite)[:2])

        record = read_record(ws.path / "computes" / "c2")
        assert record is not None
        running = members(record)
        refused = cli("compute", "delete", "c2", *w, stdin="n\n")
        assert refused.code == 1 and "Stop the local Ray cluster 'c2'" in refused.stdout
        assert all(is_running(p) for p in running[:2])
        deleted = cli("compute", "delete", "c2", "--yes", *w)
        assert deleted.code == 0, deleted.stderr
        assert deleted.stdout.startswith("c2: deleted (stopped ") and "processes)" in deleted.stdout
        assert not any(is_running(p) for p in running)
        assert cli("compute", "list", *w).stdout == "(no compute targets)\n"
    finally:
        for name in ("c2", "a2"):
            if computes.get(ws, name) is not None:
                computes.delete(ws, name)
