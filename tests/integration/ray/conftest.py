"""A local Ray cluster for the suite (``ray_cluster``, session-scoped).

It reuses the cluster that ``scripts/engines/ray start`` started when its record (under
``$DOCKYARD_ENGINES_DIR``, default ``<repo>/.cache/ray``) names a running one; else it starts one
with :func:`dockyard.targets.ray_cluster.start_local` (2 CPUs: replicas ask for fractions) in a
temporary folder and stops exactly that one at the end. With ``CI=true`` a missing Ray fails the
tests instead of skipping them (:func:`tests.conftest.require_engine`).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[3]
CPUS = 2


@dataclass(frozen=True)
class RayClusterFacts:
    """What tests need to reach the suite's cluster (a ClusterRef's facts, and its folder)."""

    address: str  # the GCS, "127.0.0.1:PORT"
    serve_host: str
    serve_port: int
    dashboard_url: str
    folder: Path  # holds cluster.json (every process the cluster started)
    started_here: bool  # False when scripts/engines/ray started it


def engines_dir() -> Path:
    return Path(os.environ.get("DOCKYARD_ENGINES_DIR") or REPO / ".cache")


def _facts(cluster: object, started_here: bool) -> RayClusterFacts:
    return RayClusterFacts(
        address=cluster.address,  # type: ignore[attr-defined]
        serve_host=cluster.serve_host,  # type: ignore[attr-defined]
        serve_port=cluster.serve_port,  # type: ignore[attr-defined]
        dashboard_url=cluster.dashboard_url,  # type: ignore[attr-defined]
        folder=cluster.folder,  # type: ignore[attr-defined]
        started_here=started_here,
    )


def require_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        require_engine("ray", "Ray is not installed in this Python (pip install 'dockyard[ray]')")


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayClusterFacts]:
    require_ray()
    from dockyard.errors import DockyardError
    from dockyard.targets.ray_cluster import start_local, stop_local
    from dockyard.targets.ray_record import is_alive, read_record

    running = read_record(engines_dir() / "ray")
    if running is not None and is_alive(running):
        yield _facts(running, started_here=False)
        return
    folder = tmp_path_factory.mktemp("ray-cluster")
    try:
        cluster = start_local(folder, num_cpus=CPUS)
    except DockyardError as exc:
        require_engine("ray", f"a local Ray cluster did not start: {exc}")
    try:
        yield _facts(cluster, started_here=True)
    finally:
        stop_local(folder)
