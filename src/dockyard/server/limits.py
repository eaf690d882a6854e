"""Overload protection: at most N run() calls at once, a bounded wait for a slot, then 503.

:class:`ConcurrencyGate` is the per-process slot counter (``max_concurrent_requests``). A request
that finds a free slot and nobody waiting takes it without awaiting anything (the hot path costs
two attribute updates). Otherwise it queues, first come first served, for at most
``max_request_wait_time_ms``; past that it gets :class:`Overloaded` and the app answers 503 with
an integer ``Retry-After``. Slots are handed over directly to the next waiter on release, so a
burst cannot starve early arrivals.

A slot is held until the run() call has really finished: a call that timed out but cannot be
interrupted (blocked in native code) keeps its slot, so the limit on concurrent calls holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque


class Overloaded(Exception):
    """No slot became free within the wait limit; ``retry_after`` is a whole number of seconds."""

    def __init__(self, retry_after: int, waited_ms: float) -> None:
        super().__init__(f"no free slot after {waited_ms:.0f} ms")
        self.retry_after = retry_after


class ConcurrencyGate:
    """A fair semaphore with a bounded wait."""

    def __init__(self, slots: int, max_wait_ms: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.max_wait_s = max_wait_ms / 1000.0
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.avg_run_s = 0.0  # moving average of run() time, for Retry-After

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody is queued (never waits)."""
        if self.active < self.slots and not self._waiters:
            self.active += 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a slot for at most the wait limit; raises :class:`Overloaded`."""
        if self.active < self.slots and not self._waiters:
            self.active += 1
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        if self.max_wait_s <= 0:
            raise Overloaded(self.retry_after(), 0.0)
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append(future)
        handle = loop.call_later(self.max_wait_s, _expire, future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed to us just as we were cancelled
            raise
        except _Expired:
            raise Overloaded(self.retry_after(), (loop.time() - start) * 1000) from None
        finally:
            handle.cancel()
            if not future.done():
                future.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(future)

    def release(self) -> None:
        """Give the slot to the oldest waiter, or free it."""
        waiters = self._waiters
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(None)  # the slot passes on; ``active`` is unchanged
                return
        self.active -= 1

    def record(self, seconds: float) -> None:
        """Feed a run() duration into the average used for ``Retry-After``."""
        self.avg_run_s = seconds if self.avg_run_s == 0.0 else 0.9 * self.avg_run_s + 0.1 * seconds

    def retry_after(self) -> int:
        """Seconds until the queue ahead has likely drained (at least 1)."""
        estimate = self.avg_run_s * (len(self._waiters) + self.active) / self.slots
        return max(1, min(3600, math.ceil(estimate)))


class _Expired(Exception):
    pass


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(_Expired())
