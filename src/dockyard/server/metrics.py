"""The scoring server's metrics: plain counters in shared memory, one row per worker, summed when read.

Each worker process records into its own row of a :class:`Board` (a ``memoryview`` of doubles
over an anonymous shared ``mmap``): a request costs a few float additions and one ``bisect`` per
histogram, with no lock and no system call (each row has one writer, the worker's event-loop
thread). The parent of several workers (:mod:`dockyard.server.worker_pool`) creates the board
before it forks, so every worker sees every row: whichever worker answers ``GET /metrics`` sums
the rows (:mod:`dockyard.server.metrics_text`), and a worker that replaces a dead one continues
its row (counters never go backwards while the server runs). The last row belongs to the parent
(worker restarts, 503s it answered while no worker was ready).

Why not ``prometheus_client``: its multi-process mode writes every observation to a memory-mapped
file per process and merges the files on each scrape, costing several microseconds per request
on the measured ``/score`` path; these rows cost well under one (see benchmarks/README.md,
"Metrics overhead"). The text format is small enough to write by hand.

Settings (read here, from the environment): ``DOCKYARD_METRICS=0`` turns metrics off (nothing is
counted, ``/metrics`` answers 404); ``DOCKYARD_METRICS_HISTORY`` names the ring file that worker 0
samples into (:mod:`dockyard.server.metrics_history`); ``DOCKYARD_METRICS_INTERVAL_S`` its period.
"""

from __future__ import annotations

import mmap
import os
import time
from bisect import bisect_left
from collections.abc import Mapping

from dockyard.server import contract

#: ``0``/``false``/``off`` turns metrics off.
METRICS_ENV = contract.METRICS_ENV
#: A file path: worker 0 appends a sample of the totals to this ring file every interval.
HISTORY_ENV = contract.METRICS_HISTORY_ENV
#: Seconds between two history samples (default 10).
INTERVAL_ENV = contract.METRICS_INTERVAL_ENV

#: The ``route`` label of each counted path; anything else is ``other`` (404s, odd paths).
ROUTES = ("/score", "/swagger.json", "/", "/health/live", "/health/ready", "/metrics", "other")
ROUTE_INDEX = {path: index for index, path in enumerate(ROUTES[:-1])}
OTHER_ROUTE = len(ROUTES) - 1
SCORE_ROUTE = 0
#: The ``code`` label: status classes.
CLASSES = ("2xx", "3xx", "4xx", "5xx")
#: Histogram bucket upper bounds in seconds (``le``); one more bucket is ``+Inf``.
BOUNDS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
BUCKETS = len(BOUNDS) + 1

