"""The Prometheus text exposition format (0.0.4) of a metrics board, summed over its workers.

Names follow Prometheus' conventions: a ``dockyard_`` prefix, base units in the name
(``_seconds``), ``_total`` on counters, ``_bucket``/``_sum``/``_count`` for histograms. What each
metric counts is in its ``# HELP`` line and in docs/metrics.md.
"""

from __future__ import annotations

import platform

from dockyard import __version__
from dockyard.server import metrics as m

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

_LE = [f"{bound:g}" for bound in m.BOUNDS] + ["+Inf"]
UNAVAILABLE = "dockyard_http_unavailable_total"
START_TIME = "process_start_time_seconds"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _histogram(
    lines: list[str], name: str, help_text: str, totals: list[float], start: int, labels: str = ""
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} histogram")
    prefix = f"{labels}," if labels else ""
    cumulative = 0.0
    for offset, le in enumerate(_LE):
        cumulative += totals[start + offset]
        lines.append(f'{name}_bucket{{{prefix}le="{le}"}} {_number(cumulative)}')
    braces = f"{{{labels}}}" if labels else ""
    lines.append(f"{name}_sum{braces} {_number(totals[start + m.BUCKETS])}")
    lines.append(f"{name}_count{braces} {_number(cumulative)}")


def _single(lines: list[str], name: str, kind: str, help_text: str, value: float) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    lines.append(f"{name} {_number(value)}")


