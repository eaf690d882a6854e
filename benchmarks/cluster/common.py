"""What the cluster benchmarks share: a throwaway dockyard home and workspace, a Ray cluster to
attach (started here and stopped by its PIDs, or one given with ``--address``), services deployed
through the SDK, the dashboard's replica view, machine and version facts, percentiles, tables and
the raw JSON results (``benchmarks/cluster/results/``).

Every request goes to 127.0.0.1. Nothing here runs ``ray stop``: a cluster started here is a
compute target of a throwaway workspace, and ``target.delete()`` stops exactly its processes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
HOST = "127.0.0.1"
#: Ray's setting for the priority of its worker processes (proxy, controller, replicas): 15 when
#: not set, so that on a busy machine everything else runs before them.
NICENESS_ENV = "RAY_worker_niceness"

#: score.py of the spike and throughput runs: run() takes about 50 ms.
SLEEPY = """\
import json, time
def init():
    pass
def run(raw):
    time.sleep(0.05)
    return {"ok": True}
"""

#: score.py of the proxy-cost runs: a no-op run() (echo).
ECHO = """\
import json
def init():
    pass
def run(raw):
    return json.loads(raw)
"""


def cluster_arguments(parser: Any) -> None:
    parser.add_argument("--address", help="attach this running cluster instead of starting one")
    parser.add_argument("--serve-port", type=int, help="its Serve port (with --address)")
    parser.add_argument(
        "--worker-niceness",
        type=int,
        help=f"start our cluster with {NICENESS_ENV}=N (Ray's default: 15)",
    )
    parser.add_argument(
        "--keep-dontwritebytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE for our cluster when the shell sets it (by default "
        "it is unset, as in a typical shell, so that replicas' environments get bytecode)",
    )


def cluster_environment(args: Any) -> str:
    """Apply the cluster options to this process's environment (the cluster started here and its
    replicas inherit it); one line saying what they run with."""
    if args.worker_niceness is not None:
        os.environ[NICENESS_ENV] = str(args.worker_niceness)
    if not args.keep_dontwritebytecode:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.address:
        return "the attached cluster's own environment"
    nice = os.environ.get(NICENESS_ENV, "15 (Ray's default)")
    bytecode = os.environ.get("PYTHONDONTWRITEBYTECODE")
    return f"Ray worker niceness {nice}; PYTHONDONTWRITEBYTECODE {bytecode or 'unset'}"


def private_home() -> Path:
    """A throwaway DOCKYARD_HOME (workspace names, caches' index) for this process; set before
    dockyard is imported so that nothing of the user's ~/.dockyard is read or written. The
    environment cache stays the user's (``DOCKYARD_ENV_CACHE``, if set, wins): warm is warm."""
    work = Path(tempfile.mkdtemp(prefix="dockyard-cluster-bench-"))
    os.environ["DOCKYARD_HOME"] = str(work / "home")
    if str(REPO / "src") not in sys.path:
        sys.path.insert(0, str(REPO / "src"))
    return work


@dataclass
class Cluster:
    """The cluster the benchmark attaches: where it listens, and the target that owns it (None
    when it was given with ``--address``: then nothing here stops it)."""

    address: str
    serve_port: int
    dashboard_url: str
    owner: Any = None
    start_s: float | None = None


@contextlib.contextmanager
def cluster(
    work: Path, address: str | None, serve_port: int | None, cpus: int
) -> Iterator[Cluster]:
    """Start a local Ray cluster (a compute target of a workspace of its own) unless ``address``
    names a running one; stop what was started, by its PIDs, at the end."""
    from dockyard import ComputeTarget, RayCompute, Workspace  # reason: after private_home()

    if address:
        yield Cluster(address, serve_port or 8000, "")
        return
    owner_ws = Workspace.create("cluster-owner", path=str(work / "owner-ws"), show_output=False)
    started = time.monotonic()
    target = ComputeTarget.create(
        owner_ws, "bench", RayCompute.provisioning_configuration(num_cpus=cpus)
    )
    target.wait_for_completion(show_output=False)
    facts = target.serialize()
    try:
        yield Cluster(
            facts["address"],
            int(facts["servePort"]),
            facts["dashboardUrl"],
            target,
            time.monotonic() - started,
        )
    finally:
        target.delete()


def attach(ws: Any, name: str, found: Cluster) -> Any:
    """``ComputeTarget.attach`` the cluster to ``ws`` (as a user with a running cluster does)."""
    from dockyard import AksCompute, ComputeTarget  # reason: after private_home()

    config = AksCompute.attach_configuration(
        address=found.address,
        serve_port=found.serve_port,
        dashboard_url=found.dashboard_url or None,
    )
    target = ComputeTarget.attach(ws, name, config)
    target.wait_for_completion(show_output=False)
    found.dashboard_url = found.dashboard_url or target.serialize()["dashboardUrl"]
    return target


def source_folder(work: Path, name: str, text: str) -> Path:
    folder = work / f"src-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "score.py").write_text(text)
    return folder


def placeholder_model(ws: Any, work: Path) -> Any:
    from dockyard import Model  # reason: after private_home()

    weights = work / "weights.txt"
    weights.write_text("42\n")
    return Model.register(ws, model_path=str(weights), model_name="bench-model")


def deploy(
    ws: Any, work: Path, name: str, text: str, config: Any, target: Any = None, model: Any = None
) -> Any:
    """``Model.deploy`` of ``text`` as score.py (no environment: dockyard's own interpreter)."""
    from dockyard import InferenceConfig, Model  # reason: after private_home()

    inference = InferenceConfig(
        entry_script="score.py", source_directory=str(source_folder(work, name, text))
    )
    model = model or placeholder_model(ws, work)
    if target is None:
        return Model.deploy(ws, name, [model], inference, config)
    return Model.deploy(ws, name, [model], inference, config, deployment_target=target)


def replicas(dashboard_url: str, app_suffix: str, http: Any) -> dict[str, Any] | None:
    """The service's deployment as Serve reports it: replica states counted, and its target."""
    apps = http.get(f"{dashboard_url}/api/serve/applications/", timeout=10).json()["applications"]
    for name, app in apps.items():
        if name.endswith(f"-{app_suffix}"):
            deployment = (app.get("deployments") or {}).get("scoring") or {}
            states: dict[str, int] = {}
            for replica in deployment.get("replicas") or []:
                states[replica.get("state", "?")] = states.get(replica.get("state", "?"), 0) + 1
            return {"target": deployment.get("target_num_replicas"), "states": states}
    return None


# --- figures ------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), nearest-rank on sorted values (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- facts and results --------------------------------------------------------------------------
def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg": list(os.getloadavg()),
    }


