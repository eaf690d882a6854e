"""A service's metrics for people: current rates and percentiles, and their recent history.

The numbers come from the service's own server (``GET /metrics``, :mod:`dockyard.server.metrics`)
and from its history, kept in the service's folder in the workspace so that every process (the
CLI, the SDK, the dashboard, another terminal) reads the same:

* ``<service folder>/metrics/history.ring``: written by the server itself every 10 s when its
  target gives it ``DOCKYARD_METRICS_HISTORY`` pointing there (see :func:`history_file`);
* ``<service folder>/metrics/scraped.ring``: written here, one sample per call at most every
  5 s, from the scrape each call makes; the history of a service whose server keeps none (a
  container without the folder mounted, a cluster service).

Both are :mod:`dockyard.server.metrics_history` rings (two hours). Rates are differences of
counters between two samples, a counter that went down (a restart) counting from zero, as
Prometheus' ``rate()`` does; percentiles are interpolated within histogram buckets, as
``histogram_quantile()`` does.

On the cluster target a scrape through Serve's proxy reaches one replica at random, so the
current numbers add up the replicas' own answers to several scrapes (see :func:`scrape`), and
the replica count comes from Serve's status at each sample.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dockyard.errors import WebserviceError
from dockyard.ops import keys, records, services
from dockyard.server import metrics as m
from dockyard.server.metrics_history import HistoryFormatError, HistoryWriter, read_history
from dockyard.server.metrics_text import parse, started_at
from dockyard.store import layout
from dockyard.targets.base import HEALTHY

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

METRICS_DIR = layout.SERVICE_METRICS_DIR
SERVER_RING = layout.SERVER_HISTORY_RING
SCRAPED_RING = "scraped.ring"
#: The scraped ring gets at most one sample this often; it is sized for one every 5 s.
SCRAPE_SPACING_S = 5.0
_SCRAPED_RING_INTERVAL_S = 5.0
SCRAPE_TIMEOUT_S = 5.0
STATUS_KEYS = ("2xx", "4xx", "5xx", "503")

Sample = tuple[float, int, list[float]]  # (time, replicas, totals)


def history_file(service_dir: Path) -> Path:
    """Where a target points the server's ``DOCKYARD_METRICS_HISTORY`` (a folder it can write)."""
    return layout.metrics_history_file(Path(service_dir))


# --- the two public operations ---------------------------------------------------------------
def current(ws: Workspace, name: str, window_s: float = 60.0) -> dict[str, Any]:
    """Rates and percentiles of ``name`` over about the last ``window_s`` seconds (see
    :func:`dockyard.webservice.metrics.get_service_metrics` for the keys)."""
    if window_s <= 0:
        raise WebserviceError(
            f"window_s must be a positive number of seconds, not {window_s}",
            hint="pass window_s=60 for the last minute",
        )
    record = records.require(ws, name)
    service_dir = Path(record.runtime.get("service_dir", ""))
    got = _scrape(ws, record)
    now, replicas, live, details = got.now, got.replicas, got.totals, got.details
    if live is None:
        return _summary(name, window_s, now, replicas, None, None)
    summary = _current(service_dir, name, window_s, now, replicas, live, got.started)
    if details.get("dashboard_url") and details.get("app"):  # a cluster service: Serve's view
        summary["per_replica"] = serve_replicas(details["dashboard_url"], details["app"])
    return summary


def _current(
    service_dir: Path,
    name: str,
    window_s: float,
    now: float,
    replicas: int,
    live: list[float],
    started: float | None,
) -> dict[str, Any]:
    keep_sample(service_dir, now, replicas, live)
    older = [s for s in _samples(service_dir, now - 2 * window_s - 60) if s[0] < now - 0.5]
    base = next((s for s in reversed(older) if s[0] <= now - window_s), None)
    if base is None and older:
        base = older[0]
    if base is None:  # no history yet: the averages since the server started counting
        if started is None or now - started <= 0:
            return _summary(name, window_s, now, replicas, None, None)
        base = (started, replicas, [0.0] * m.ROW)
    return _summary(name, now - base[0], now, replicas, base[2], live)


