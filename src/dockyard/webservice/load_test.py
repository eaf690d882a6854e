"""A bounded load test against one scoring URI: what :func:`dockyard.webservice.measure_capacity`
measures with.

``concurrency`` threads share one HTTP client and send the same body back to back until
``duration_s`` has passed or ``max_requests`` have been sent, whichever comes first; a request
still running at the deadline is waited for (at most ``request_timeout_s``), so the whole test
lasts at most ``duration_s + request_timeout_s``. Every answer is kept as a :class:`Sample`:
its status, the seconds it took as the client saw it, and the server's own run() time
(``x-ms-run-fn-exec-ms``) when the answer carries it. Latencies and throughput count 200 answers
only; 503 answers (no free slot in time) are counted apart from the other errors.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: Threads at most, whatever concurrency is asked for: a load test, not a denial of service.
MAX_CONCURRENCY = 64
#: The header the scoring server puts its run() time in (milliseconds).
RUN_TIME_HEADER = "x-ms-run-fn-exec-ms"


@dataclass(frozen=True)
class Sample:
    """One request: ``status`` (an HTTP status, or ``timeout`` / ``connection``), the seconds
    it took as the client saw it, and the server's run() seconds when it said them."""

    status: int | str
    seconds: float
    run_seconds: float | None = None


@dataclass
class LoadResult:
    """What a load test saw: every sample and how long the test ran."""

    samples: list[Sample] = field(default_factory=list)
    elapsed_s: float = 0.0
    concurrency: int = 1

    @property
    def sent(self) -> int:
        return len(self.samples)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def rejected_503(self) -> int:
        return sum(1 for s in self.samples if s.status == 503)

    @property
    def errors(self) -> dict[str, int]:
        """Failed requests by status (503 aside: :attr:`rejected_503`), e.g. ``{"500": 3}``."""
        counts = Counter(str(s.status) for s in self.samples if s.status not in (200, 503))
        return dict(sorted(counts.items()))

    @property
    def throughput_rps(self) -> float:
        """Answers of 200 per second of the test."""
        return len(self.ok) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency(self, percent: float) -> float | None:
        """The ``percent`` percentile (nearest rank) of the 200 answers' seconds."""
        return percentile([s.seconds for s in self.ok], percent)

    @property
    def mean_seconds(self) -> float | None:
        ok = self.ok
        return sum(s.seconds for s in ok) / len(ok) if ok else None

    @property
    def mean_run_seconds(self) -> float | None:
        """The server's own mean run() time of the 200 answers, when it said it."""
        runs = [s.run_seconds for s in self.ok if s.run_seconds is not None]
        return sum(runs) / len(runs) if runs else None


def percentile(values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile: the smallest value with ``percent`` % of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def send_one(client: Any, uri: str, body: bytes, headers: dict[str, str]) -> tuple[Sample, Any]:
    """One POST; returns its sample and the response (None when none came)."""
    import httpx  # lazy: importing dockyard.webservice stays light

    started = time.perf_counter()
    try:
        response = client.post(uri, content=body, headers=headers)
    except httpx.TimeoutException:
        return Sample("timeout", time.perf_counter() - started), None
    except httpx.HTTPError:
        return Sample("connection", time.perf_counter() - started), None
    seconds = time.perf_counter() - started
    run_ms = response.headers.get(RUN_TIME_HEADER)
    try:
        run_seconds = float(run_ms) / 1000 if run_ms is not None else None
    except ValueError:
        run_seconds = None
    return Sample(response.status_code, seconds, run_seconds), response


def run_load(
    client: Any,
    uri: str,
    body: bytes,
    headers: dict[str, str],
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> LoadResult:
    """Send ``body`` to ``uri`` from ``concurrency`` threads until ``duration_s`` has passed or
    ``max_requests`` were sent; the client's timeout bounds each request."""
    concurrency = max(1, min(concurrency, MAX_CONCURRENCY, max_requests))
    lock = threading.Lock()
    samples: list[Sample] = []
    budget = [max_requests]
    deadline = time.monotonic() + duration_s

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            sample, _ = send_one(client, uri, body, headers)
            with lock:
                samples.append(sample)

    threads = [
        threading.Thread(target=worker, name=f"dockyard-load-{i}", daemon=True)
        for i in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(samples, time.perf_counter() - started, concurrency)