def versions() -> dict[str, Any]:
    dirty = _git("status", "--porcelain", "--", "src")
    return {
        "python": platform.python_version(),
        "ray": _version("ray"),
        "dockyard": _version("dockyard"),
        "dockyard_commit": _git("rev-parse", "--short=7", "HEAD"),
        "src_uncommitted_changes": bool(dirty),
        "httpx": _version("httpx"),
        "uvicorn": _version("uvicorn"),
    }


def write_result(kind: str, data: dict[str, Any], quick: bool = False) -> str:
    """The raw results as JSON in benchmarks/cluster/results/ (a --quick run's in the system's
    temporary folder: a smoke test is not a result); the path to print."""
    folder = Path(tempfile.gettempdir()) if quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"cluster-{kind}-{stamp}.json" if quick else folder / f"{kind}-{stamp}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def header(started: dt.datetime, wall_s: float, before: dict[str, Any]) -> str:
    facts = versions()
    after = machine()["loadavg"]
    return (
        f"Run {started:%Y-%m-%d %H:%M} UTC, {wall_s:.0f} s. Machine: {before['cpu']}, "
        f"{before['cores']} cores, {before['memory_gib']} GiB, Linux {before['kernel']}; load "
        f"average before {' '.join(f'{x:.2f}' for x in before['loadavg'])}, after "
        f"{' '.join(f'{x:.2f}' for x in after)}. Versions: Python {facts['python']}, Ray "
        f"{facts['ray']}, dockyard {facts['dockyard']} (commit {facts['dockyard_commit']}"
        f"{', src/ changed' if facts['src_uncommitted_changes'] else ''}), httpx {facts['httpx']}."
    )


def cleanup(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
