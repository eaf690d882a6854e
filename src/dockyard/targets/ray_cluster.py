"""A local Ray cluster that dockyard owns: start it, and stop exactly what was started.

:func:`start_local` runs ``ray start --head`` with this Python's Ray, in a session of its own, so
that the cluster outlives the process that created it, then starts Ray Serve on it. What it
started is recorded in ``<folder>/cluster.json`` (:class:`~dockyard.targets.ray_record.
LocalCluster`): the addresses and ports, Ray's temporary folder, and every process with its start
time. :func:`stop_local` stops those processes (the session's, by pid: never ``ray stop``, never
by name) and removes the temporary folder. :func:`dockyard.targets.ray_cluster_status.
cluster_status` asks a cluster, owned or not, how it is.

Every process of the cluster listens on 127.0.0.1 only. On Ray 2.60 that takes, besides the flags
(node address, dashboard host, a port for every listener), two environment variables:

* ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``: without it Ray replaces ``127.0.0.1`` given as the
  node address (``--node-ip-address``, ``ray.init(address=..., _node_ip_address=...)``) by the
  machine's outside address (``services.resolve_ip_for_localhost``); with a loopback node address
  the GCS, raylet, object manager, workers, agents and metrics servers bind 127.0.0.1. Every
  driver that connects to such a cluster needs it too (:func:`driver_environment`).
* ``AUTOSCALER_METRIC_PORT`` and ``DASHBOARD_METRIC_PORT``: fixed ports (44217, 44227) by
  default, which a second cluster on the machine cannot bind.

``RAY_AUTH_MODE=disabled`` is set as well: Ray 2.60 turns token authentication on for a new
cluster when ``~/.ray/auth_token`` exists (another Ray user may have made one), and drivers would
then be refused. The cluster is reachable from this machine only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from dockyard.errors import ConflictError, EngineUnavailableError, ValidationError
from dockyard.targets import port_is_free
from dockyard.targets.ray_driver import driver_environment, run_driver
from dockyard.targets.ray_processes import (
    ProcessId,
    boot_id,
    command_line,
    identify,
    session_members,
    terminate,
)
from dockyard.targets.ray_record import (
    RECORD,
    START_LOG,
    LocalCluster,
    is_alive,
    members,
    ray_log_tail,
    read_record,
    write_record,
)

LOOPBACK = "127.0.0.1"
#: Ray keeps unix sockets under its temporary folder; their paths must stay under ~107 bytes.
_TEMP_ROOT = Path("/tmp")
_INSTALL_HINT = "install Ray in this Python: pip install 'dockyard[ray]'"


# --- start ----------------------------------------------------------------------------------------
def _require_ray() -> str:
    if importlib.util.find_spec("ray") is None:
        raise EngineUnavailableError(
            f"Ray is not installed in {sys.executable}, so dockyard cannot start a Ray cluster",
            hint=_INSTALL_HINT,
        )
    from importlib.metadata import version  # only when a cluster is started

    return version("ray")


def _cpus(num_cpus: float | None) -> int:
    if num_cpus is None:
        return os.cpu_count() or 1
    if num_cpus <= 0 or float(num_cpus) != int(num_cpus):
        raise ValidationError(
            f"num_cpus={num_cpus!r}: a Ray node has a whole number of CPUs (1 or more)",
            hint="give a whole number of CPUs, such as 2 (replicas can still ask for fractions)",
        )
    return int(num_cpus)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _ports(serve_port: int) -> dict[str, int]:
    names = (
        "gcs",
        "dashboard",
        "dashboard_agent_http",
        "dashboard_agent_grpc",
        "runtime_env_agent",
        "metrics_export",
        "node_manager",
        "object_manager",
        "ray_client_server",
        "autoscaler_metrics",
        "dashboard_metrics",
    )
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = _free_port()
        if port not in ports.values() and port != serve_port:
            ports[names[len(ports)]] = port
    return ports


def _head_command(ports: dict[str, int], cpus: int, temp_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--head",
        f"--node-ip-address={LOOPBACK}",
        f"--port={ports['gcs']}",
        "--include-dashboard=true",
        f"--dashboard-host={LOOPBACK}",
        f"--dashboard-port={ports['dashboard']}",
        f"--dashboard-agent-listen-port={ports['dashboard_agent_http']}",
        f"--dashboard-agent-grpc-port={ports['dashboard_agent_grpc']}",
        f"--runtime-env-agent-port={ports['runtime_env_agent']}",
        f"--metrics-export-port={ports['metrics_export']}",
        f"--node-manager-port={ports['node_manager']}",
        f"--object-manager-port={ports['object_manager']}",
        f"--ray-client-server-port={ports['ray_client_server']}",
        f"--num-cpus={cpus}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
        "--log-style=record",
        "--log-color=false",
    ]


def _head_environment(ports: dict[str, int]) -> dict[str, str]:
    env = driver_environment()
    env.update(
        RAY_USAGE_STATS_ENABLED="0",
        AUTOSCALER_METRIC_PORT=str(ports["autoscaler_metrics"]),
        DASHBOARD_METRIC_PORT=str(ports["dashboard_metrics"]),
    )
    return env


def start_local(
    folder: Path,
    *,
    num_cpus: float | None = None,
    serve_port: int = 0,
    timeout_s: float = 120,
) -> LocalCluster:
    """Start a Ray head on 127.0.0.1 and Ray Serve on it; record it in ``folder/cluster.json``.

    ``num_cpus`` defaults to the machine's cores; ``serve_port`` (0: a free port) is where Serve's
    HTTP proxy listens. The cluster outlives this process; :func:`stop_local` stops it.
    """
    folder = Path(folder).resolve()
    deadline = time.monotonic() + timeout_s
    ray_version = _require_ray()
    cpus = _cpus(num_cpus)
    old = read_record(folder)
    if old is not None and is_alive(old):
        raise ConflictError(
            f"A Ray cluster recorded in {folder} is running (GCS at {old.address})",
            hint="use it, or stop it first",
        )
    if old is not None:
        stop_local(folder)  # a cluster whose processes died: remove what is left of it
    if serve_port and not port_is_free(serve_port):
        raise ConflictError(
            f"Port {serve_port} on 127.0.0.1 is taken, so Ray Serve cannot listen there",
            hint="pick another serve port, or leave it out for a free one",
        )
    serve_port = serve_port or _free_port()
    ports = _ports(serve_port)
    folder.mkdir(parents=True, exist_ok=True)
    temp_dir = _TEMP_ROOT / f"dockyard-ray-{secrets.token_hex(4)}"
    started_at = datetime.now(UTC).isoformat()
    began = time.monotonic()
    with open(folder / START_LOG, "wb") as log:
        head = subprocess.Popen(
            _head_command(ports, cpus, temp_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=_head_environment(ports),
            cwd=folder,
        )
    session = head.pid
    cluster = LocalCluster(
        folder=folder,
        address=f"{LOOPBACK}:{ports['gcs']}",
        gcs_port=ports["gcs"],
        dashboard_url=f"http://{LOOPBACK}:{ports['dashboard']}",
        serve_host=LOOPBACK,
        serve_port=serve_port,
        temp_dir=temp_dir,
        session=session,
        pgid=session,
        processes=tuple(p for p in [identify(session)] if p is not None),
        num_cpus=cpus,
        started_at=started_at,
        ray_version=ray_version,
        python_version=platform.python_version(),
        python=sys.executable,
        boot_id=boot_id(),
        ports=ports,
    )
    write_record(cluster)  # from here on, stop_local finds whatever was started
    try:
        _wait_for_head(head, cluster, deadline)
        head_s = time.monotonic() - began
        _start_serve(cluster, deadline)
        cluster = _recorded(cluster, head_s=head_s, serve_s=time.monotonic() - began - head_s)
    except BaseException:
        stop_local(folder)
        raise
    write_record(cluster)
    return cluster


def _recorded(cluster: LocalCluster, **timings: float) -> LocalCluster:
    """``cluster`` with its processes now: the GCS and the raylet first (:func:`is_alive`)."""
    found = session_members(cluster.session)

    def rank(process: ProcessId) -> tuple[int, int]:
        line = command_line(process.pid)
        order = 0 if "gcs_server" in line else 1 if "/raylet/raylet" in line else 2
        return order, process.pid

    rounded = {k: round(v, 2) for k, v in timings.items()}
    return replace(cluster, processes=tuple(sorted(found, key=rank)), timings=rounded)


def _wait_for_head(head: subprocess.Popen[bytes], cluster: LocalCluster, deadline: float) -> None:
    try:
        code = head.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise ray_failure(
            cluster,
            f"`ray start --head` did not finish within its time limit ({cluster.folder})",
            "the machine may be too busy: try again, or give a longer timeout",
        ) from None
    if code != 0:
        raise ray_failure(
            cluster,
            f"`ray start --head` failed with exit code {code}",
            f"read Ray's lines above and {cluster.folder / START_LOG}; then try again",
        )


def _start_serve(cluster: LocalCluster, deadline: float) -> None:
    answer = run_driver(
        ["serve-start", cluster.address, cluster.serve_host, str(cluster.serve_port)],
        timeout_s=deadline - time.monotonic(),
        env=driver_environment(),
        what=f"starting Ray Serve on the cluster at {cluster.address}",
    )
    if "error" in answer:
        raise ray_failure(
            cluster,
            f"Ray Serve did not start on the cluster at {cluster.address}: {answer['error']}",
            "read Ray's lines above; then try again",
        )
    url = f"http://{cluster.serve_host}:{cluster.serve_port}/-/healthz"
    while time.monotonic() < deadline:
        if _answers(url):
            return
        time.sleep(0.2)
    raise ray_failure(
        cluster,
        f"Ray Serve's HTTP proxy did not answer on {url} in time",
        "read Ray's lines above; then try again",
    )


def _answers(url: str) -> bool:
    """Does an HTTP server answer ``url`` (any status)?"""
    import urllib.error  # the standard library's HTTP client, for one probe
    import urllib.request  # the standard library's HTTP client, for one probe

    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def ray_failure(cluster: LocalCluster, message: str, hint: str) -> EngineUnavailableError:
    """An error saying what failed, with the tail of Ray's own logs (read now: the temporary
    folder that holds them goes when the half-started cluster is stopped)."""
    tail = ray_log_tail(cluster)
    text = f"{message}\n{tail}" if tail else message
    return EngineUnavailableError(text, hint=hint, log_tail=tail)


# --- stop ---------------------------------------------------------------------------------------
def stop_local(folder: Path, timeout_s: float = 30) -> None:
    """Stop the cluster recorded in ``folder``: exactly its processes (its session's and those
    recorded, by pid and start time), SIGTERM then SIGKILL after a bound; remove its temporary
    folder and its record. Nothing recorded: nothing to do."""
    folder = Path(folder)
    cluster = read_record(folder)
    if cluster is None:
        return
    # Ray's GCS and autoscaler monitor wait more than 15 s after SIGTERM: a short grace is enough
    # for the others (they have nothing to save), then SIGKILL.
    left = terminate(members(cluster), grace_s=min(5.0, timeout_s / 3), timeout_s=timeout_s)
    if left:
        raise EngineUnavailableError(
            f"Processes {left} of the Ray cluster in {folder} did not stop within {timeout_s:.0f} s",
            hint=f"kill them by pid (kill -9 {' '.join(map(str, left))}), then delete {folder}",
        )
    if cluster.temp_dir.name.startswith("dockyard-ray-"):
        shutil.rmtree(cluster.temp_dir, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        (folder / RECORD).unlink()


__all__ = ["LOOPBACK", "LocalCluster", "ray_failure", "start_local", "stop_local"]
