"""Containers on a real Docker engine: limits in HostConfig, OOM kills reported, logs, stop."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from dockyard.targets.docker_engine import (
    container_logs,
    inspect_container,
    run_container,
    stop_container,
)

pytestmark = [pytest.mark.docker]


def _name(prefix: str) -> str:
    return f"dockyard-test-{prefix}-{uuid.uuid4().hex[:8]}"


def _wait_stopped(client: Any, name: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        state = inspect_container(client, name)
        if not state.running or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def test_cpu_and_memory_limits_are_in_host_config(
    docker_client: Any, base_image: str, cleanup: Any
) -> None:
    name = _name("limits")
    cleanup["containers"].append(name)
    container = run_container(
        docker_client,
        base_image,
        name=name,
        command=["python3", "-c", "import time; print('up', flush=True); time.sleep(60)"],
        cpu_cores=0.5,
        memory_gb=0.25,
        restart_policy="on-failure",
        max_retries=3,
    )
    host = docker_client.api.inspect_container(container.id)["HostConfig"]
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == 256 * 1024**2
    assert host["MemorySwap"] == 256 * 1024**2
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["PortBindings"]["5001/tcp"][0]["HostIp"] == "127.0.0.1"
    state = inspect_container(docker_client, name)
    assert state.running and state.memory_limit == 256 * 1024**2 and state.nano_cpus == 5 * 10**8
    deadline = time.monotonic() + 20
    while "up" not in container_logs(docker_client, name) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "up" in container_logs(docker_client, name)
    assert stop_container(docker_client, name, timeout=1, remove=True)
    assert not stop_container(docker_client, name)  # idempotent


def test_memory_hog_is_reported_as_oom_killed(
    docker_client: Any, base_image: str, cleanup: Any
) -> None:
    name = _name("oom")
    cleanup["containers"].append(name)
    run_container(
        docker_client,
        base_image,
        name=name,
        command=["python3", "-c", "x = bytearray(600 * 1024 * 1024); print('survived')"],
        memory_gb=0.125,
    )
    state = _wait_stopped(docker_client, name)
    assert state.oom_killed, state
    assert state.exit_code == 137
    assert "out of memory" in state.describe() and "0.125 GiB" in state.describe()
    assert "survived" not in container_logs(docker_client, name)
