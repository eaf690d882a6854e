"""Concurrent and interrupted registrations, on SQLite and PostgreSQL (acceptance tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dockyard import Model, Workspace

REGISTER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from dockyard import Model, Workspace
    folder, go = sys.argv[1], Path(sys.argv[2])
    ws = Workspace.from_path(sys.argv[3])
    ws.store  # connect before the start signal, so that the registrations overlap
    while not go.exists():
        time.sleep(0.001)
    model = Model.register(ws, folder, "shared-name")
    print(json.dumps({"version": model.version, "sha": [f.sha256 for f in model.files]}))
    """
)


def _content(i: int) -> dict[str, bytes]:
    return {
        "weights.bin": f"process {i} weights ".encode() * (2000 + i),
        "meta/config.json": json.dumps({"process": i}).encode(),
    }


@pytest.mark.slow
def test_eight_processes_get_versions_1_to_8_with_their_own_bytes(
    tmp_path: Path, db_url: str | None
) -> None:
    ws = Workspace.create("race", path=tmp_path / "ws", database_url=db_url)
    go = tmp_path / "go"
    procs = []
    for i in range(8):
        folder = tmp_path / f"src{i}" / "model"
        for rel, data in _content(i).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", REGISTER, str(folder), str(go), str(ws.path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    time.sleep(1.0)
    go.touch()
    results = {}
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[i] = json.loads(out.strip().splitlines()[-1])
    versions = sorted(r["version"] for r in results.values())
    assert versions == list(range(1, 9)), versions
    for i, result in results.items():
        model = Model(ws, "shared-name", version=result["version"])
        stored = {f.path: ws.blobs.path(f.sha256).read_bytes() for f in model.files}
        assert stored == {f"model/{rel}": data for rel, data in _content(i).items()}
    assert ws.verify().ok


KILLED = textwrap.dedent(
    """
    import sys
    from dockyard import Model, Workspace
    ws = Workspace.from_path(sys.argv[2])
    if sys.argv[3] == "hang-before-commit":
        import time
        import dockyard.store.blob_io as blob_io
        def hang(folder):
            print("TEMP-WRITTEN", flush=True)
            time.sleep(600)
        blob_io._syncfs = hang
    Model.register(ws, sys.argv[1], "interrupted")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["mid-write", "hang-before-commit"])
def test_a_registration_killed_midway_leaves_nothing_visible(
    tmp_path: Path, db_url: str | None, moment: str
) -> None:
    ws = Workspace.create("killed", path=tmp_path / "ws", database_url=db_url)
    small = tmp_path / "small.bin"
    small.write_bytes(b"version one")
    assert Model.register(ws, small, "interrupted").version == 1
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:  # 512 MiB: long enough to be killed while writing
        f.truncate(512 << 20)
        f.write(b"not all zeros")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(big), str(ws.path), moment],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            parts = list(ws.blobs.tmp.glob("*.part")) if ws.blobs.tmp.is_dir() else []
            if moment == "mid-write" and any(0 < p.stat().st_size < (512 << 20) for p in parts):
                break
            if moment == "hang-before-commit" and any(
                p.stat().st_size >= (512 << 20) for p in parts
            ):
                break
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.002)
        else:
            pytest.fail("the registration never wrote a temporary blob")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(ws.blobs.tmp.glob("*.part")), "a partial temporary blob should remain"
    assert [m.version for m in Model.list(ws, name="interrupted")] == [1]
    report = ws.verify()
    assert report.ok and not report.damaged and not report.missing, report.to_dict()
    assert report.stale_temp  # listed, not damage
    again = tmp_path / "again.bin"
    again.write_bytes(b"version two")
    assert Model.register(ws, again, "interrupted").version == 2
    assert list(ws.blobs.tmp.glob("*.part")) == []  # the next registration cleaned up
    assert ws.verify().ok
