"""What the Docker target keeps of a service: the spec of the running version and the names of
its containers, in ``<service_dir>/container.json`` (it knows nothing of the workspace store)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "container.json"


@dataclass(frozen=True)
class ContainerSpec:
    """One version of a service in Docker (plain data; the web service layer makes it)."""

    name: str  # the service name
    service_dir: Path
    image: str  # an image the engine has
    scope: str  # short workspace id: container names are dockyard-<scope>-<service>[-<n>]
    env: dict[str, str] = field(default_factory=dict)
    host_port: int = 0  # 0: a free port chosen by the engine
    cpu_cores: float | None = None
    memory_gb: float | None = None
    keys_dir: Path | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["service_dir"] = str(self.service_dir)
        data["keys_dir"] = str(self.keys_dir) if self.keys_dir else None
        return data


def holder_name(spec: ContainerSpec) -> str:
    return f"dockyard-{spec.scope}-{spec.name}"


def read_state(service_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((service_dir / STATE_FILE).read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def write_state(service_dir: Path, data: dict[str, Any]) -> None:
    service_dir.mkdir(parents=True, exist_ok=True)
    tmp = service_dir / f".{STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, service_dir / STATE_FILE)
