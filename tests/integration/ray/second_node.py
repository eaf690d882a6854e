"""A second Ray node in a Docker container, for tests/integration/ray/test_second_node.py.

* :func:`node_image` builds (once: it is reused while its inputs are the same) the image of
  ``tests/integration/ray/node/``: the project's debootstrap base image, Ray and Ray Serve of the
  head's version, and the launcher ``join.py``. Nothing of dockyard is in it. A failed build
  skips the test, or fails it with ``CI=true`` (:func:`tests.conftest.require_engine`).
* :func:`start_node` runs it with host networking and no volume at all, as
  ``ray start --address=<the head's GCS> --node-ip-address=127.0.0.1 --block`` with a port of its
  own for every listener (the host's port space is shared with the head), workers on ports the
  kernel picks, and the custom resources given.
* :func:`wait_for_node` waits, bounded, until the cluster reports the node alive;
  :func:`remove_node` stops and removes the container by id, and :func:`wait_for_dead` until the
  cluster reports the node dead.
* :func:`host_pids` are the container's processes as the host sees them (``docker top``), and
  :func:`namespace_pid` what a process is called inside the container.

Every wait is bounded and says what it waited for; every request goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_engine

NODE_DIR = Path(__file__).resolve().parent / "node"
IMAGE_REPOSITORY = "dockyard-test/ray-node"
BUILD_TIMEOUT_S = 900
#: ``ray start`` flags of a worker node that name a port to listen on.
PORT_FLAGS = (
    "--node-manager-port",
    "--object-manager-port",
    "--runtime-env-agent-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--metrics-export-port",
)


# --- the image ------------------------------------------------------------------------------------
def trusted_ca() -> bytes:
    """The CA bundle this machine's pip trusts (pip's ``cert``, else ``SSL_CERT_FILE`` or
    ``REQUESTS_CA_BUNDLE``), for pip in the build and uv on the node; empty when none is set."""
    from dockyard.builders.uvtool import read_pip_settings  # pip's own configuration, read once

    candidates = [
        read_pip_settings().cert,
        os.environ.get("SSL_CERT_FILE"),
        os.environ.get("REQUESTS_CA_BUNDLE"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_bytes()
    return b""


def node_image(client: Any, base_image: str) -> str:
    """The node image's tag, built from ``tests/integration/ray/node/`` on ``base_image`` unless
    an image of the same inputs (base image id, files, versions, CA bundle) exists."""
    build_args = {
        "BASE": base_image,
        "RAY_VERSION": version("ray"),
        "UV_VERSION": version("uv"),
        "VIRTUALENV_VERSION": version("virtualenv"),
    }
    files = {
        "Dockerfile": (NODE_DIR / "Dockerfile").read_bytes(),
        "join.py": (NODE_DIR / "join.py").read_bytes(),
        "trusted-ca.crt": trusted_ca(),
    }
    digest = hashlib.sha256(client.images.get(base_image).id.encode())
    for key, value in sorted(build_args.items()):
        digest.update(f"{key}={value}\n".encode())
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    tag = f"{IMAGE_REPOSITORY}:ray{build_args['RAY_VERSION']}-{digest.hexdigest()[:12]}"
    with contextlib.suppress(Exception):
        client.images.get(tag)
        return tag
    import docker.errors  # the Docker SDK, only when the image is built

    context = Path(tempfile.mkdtemp(prefix="dockyard-ray-node-"))
    try:
        for name, content in files.items():
            (context / name).write_bytes(content)
        try:
            client.images.build(
                path=str(context),
                tag=tag,
                buildargs=build_args,
                network_mode="host",  # pip reaches PyPI the way this machine does
                rm=True,
                forcerm=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except docker.errors.BuildError as exc:
            lines = "".join(
                str(part.get("stream") or part.get("error") or "") for part in exc.build_log
            )
            require_engine("ray node image", f"building {tag} failed: {exc.msg}\n{lines[-4000:]}")
    finally:
        shutil.rmtree(context, ignore_errors=True)
    return tag


# --- the node -------------------------------------------------------------------------------------
def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now (held together while they are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_node(
    client: Any,
    image: str,
    gcs_address: str,
    resources: dict[str, float],
    num_cpus: int = 1,
) -> tuple[Any, dict[str, int]]:
    """Run the node image as a worker node of the cluster at ``gcs_address``; returns the
    container and the port of each listener flag. No volume is mounted."""
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    command = [
        f"--address={gcs_address}",
        "--node-ip-address=127.0.0.1",
        f"--resources={json.dumps(resources)}",
        f"--num-cpus={num_cpus}",
        *(f"{flag}={port}" for flag, port in ports.items()),
        # workers bind ports the kernel picks (0): never one of the head's 10002-19999 range
        "--min-worker-port=0",
        "--max-worker-port=0",
        "--object-store-memory=100000000",
        "--disable-usage-stats",
        "--log-style=record",
        "--log-color=false",
        "--block",
    ]
    container = client.containers.run(
        image,
        command,
        name=f"dockyard-ray-node-{secrets.token_hex(4)}",
        network_mode="host",
        shm_size="256m",
        detach=True,
        labels={"dockyard.test": "ray-second-node"},
    )
    return container, ports


def cluster_nodes(dashboard_url: str) -> list[dict[str, Any]]:
    """Every node the cluster knows (alive and dead), from Ray's state API on the dashboard."""
    answer = httpx.get(
        f"{dashboard_url}/api/v0/nodes", params={"detail": 1, "limit": 1000}, timeout=10
    )
    answer.raise_for_status()
    return list(answer.json()["data"]["result"]["result"])


