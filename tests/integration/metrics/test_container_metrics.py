"""Metrics of a scoring server in a real container: /metrics summed over two workers, and the
history ring written through a bind mount of a folder on this machine (where a Docker service's
history lives: its service folder's metrics/ mounted into the container)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.builders.docker_builder import build_image
from dockyard.builders.dockerfile import ImageSpec
from dockyard.server.metrics import SCORE_ROUTE
from dockyard.server.metrics_history import read_history
from dockyard.targets.docker_engine import container_logs, published_port
from tests.integration.docker.conftest import (  # noqa: F401 - the Docker tests' fixtures
    base_image,
    cleanup,
    docker_client,
    wheel_cache,
)
from tests.integration.metrics.conftest import parse, value

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCORE = """\
def init():
    pass

def run(raw_data):
    return {"echo": raw_data}
"""

MOUNT = "/var/dockyard-metrics"


def test_container_metrics_and_history_through_a_mount(
    docker_client: Any,  # noqa: F811
    base_image: str,  # noqa: F811
    wheel_cache: Path,  # noqa: F811
    tmp_path: Path,
    cleanup: Any,  # noqa: F811
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text(SCORE)
    name = f"dockyard-test-metrics-{uuid.uuid4().hex[:8]}"
    tag = f"{name}:1"
    cleanup["images"].append(tag)
    spec = ImageSpec(entry_script=src / "score.py", source_directory=src)
    build_image(docker_client, spec, tag, log_path=tmp_path / "build.log", cache_dir=wheel_cache)
    history = tmp_path / "service" / "metrics"
    history.mkdir(parents=True)
    os.chmod(history, 0o777)  # the image's user is not this one
    cleanup["containers"].append(name)
    container = docker_client.containers.run(
        tag,
        name=name,
        detach=True,
        ports={"5001/tcp": ("127.0.0.1", None)},
        environment={
            "WORKER_COUNT": "2",
            "DOCKYARD_METRICS_HISTORY": f"{MOUNT}/history.ring",
            "DOCKYARD_METRICS_INTERVAL_S": "0.5",
        },
        volumes={str(history): {"bind": MOUNT, "mode": "rw"}},
    )
    container.reload()
    port = published_port(container)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, container_logs(docker_client, name)
        time.sleep(0.3)
    for index in range(5):
        answer = httpx.post(f"{base}/score", content=f"r{index}", timeout=10)
        assert answer.status_code == 200, answer.text
    samples = parse(httpx.get(f"{base}/metrics", timeout=10).text)
    assert value(samples, "dockyard_workers") == 2
    assert value(samples, "dockyard_http_requests_total", route="/score", code="2xx") == 5
    ring = history / "history.ring"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ring.exists():
            found = read_history(str(ring))
            if found and found[-1][2][SCORE_ROUTE * 4] == 5:
                break
        time.sleep(0.2)
    else:
        raise AssertionError(
            f"no sample with 5 requests in {ring}: {container_logs(docker_client, name)}"
        )
    assert found[-1][1] == 1  # one replica