def render(board: m.Board, workers: int, service: str = "") -> bytes:
    """The scrape body: every metric, summed over the board's rows (``workers`` workers + parent)."""
    totals = board.totals()
    lines: list[str] = []
    name = "dockyard_http_requests_total"
    lines.append(f"# HELP {name} Requests answered, by route and status class.")
    lines.append(f"# TYPE {name} counter")
    for route_index, route in enumerate(m.ROUTES):
        for class_index, cls in enumerate(m.CLASSES):
            value = totals[m.REQUESTS + route_index * 4 + class_index]
            if value or route_index == m.SCORE_ROUTE:
                lines.append(f'{name}{{route="{route}",code="{cls}"}} {_number(value)}')
    lines.append(f"# HELP {UNAVAILABLE} /score answers with status 503 (also in code=5xx).")
    lines.append(f"# TYPE {UNAVAILABLE} counter")
    lines.append(f'{UNAVAILABLE}{{route="/score"}} {_number(totals[m.SCORE_503])}')
    _histogram(
        lines,
        "dockyard_http_request_duration_seconds",
        "Time from a /score request's arrival to its answer.",
        totals,
        m.REQUEST_HIST,
        'route="/score"',
    )
    _histogram(
        lines,
        "dockyard_run_duration_seconds",
        "Duration of run() calls that returned (errors and timeouts are counted apart).",
        totals,
        m.RUN_HIST,
    )
    _histogram(
        lines,
        "dockyard_slot_wait_seconds",
        "Time /score requests that found every run() slot taken waited for one.",
        totals,
        m.WAIT_HIST,
    )
    _single(
        lines,
        "dockyard_http_requests_in_flight",
        "gauge",
        "Requests being answered now.",
        totals[m.IN_FLIGHT],
    )
    name = "dockyard_rejected_requests_total"
    lines.append(f"# HELP {name} 503 answers by reason: overload (no run() slot in time), ")
    lines[-1] += "starting (init() not done or failed)."
    lines.append(f"# TYPE {name} counter")
    lines.append(f'{name}{{reason="overload"}} {_number(totals[m.REJECTED_OVERLOAD])}')
    lines.append(f'{name}{{reason="starting"}} {_number(totals[m.REJECTED_STARTING])}')
    _single(
        lines,
        "dockyard_scoring_timeouts_total",
        "counter",
        "run() calls stopped by the scoring timeout (SCORING_TIMEOUT_MS).",
        totals[m.TIMEOUTS],
    )
    _single(
        lines,
        "dockyard_run_failures_total",
        "counter",
        "run() calls that raised.",
        totals[m.RUN_FAILURES],
    )
    name = "dockyard_init_duration_seconds"
    lines.append(f"# HELP {name} Duration of the last init() call, by worker.")
    lines.append(f"# TYPE {name} gauge")
    for index, value in enumerate(board.field(m.INIT_SECONDS)[:workers]):
        lines.append(f'{name}{{worker="{index}"}} {_number(value)}')
    _single(
        lines,
        "dockyard_init_calls_total",
        "counter",
        "init() calls that finished (one per worker start).",
        totals[m.INIT_COUNT],
    )
    _single(
        lines,
        "dockyard_worker_restarts_total",
        "counter",
        "Workers replaced after they died.",
        totals[m.RESTARTS],
    )
    _single(lines, "dockyard_workers", "gauge", "Worker processes of this server.", workers)
    _single(
        lines,
        START_TIME,
        "gauge",
        "When this server started counting, in seconds since the epoch.",
        round(board.started, 3),
    )
    name = "dockyard_build_info"
    lines.append(f"# HELP {name} The versions this server runs (value 1).")
    lines.append(f"# TYPE {name} gauge")
    python = platform.python_version()
    service_label = f',service_name="{_escape(service)}"' if service else ""
    lines.append(f'{name}{{version="{__version__}",python="{python}"{service_label}}} 1')
    return ("\n".join(lines) + "\n").encode()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def parse(text: str) -> list[float]:
    """The totals row (:mod:`dockyard.server.metrics` layout) back from a scrape body of
    :func:`render`; fields the text does not carry stay 0 (per-worker init() durations: their
    sum). Lines of other metrics are ignored."""
    row = [0.0] * m.ROW
    hists = {
        "dockyard_http_request_duration_seconds": m.REQUEST_HIST,
        "dockyard_run_duration_seconds": m.RUN_HIST,
        "dockyard_slot_wait_seconds": m.WAIT_HIST,
    }
    singles = {
        "dockyard_http_requests_in_flight": m.IN_FLIGHT,
        "dockyard_scoring_timeouts_total": m.TIMEOUTS,
        "dockyard_run_failures_total": m.RUN_FAILURES,
        "dockyard_init_calls_total": m.INIT_COUNT,
        "dockyard_worker_restarts_total": m.RESTARTS,
        "dockyard_init_duration_seconds": m.INIT_SECONDS,
    }
    cumulative: dict[int, list[float]] = {start: [0.0] * m.BUCKETS for start in hists.values()}
    le_index = {le: index for index, le in enumerate(_LE)}
    for line in text.splitlines():
        if not line.startswith("dockyard_"):
            continue
        head, _, number = line.rpartition(" ")
        name, _, labels = head.partition("{")
        try:
            value = float(number)
        except ValueError:
            continue
        found = dict(_label_pairs(labels.rstrip("}")))
        if name == "dockyard_http_requests_total":
            route = m.ROUTES.index(found["route"]) if found.get("route") in m.ROUTES else None
            code = found.get("code")
            if route is not None and code in m.CLASSES:
                row[m.REQUESTS + route * 4 + m.CLASSES.index(code)] = value
        elif name == UNAVAILABLE:
            row[m.SCORE_503] = value
        elif name == "dockyard_rejected_requests_total":
            field = (
                m.REJECTED_OVERLOAD if found.get("reason") == "overload" else m.REJECTED_STARTING
            )
            row[field] = value
        elif name in singles:
            row[singles[name]] += value
        elif name.endswith("_bucket") and name[: -len("_bucket")] in hists:
            index = le_index.get(found.get("le", ""))
            if index is not None:
                cumulative[hists[name[: -len("_bucket")]]][index] = value
        elif name.endswith("_sum") and name[: -len("_sum")] in hists:
            row[hists[name[: -len("_sum")]] + m.BUCKETS] = value
    for start, counts in cumulative.items():
        previous = 0.0
        for index, count in enumerate(counts):
            row[start + index] = count - previous
            previous = count
    return row


def _label_pairs(labels: str) -> list[tuple[str, str]]:
    pairs = []
    for part in labels.split('",'):
        key, _, raw = part.partition("=")
        if key:
            pairs.append((key.strip(), raw.strip('"')))
    return pairs


def started_at(text: str) -> float | None:
    """``process_start_time_seconds`` of a scrape body (None when absent)."""
    for line in text.splitlines():
        if line.startswith(START_TIME + " "):
            try:
                return float(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None