def wait_for_node(
    dashboard_url: str, container: Any, marker: str, timeout_s: float = 90
) -> dict[str, Any]:
    """The node that offers resource ``marker``, once the cluster reports it alive beside the
    head; fails with the container's output when the container exits or the time is up."""
    deadline = time.monotonic() + timeout_s
    alive: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        container.reload()
        if container.status in {"exited", "dead"}:
            pytest.fail(
                f"the Ray node container {container.name} exited ({container.attrs['State']}) "
                f"before joining the cluster:\n{tail(container)}"
            )
        alive = [n for n in cluster_nodes(dashboard_url) if n["state"] == "ALIVE"]
        ours = [n for n in alive if marker in (n.get("resources_total") or {})]
        if ours and len(alive) >= 2:
            return ours[0]
        time.sleep(0.5)
    pytest.fail(
        f"the cluster did not report the container's node (resource {marker!r}) alive within "
        f"{timeout_s:g} s; alive nodes: {[(n['node_id'][:8], n['resources_total']) for n in alive]}"
        f"\n{tail(container)}"
    )


def wait_for_dead(dashboard_url: str, node_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """Node ``node_id`` once the cluster reports it dead; fails when the time is up."""
    deadline = time.monotonic() + timeout_s
    state = "?"
    while time.monotonic() < deadline:
        node = next((n for n in cluster_nodes(dashboard_url) if n["node_id"] == node_id), None)
        state = node["state"] if node else "unknown to the cluster"
        if node is None or state == "DEAD":
            return node or {}
        time.sleep(0.5)
    pytest.fail(f"node {node_id[:8]} was still {state} {timeout_s:g} s after its container stopped")


def remove_node(container: Any) -> None:
    """Stop the container (``ray start --block`` drains the node on SIGTERM) and remove it, by id."""
    with contextlib.suppress(Exception):
        container.stop(timeout=20)
    with contextlib.suppress(Exception):
        container.remove(force=True)


def tail(container: Any, lines: int = 40) -> str:
    with contextlib.suppress(Exception):
        return str(container.logs(tail=lines).decode(errors="replace"))
    return "(no output)"


# --- its processes --------------------------------------------------------------------------------
def host_pids(container: Any) -> list[int]:
    """The container's processes, by their pids on the host (``docker top``)."""
    top = container.top(ps_args="-eo pid")
    column = top["Titles"].index("PID")
    return sorted(int(row[column]) for row in top["Processes"])


def namespace_pid(host_pid: int) -> int | None:
    """What process ``host_pid`` is called in its own pid namespace (the last of ``NSpid``)."""
    try:
        status = Path(f"/proc/{host_pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None
