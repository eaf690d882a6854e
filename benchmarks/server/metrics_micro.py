"""The per-request cost of counting, in-process: dockyard's rows vs prometheus_client.

    .venv/bin/python benchmarks/server/metrics_micro.py

What one ``/score`` request records (in flight up and down, the request by route and status
with its duration, run()'s duration), timed with ``timeit`` (best of several repeats, so other
load on the machine inflates it little), for:

* dockyard: :class:`dockyard.server.metrics.Metrics` on a shared board (what the server does);
* prometheus_client, single process (counters in process memory: wrong with several workers);
* prometheus_client multi-process mode (``PROMETHEUS_MULTIPROC_DIR``: the usual way to count
  across forked workers: every value lives in a memory-mapped file per process).

prometheus_client is not a dependency of dockyard; it is in the venv because Ray needs it. Prints
one line per variant (microseconds per request).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import timeit

REPEAT, NUMBER = 7, 20_000

DOCKYARD = """
from dockyard.server.metrics import Board, Metrics, IN_FLIGHT
m = Metrics(Board(3), 0)
row = m.v
def one():
    row[IN_FLIGHT] += 1
    m.run(0.00031)
    m.request("/score", 200, 0.00042)
    row[IN_FLIGHT] -= 1
"""

PROMETHEUS = """
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
reg = CollectorRegistry()  # a fresh one per timeit repeat
BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
          1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
requests = Counter("http_requests_total", "x", ["route", "code"], registry=reg)
duration = Histogram(
    "http_request_duration_seconds", "x", ["route"], buckets=BOUNDS, registry=reg
)
run = Histogram("run_duration_seconds", "x", buckets=BOUNDS, registry=reg)
kw = {"multiprocess_mode": "livesum"} if MULTI else {}
in_flight = Gauge("http_requests_in_flight", "x", registry=reg, **kw)
def one():
    in_flight.inc()
    run.observe(0.00031)
    requests.labels("/score", "2xx").inc()
    duration.labels("/score").observe(0.00042)
    in_flight.dec()
"""


def time_it(setup: str) -> float:
    best = min(timeit.repeat("one()", setup=setup, repeat=REPEAT, number=NUMBER))
    return best / NUMBER * 1e6


def main() -> None:
    if len(sys.argv) > 1:  # a child: one variant in a fresh interpreter
        variant = sys.argv[1]
        if variant == "dockyard":
            print(f"{time_it(DOCKYARD):.3f}")
        else:
            multi = variant == "prometheus-multiprocess"
            print(f"{time_it(f'MULTI = {multi}' + PROMETHEUS):.3f}")
        return
    for variant, env in (
        ("dockyard", {}),
        ("prometheus-single", {}),
        ("prometheus-multiprocess", {"PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp()}),
    ):
        out = subprocess.run(
            [sys.executable, __file__, variant],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=True,
        )
        print(f"{variant:26s} {out.stdout.strip()} us per request")


if __name__ == "__main__":
    main()