# ----- the layout of one row (offsets into a row of doubles) -----
REQUESTS = 0  # len(ROUTES) * len(CLASSES) counters: route-major
SCORE_503 = REQUESTS + len(ROUTES) * len(CLASSES)  # /score answers with status 503
IN_FLIGHT = SCORE_503 + 1
REQUEST_HIST = IN_FLIGHT + 1  # BUCKETS counts, then the sum (seconds)
RUN_HIST = REQUEST_HIST + BUCKETS + 1
WAIT_HIST = RUN_HIST + BUCKETS + 1
REJECTED_OVERLOAD = WAIT_HIST + BUCKETS + 1
REJECTED_STARTING = REJECTED_OVERLOAD + 1
TIMEOUTS = REJECTED_STARTING + 1
RUN_FAILURES = TIMEOUTS + 1
INIT_SECONDS = RUN_FAILURES + 1  # the last init() of this row's worker (gauge)
INIT_COUNT = INIT_SECONDS + 1  # how many init() calls this row's workers made
RESTARTS = INIT_COUNT + 1  # workers replaced after dying (parent row)
ROW = RESTARTS + 1


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """False when ``DOCKYARD_METRICS`` turns metrics off."""
    value = (os.environ if env is None else env).get(METRICS_ENV, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


class Board:
    """``rows`` rows of counters in memory shared with the processes forked after it was made."""

    def __init__(self, rows: int) -> None:
        if rows < 1:
            raise ValueError("a metrics board needs at least one row")
        self.rows = rows
        #: When the server started counting (epoch s): ``process_start_time_seconds``.
        self.started = time.time()
        self._memory = mmap.mmap(-1, rows * ROW * 8)  # anonymous and shared (MAP_SHARED)
        self.values: memoryview[float] = memoryview(self._memory).cast("d")

    def row(self, index: int) -> memoryview[float]:
        """The counters of row ``index`` (a writable view)."""
        if not 0 <= index < self.rows:
            raise IndexError(f"metrics row {index} is not on a board of {self.rows} rows")
        return self.values[index * ROW : (index + 1) * ROW]

    def totals(self) -> list[float]:
        """Every field summed over the rows (a consistent enough snapshot: no row is locked)."""
        values: list[float] = self.values.tolist()  # type: ignore[assignment]
        total = values[:ROW]
        for start in range(ROW, len(values), ROW):
            for offset, value in enumerate(values[start : start + ROW]):
                total[offset] += value
        return total

    def field(self, offset: int) -> list[float]:
        """One field of every row."""
        return [self.values[index * ROW + offset] for index in range(self.rows)]


class Metrics:
    """One worker's recorder: writes only its own row of ``board`` (from the event-loop thread,
    except :meth:`init_done`, which the loading thread writes before serving)."""

    __slots__ = ("board", "index", "v")

    def __init__(self, board: Board | None = None, index: int = 0) -> None:
        self.board = board if board is not None else Board(1)
        self.index = index
        self.v = self.board.row(index)

    def request(self, path: str, status: int, seconds: float) -> None:
        """One answered request: its route and status class; on ``/score`` also its duration."""
        route = ROUTE_INDEX.get(path, OTHER_ROUTE)
        cls = status // 100 - 2
        v = self.v
        v[route * 4 + (cls if cls >= 0 else 0)] += 1  # 1xx counts as 2xx
        if route == SCORE_ROUTE:
            bucket = REQUEST_HIST + bisect_left(BOUNDS, seconds)
            v[bucket] += 1
            v[REQUEST_HIST + BUCKETS] += seconds
            if status == 503:
                v[SCORE_503] += 1

    def run(self, seconds: float) -> None:
        """A run() call that returned, and how long it took."""
        v = self.v
        v[RUN_HIST + bisect_left(BOUNDS, seconds)] += 1
        v[RUN_HIST + BUCKETS] += seconds

    def waited(self, seconds: float) -> None:
        """A request that queued for a run() slot (got one, or a 503), and how long."""
        v = self.v
        v[WAIT_HIST + bisect_left(BOUNDS, seconds)] += 1
        v[WAIT_HIST + BUCKETS] += seconds

    def rejected(self, reason: str, count: int = 1) -> None:
        """503 rejections: ``overload`` (no slot in time) or ``starting`` (init() not done)."""
        self.v[REJECTED_OVERLOAD if reason == "overload" else REJECTED_STARTING] += count

    def timed_out(self) -> None:
        self.v[TIMEOUTS] += 1

    def run_failed(self) -> None:
        self.v[RUN_FAILURES] += 1

    def init_done(self, seconds: float) -> None:
        self.v[INIT_SECONDS] = seconds
        self.v[INIT_COUNT] += 1

    def restarted(self) -> None:
        """A worker was replaced (recorded by the parent, in its own row)."""
        self.v[RESTARTS] += 1


def reset_in_flight(board: Board, index: int) -> None:
    """Zero the in-flight gauge of a dead worker's row (its requests ended with it)."""
    board.row(index)[IN_FLIGHT] = 0.0


def quantile(buckets: list[float], q: float) -> float | None:
    """The ``q`` quantile (seconds) of non-cumulative bucket counts, interpolated within a bucket
    as Prometheus' ``histogram_quantile`` does; None when the histogram is empty."""
    total = sum(buckets)
    if total <= 0:
        return None
    rank = q * total
    seen = 0.0
    for index, count in enumerate(buckets):
        if count > 0 and seen + count >= rank:
            if index >= len(BOUNDS):  # the +Inf bucket: the highest finite bound
                return BOUNDS[-1]
            lower = BOUNDS[index - 1] if index > 0 else 0.0
            upper = BOUNDS[index]
            return lower + (upper - lower) * max(0.0, rank - seen) / count
        seen += count
    return BOUNDS[-1]