def history(ws: Workspace, name: str, since_s: float = 3600.0) -> list[dict[str, Any]]:
    """Points of ``name``'s recent history, oldest first (see
    :func:`dockyard.webservice.metrics.get_service_metrics_history` for the keys)."""
    record = records.require(ws, name)
    service_dir = Path(record.runtime.get("service_dir", ""))
    now = time.time()
    samples = _samples(service_dir, now - since_s)
    points = []
    for before, after in zip(samples, samples[1:], strict=False):
        dt = after[0] - before[0]
        if dt <= 0:
            continue
        delta = _delta(before[2], after[2])
        latency = _quantiles(delta, m.REQUEST_HIST, (0.5, 0.99))
        points.append(
            {
                "t": after[0],
                "requests_per_s": _score_requests(delta) / dt,
                "p50_ms": latency[0],
                "p99_ms": latency[1],
                "status_per_s": _status_rates(delta, dt),
                "replicas": after[1],
            }
        )
    return points


# --- scraping --------------------------------------------------------------------------------
def scrape(ws: Workspace, record: records.ServiceRecord) -> tuple[float, int, list[float] | None]:
    """``(time, replicas, totals)`` of the service now; totals None when it does not answer.

    The server's own in-flight gauge counts the scrape itself: it is taken off. With several
    replicas behind one address (the cluster target), each scrape reaches one of them; the totals
    are then the sum of the distinct replicas reached in up to ``3 * replicas`` scrapes (told
    apart by their start times), which is exact once every replica has answered.
    """
    got = _scrape(ws, record)
    return got.now, got.replicas, got.totals


class _Scrape(NamedTuple):
    now: float
    replicas: int
    totals: list[float] | None
    started: float | None  # the earliest start of the servers that answered
    details: dict[str, Any]  # of the target's status


def _scrape(ws: Workspace, record: records.ServiceRecord) -> _Scrape:
    """:func:`scrape`, with the servers' start and the target's status details read on the way."""
    import httpx  # reason: the SDK's HTTP client, loaded only when a scrape is made

    status = services.refresh(ws, record)
    replicas = int(status.details.get("replicas", 1 if status.state == HEALTHY else 0))
    base = status.base_uri or record.runtime.get("base_uri")
    port = status.port or record.runtime.get("port")
    url = f"{base}/metrics" if base else f"http://127.0.0.1:{port}/metrics" if port else None
    now = time.time()
    if url is None or status.state != HEALTHY:
        return _Scrape(now, replicas if status.state == HEALTHY else 0, None, None, status.details)
    headers = _auth_headers(ws, record)
    seen: dict[float, list[float]] = {}  # by the answering server's start time
    try:
        with httpx.Client(timeout=SCRAPE_TIMEOUT_S) as client:
            for _ in range(max(1, 3 * replicas if replicas > 1 else 1)):
                answer = client.get(url, headers=headers)
                if answer.status_code != 200:
                    raise WebserviceError(
                        f"GET {url} answered {answer.status_code}: {answer.text[:200]}",
                        hint="check that the service runs a dockyard server with metrics on "
                        "(DOCKYARD_METRICS not 0): dockyard service show " + record.name,
                    )
                seen[started_at(answer.text) or 0.0] = parse(answer.text)
                if len(seen) >= max(1, replicas):
                    break
    except httpx.HTTPError:
        return _Scrape(now, replicas, None, None, status.details)
    combined = [sum(values) for values in zip(*seen.values(), strict=True)]
    combined[m.IN_FLIGHT] = max(0.0, combined[m.IN_FLIGHT] - len(seen))  # the scrapes
    return _Scrape(now, replicas, combined, min(seen) or None, status.details)


