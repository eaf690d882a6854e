"""The files in a service's folder that the supervisor and the local target share.

``deployment.json`` (the version that runs), ``deployment.next.json`` (the version to switch to on
SIGHUP), ``status.json`` (written atomically, by the supervisor only), ``server.log`` and the
servers' ready files. Light: the local target imports these names without the supervisor's loop.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from dockyard.targets.base import DeploymentSpec

STATUS_FILE = "status.json"
SPEC_FILE = "deployment.json"
NEXT_SPEC_FILE = "deployment.next.json"
LOG_FILE = "server.log"


def read_status(service_dir: Path) -> dict[str, Any] | None:
    """What ``status.json`` says, or ``None`` when there is none yet (or it is not JSON)."""
    try:
        return json.loads((service_dir / STATUS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` so that a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def tail(path: Path, num_lines: int) -> str:
    """The last ``num_lines`` lines of a text file (reads only the end of big files)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            block = 64 * 1024
            data = b""
            while size > 0 and data.count(b"\n") <= num_lines:
                step = min(block, size)
                size -= step
                handle.seek(size)
                data = handle.read(step) + data
    except FileNotFoundError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-num_lines:]) + ("\n" if lines else "")


def read_spec(service_dir: Path, name: str = SPEC_FILE) -> DeploymentSpec:
    """The version described by ``deployment.json`` (or ``name``); raises what reading it raises
    (``FileNotFoundError``, ``json.JSONDecodeError``, ``TypeError`` for unknown fields)."""
    return DeploymentSpec.from_json(json.loads((service_dir / name).read_text()))


def remember_port(service_dir: Path, port: int) -> None:
    """Write the port that was bound into ``deployment.json`` (a free port was asked for with 0),
    so that restarts and later versions keep it."""
    data = json.loads((service_dir / SPEC_FILE).read_text())
    data["port"] = port
    write_json_atomic(service_dir / SPEC_FILE, data)


def promote_next_spec(service_dir: Path) -> None:
    """The next version now runs: ``deployment.next.json`` becomes ``deployment.json``."""
    os.replace(service_dir / NEXT_SPEC_FILE, service_dir / SPEC_FILE)


def discard_next_spec(service_dir: Path) -> None:
    """The next version failed: forget it (the running version stays in ``deployment.json``)."""
    with contextlib.suppress(FileNotFoundError):
        (service_dir / NEXT_SPEC_FILE).unlink()


def ready_file(service_dir: Path, generation: int, index: int) -> Path:
    """Where server ``index`` of ``generation`` says it is ready (``DOCKYARD_READY_FILE``)."""
    return service_dir / f"ready.{generation}.{index}"
