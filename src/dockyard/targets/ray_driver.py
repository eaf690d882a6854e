"""Short driver processes run against a Ray cluster: ``python -m dockyard.targets.ray_driver``.

Connecting to a cluster makes the connecting process a Ray driver (a core worker, ports, threads
and Ray's logging), and an unreachable address makes Ray retry for about 40 seconds. So dockyard
never connects from its own process for these questions: :func:`run_driver` runs this module in a
child process with a time limit and reads one JSON document from its stdout.

:data:`DRIVER_ENV` is what any driver of a dockyard-started cluster needs in its environment
before it imports Ray (see :mod:`dockyard.targets.ray_cluster`): ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
keeps Ray from replacing ``127.0.0.1`` by the machine's outside address (where the cluster does not
listen), and ``RAY_AUTH_MODE=disabled`` matches the cluster's mode.

Commands:

* ``status ADDRESS``: the cluster's nodes, CPUs and Ray version. ``host:port`` (a GCS address) is
  asked through Ray's GCS client, without registering a job; ``ray://host:port`` through Ray
  Client.
* ``serve-start ADDRESS HOST PORT``: start Ray Serve on the cluster with its HTTP proxy on
  ``HOST:PORT`` on the head node only (``proxy_location="HeadOnly"``: a second node on the same
  machine must not try to bind the same port). Serve's controller is a detached actor: Serve
  outlives this process.

Errors are one JSON document too: ``{"error": "...", "kind": "<exception class>"}``, exit code 1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from typing import Any

#: What a driver process needs to reach a dockyard-started cluster (set before Ray is imported).
DRIVER_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}


def driver_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with what a driver of a dockyard-started
    cluster needs; ``RAY_ADDRESS`` is dropped, the address is always given explicitly."""
    env = dict(os.environ if base is None else base)
    env.pop("RAY_ADDRESS", None)
    env.update(DRIVER_ENV)
    return env


def run_driver(
    argv: list[str], *, timeout_s: float, env: dict[str, str] | None = None, what: str
) -> dict[str, Any]:
    """Run ``python -m dockyard.targets.ray_driver ARGV`` with a time limit; its JSON answer.

    A driver that does not answer in time is killed and its answer is ``{"error": ...}``."""
    command = [sys.executable, "-m", "dockyard.targets.ray_driver", *argv]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=max(1.0, timeout_s),
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {max(1.0, timeout_s):.0f} s while {what}"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                return dict(json.loads(line))
    tail = "\n".join((done.stderr or "").strip().splitlines()[-10:])
    return {"error": f"the driver process exited with code {done.returncode}: {tail}"}


def _node(info: Any) -> dict[str, Any]:
    resources = dict(getattr(info, "resources_total", {}) or {})
    return {
        "node_id": info.node_id.hex() if isinstance(info.node_id, bytes) else str(info.node_id),
        "address": f"{info.node_manager_address}:{info.node_manager_port}",
        "alive": int(info.state) == 0,  # GcsNodeInfo.GcsNodeState.ALIVE
        "cpus": float(resources.get("CPU", 0.0)),
        "head": bool(getattr(info, "is_head_node", False)),
    }


def _gcs_status(address: str) -> dict[str, Any]:
    import ray  # Ray only in this child process
    from ray._raylet import GcsClient  # type: ignore[attr-defined]  # no job registered

    client = GcsClient(address=address)
    nodes = [_node(info) for info in client.get_all_node_info(timeout=10).values()]
    metadata: dict[str, Any] = {}
    raw = client.internal_kv_get(b"CLUSTER_METADATA", namespace=b"cluster", timeout=10)
    if raw:
        metadata = json.loads(raw)
    dashboard = client.internal_kv_get(b"dashboard", namespace=b"dashboard", timeout=10)
    return {
        "alive": any(n["alive"] for n in nodes),
        "nodes": nodes,
        "cpus": sum(n["cpus"] for n in nodes if n["alive"]),
        "ray_version": metadata.get("ray_version"),
        "python_version": metadata.get("python_version"),
        "dashboard_url": f"http://{dashboard.decode()}" if dashboard else None,
        "client_ray_version": ray.__version__,
    }


def _client_status(address: str) -> dict[str, Any]:
    import ray  # Ray only in this child process

    context = ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    try:
        nodes = [
            {
                "node_id": n.get("NodeID"),
                "address": f"{n.get('NodeManagerAddress')}:{n.get('NodeManagerPort')}",
                "alive": bool(n.get("Alive")),
                "cpus": float((n.get("Resources") or {}).get("CPU", 0.0)),
                "head": "node:__internal_head__" in (n.get("Resources") or {}),
            }
            for n in ray.nodes()
        ]
        return {
            "alive": any(n["alive"] for n in nodes),
            "nodes": nodes,
            "cpus": sum(n["cpus"] for n in nodes if n["alive"]),
            "ray_version": getattr(context, "ray_version", None),
            "python_version": getattr(context, "python_version", None),
            "dashboard_url": getattr(context, "dashboard_url", None),
            "client_ray_version": ray.__version__,
        }
    finally:
        ray.shutdown()


def _serve_start(address: str, host: str, port: int) -> dict[str, Any]:
    import ray  # Ray only in this child process
    from ray import serve  # Serve only in this child process

    ray.init(
        address=address,
        _node_ip_address=host,
        logging_level=logging.ERROR,
        log_to_driver=False,
        namespace="serve",
    )
    serve.start(http_options={"host": host, "port": port}, proxy_location="HeadOnly")
    return {"host": host, "port": port, "ray_version": ray.__version__}


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["status"] and len(argv) == 2:
            address = argv[1]
            result = (
                _client_status(address) if address.startswith("ray://") else _gcs_status(address)
            )
        elif argv[:1] == ["serve-start"] and len(argv) == 4:
            result = _serve_start(argv[1], argv[2], int(argv[3]))
        else:
            result = {"error": f"unknown command {argv!r}", "kind": "usage"}
    except BaseException as exc:  # noqa: BLE001 - every failure becomes the one JSON answer
        result = {"error": str(exc) or type(exc).__name__, "kind": type(exc).__name__}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 1 if "error" in result else 0


__all__ = ["DRIVER_ENV", "driver_environment", "main", "run_driver"]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