def _auth_headers(ws: Workspace, record: records.ServiceRecord) -> dict[str, str]:
    config = record.spec.get("config", {})
    if config.get("token_auth_enabled"):
        return {"Authorization": f"Bearer {keys.access_token(ws, record.name)[0]}"}
    if config.get("auth_enabled"):
        return {"Authorization": f"Bearer {keys.get(ws, record.name)[0]}"}
    return {}


def keep_sample(service_dir: Path, now: float, replicas: int, totals: list[float]) -> None:
    """Append a scrape to the service's scraped ring (at most one per ``SCRAPE_SPACING_S``)."""
    if not service_dir.is_dir():
        return
    path = service_dir / METRICS_DIR / SCRAPED_RING
    with contextlib.suppress(OSError):
        path.parent.mkdir(exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError, HistoryFormatError):
                last = read_history(str(path), now - SCRAPE_SPACING_S)
                if last:
                    return
            writer = HistoryWriter(str(path), None, _SCRAPED_RING_INTERVAL_S)
            try:
                writer.sample(now, totals, replicas)
            finally:
                writer.close()


def _samples(service_dir: Path, since: float) -> list[Sample]:
    """The server's own history when it keeps one, else the scraped one (oldest first)."""
    for name in (SERVER_RING, SCRAPED_RING):
        path = service_dir / METRICS_DIR / name
        try:
            found = read_history(str(path), since)
        except (FileNotFoundError, HistoryFormatError):
            continue
        if found:
            return found
    return []


# --- arithmetic --------------------------------------------------------------------------------
def _delta(before: list[float], after: list[float]) -> list[float]:
    """Counter increases between two rows; a counter that went down restarted from zero."""
    return [b - a if b >= a else b for a, b in zip(before, after, strict=True)]


def _score_requests(delta: list[float]) -> float:
    return sum(delta[m.REQUESTS + m.SCORE_ROUTE * 4 : m.REQUESTS + m.SCORE_ROUTE * 4 + 4])


def _status_rates(delta: list[float], dt: float) -> dict[str, float]:
    base = m.REQUESTS + m.SCORE_ROUTE * 4
    unavailable = delta[m.SCORE_503]
    return {
        "2xx": (delta[base] + delta[base + 1]) / dt,  # 3xx (rare from run()) count as 2xx
        "4xx": delta[base + 2] / dt,
        "5xx": max(0.0, delta[base + 3] - unavailable) / dt,  # other than 503
        "503": unavailable / dt,
    }


def _quantiles(delta: list[float], start: int, qs: tuple[float, ...]) -> list[float | None]:
    buckets = delta[start : start + m.BUCKETS]
    out: list[float | None] = []
    for q in qs:
        seconds = m.quantile(buckets, q)
        out.append(None if seconds is None else round(seconds * 1000, 3))
    return out


def _summary(
    name: str,
    window_s: float,
    now: float,
    replicas: int,
    before: list[float] | None,
    after: list[float] | None,
) -> dict[str, Any]:
    if before is None or after is None or window_s <= 0:
        return {
            "service": name,
            "window_s": window_s,
            "sampled_at": now,
            "requests_per_s": 0.0,
            "status_per_s": dict.fromkeys(STATUS_KEYS, 0.0),
            "latency_ms": {"p50": None, "p90": None, "p99": None},
            "run_ms": {"p50": None, "p99": None},
            "in_flight": 0,
            "replicas": replicas,
        }
    delta = _delta(before, after)
    latency = _quantiles(delta, m.REQUEST_HIST, (0.5, 0.9, 0.99))
    run = _quantiles(delta, m.RUN_HIST, (0.5, 0.99))
    return {
        "service": name,
        "window_s": round(window_s, 3),
        "sampled_at": now,
        "requests_per_s": _score_requests(delta) / window_s,
        "status_per_s": _status_rates(delta, window_s),
        "latency_ms": {"p50": latency[0], "p90": latency[1], "p99": latency[2]},
        "run_ms": {"p50": run[0], "p99": run[1]},
        "in_flight": int(after[m.IN_FLIGHT]),
        "replicas": replicas,
    }


# --- Ray Serve's own numbers (the cluster target) ----------------------------------------------
_RAY_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_RAY_NAMES = (
    "ray_serve_deployment_request_counter_total",
    "ray_serve_deployment_error_counter_total",
    "ray_serve_replica_processing_queries",
    "ray_serve_deployment_replica_healthy",
    "ray_serve_deployment_processing_latency_ms_bucket",
)


def serve_replicas(dashboard_url: str, application: str) -> list[dict[str, Any]]:
    """Ray Serve's own numbers for each serving replica of ``application``, read from every
    node's metrics endpoint (the dashboard lists the nodes and their metrics-export ports).

    Each: ``replica`` (Serve's id), ``node``, ``healthy``, ``requests_total`` and
    ``errors_total`` (since the replica started), ``processing`` (requests in it now),
    ``p50_ms`` and ``p99_ms`` (its processing latency since it started; None before a request).
    Empty when the cluster exports no metrics. Ray exports them every few seconds.
    """
    import httpx  # reason: the SDK's HTTP client, loaded only when Ray's metrics are read

    try:
        nodes = httpx.get(f"{dashboard_url}/nodes?view=summary", timeout=SCRAPE_TIMEOUT_S)
        summary = nodes.json()["data"]["summary"]
    except (httpx.HTTPError, ValueError, KeyError):
        return []
    replicas: dict[str, dict[str, Any]] = {}
    for node in summary:
        port = (node.get("raylet") or {}).get("metricsExportPort")
        if not port or not node.get("ip"):
            continue
        try:
            text = httpx.get(f"http://{node['ip']}:{port}/metrics", timeout=SCRAPE_TIMEOUT_S).text
        except httpx.HTTPError:
            continue
        _read_serve_text(text, application, node["ip"], replicas)
    out = []
    for replica in replicas.values():
        if not replica["healthy"]:
            continue
        buckets = sorted(replica.pop("latency").items())
        replica["p50_ms"], replica["p99_ms"] = (
            _cumulative_quantile(buckets, q) for q in (0.5, 0.99)
        )
        out.append(replica)
    return sorted(out, key=lambda r: str(r["replica"]))


def _read_serve_text(
    text: str, application: str, node: str, replicas: dict[str, dict[str, Any]]
) -> None:
    for line in text.splitlines():
        if not line.startswith(_RAY_NAMES):
            continue
        head, _, number = line.rpartition(" ")
        name = head.partition("{")[0]
        labels = dict(_RAY_LABEL.findall(head))
        replica_id = labels.get("replica")
        if labels.get("application") != application or not replica_id:
            continue
        try:
            value = float(number)
        except ValueError:
            continue
        replica = replicas.setdefault(
            replica_id,
            {
                "replica": replica_id,
                "node": node,
                "healthy": False,
                "requests_total": 0.0,
                "errors_total": 0.0,
                "processing": 0.0,
                "latency": {},
            },
        )
        if name == "ray_serve_deployment_request_counter_total":
            replica["requests_total"] += value
        elif name == "ray_serve_deployment_error_counter_total":
            replica["errors_total"] += value
        elif name == "ray_serve_replica_processing_queries":
            replica["processing"] += value
        elif name == "ray_serve_deployment_replica_healthy":
            replica["healthy"] = value >= 1
        else:
            le = labels.get("le", "")
            bound = math.inf if le == "+Inf" else float(le)
            replica["latency"][bound] = replica["latency"].get(bound, 0.0) + value


def _cumulative_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """``histogram_quantile`` over cumulative ``(upper bound, count)`` pairs, in their unit."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return round(lower + (bound - lower) * ((rank - below) / inside if inside else 1), 3)
        lower, below = bound, count
    return lower
