"""Where and how run() executes: inline on the event loop when it is known to be fast, else on a runner thread.

Handing every call to another thread costs about 40% of the throughput of a fast model (two
thread wake-ups and GIL hand-offs per request), while running a slow call on the event loop
stalls every other connection. So, in ``auto`` mode (``DOCKYARD_RUN_INLINE``):

* Calls go to a **runner thread** until a streak of calls has each finished in under ``FAST_S``
  (2 ms); from then on they run **inline** on the event-loop thread, with no hand-off at all. Most
  recent calls over ``FAST_S``, two calls over ``HARD_S`` (50 ms) close together, or one over
  ``BLOCKER_S`` (0.5 s) send the following calls back to the runner, and the streak needed to
  return doubles (up to 10,000 calls). A lone slow call (the OS preempted the process, a GC
  pause) does not.
* Inline calls get at most ``BUDGET_S`` (40 ms) per event-loop iteration; past that, the next
  requests wait for the next iteration (after the loop has polled the sockets), so liveness probes
  and new requests are served within about 40 ms even when many connections send requests at once,
  and no time is left idle.
* The standalone server's runner is the process's **main thread** (the event loop runs in a thread
  of its own), so the scoring timeout works as in azmlinfsrv: ``SIGALRM`` raises ``TimeoutError``
  inside run(), interrupting even ``time.sleep()``; a run() that catches it answers normally, one
  that does not gets 500 "Scoring timeout after N ms". With several slots, the extra runner threads
  (and every runner of an embedded app) get the ``TimeoutError`` raised asynchronously
  (``PyThreadState_SetAsyncExc``), which takes effect at the next Python bytecode.
* Inline calls are watched by a thread that raises the same ``TimeoutError`` into the event-loop
  thread if one overruns the timeout.

What cannot be interrupted: a call blocked inside native code that does not return to Python
(a long C/CUDA kernel, a blocking read in an extension). If no answer has come ``GRACE_S`` after
the deadline, the client gets 500 "Scoring timeout after N ms" anyway, the call's result is
discarded when it finally returns, and its slot stays taken until then (so the limit on concurrent
calls still holds). An inline call that suddenly becomes slow blocks the event loop for its
duration (liveness answers late once); the calls after it run on the runner thread.

``mode="never"`` runs every call on the runner (main) thread, the thread that ran ``init()``, for
scripts whose libraries are bound to the thread that loaded the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from dockyard.server.logs import set_request_id

FAST_S = 0.002  # calls faster than this may run inline (the hand-off would cost > 2.5% of them)
HARD_S = (
    0.050  # two inline calls slower than this, close together, send the next ones to the runner
)
BLOCKER_S = 0.5  # one call slower than this does
BUDGET_S = 0.040  # inline run() time per event-loop iteration before further calls wait a turn
GRACE_S = 1.0
FIRST_STREAK = 8
MAX_STREAK = 10_000

_perf = time.perf_counter


class RunTimeout(Exception):
    """run() exceeded the scoring timeout; ``slot_kept`` when the call is still running."""

    def __init__(self, timeout_ms: int, elapsed_ms: float, slot_kept: bool = False) -> None:
        super().__init__(f"Scoring timeout after {timeout_ms} ms")
        self.timeout_ms = timeout_ms
        self.elapsed_ms = elapsed_ms
        self.slot_kept = slot_kept


class RunFailed(Exception):
    """run() raised; ``error`` is the exception, ``traceback_text`` its formatted traceback."""

    def __init__(self, error: BaseException, traceback_text: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.traceback_text = traceback_text


def _async_raise(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Raise ``exc_type`` in thread ``thread_id`` at its next bytecode (None: cancel a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc_type) if exc_type is not None else None
    )


def _format(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


class _Job:
    __slots__ = (
        "fn",
        "args",
        "kwargs",
        "rid",
        "future",
        "loop",
        "lock",
        "thread_id",
        "done",
        "fired",
        "abandoned",
        "on_late_done",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        rid: str | None,
        future: asyncio.Future[Any],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.fn, self.args, self.kwargs, self.rid = fn, args, kwargs, rid
        self.future, self.loop = future, loop
        self.lock = threading.Lock()
        self.thread_id = 0
        self.done = False
        self.fired = False
        self.abandoned = False
        self.on_late_done: Callable[[], None] | None = None

    def finish(self, outcome: tuple[Any, ...]) -> None:
        """Called on the event loop with the outcome of the call."""
        if self.abandoned:
            if self.on_late_done is not None:
                self.on_late_done()
            return
        if not self.future.done():
            self.future.set_result(outcome)

    def interrupt(self) -> None:
        """Deadline reached: raise TimeoutError into the thread running the job, once."""
        with self.lock:
            if self.thread_id and not self.done and not self.fired:
                self.fired = True
                _async_raise(self.thread_id, TimeoutError)


_OK, _TIMEOUT, _FAILED = 0, 1, 2


class Executor:
    """Runs run() calls inline or on runner threads, enforcing the scoring timeout."""

    def __init__(self, timeout_ms: int, mode: str = "auto", slots: int = 1) -> None:
        self.timeout_ms = timeout_ms
        self.timeout_s = timeout_ms / 1000.0
        self.mode = mode
        self.slots = slots
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._main_runner = False
        self._armed = False
        # inline bookkeeping (event-loop thread only)
        self._streak = 0
        self._needed = FIRST_STREAK
        self._slow = 0.0
        self._hard = 0.0
        self._used = 0.0
        self._reset_pending = False
        self.inline = mode == "always"
        if mode == "auto" and self.timeout_s < 10 * HARD_S:
            self.mode = "never"  # such short timeouts need the precise runner-thread timer
        self._loop_thread_id = 0
        self._watch_lock = threading.Lock()
        self._inline_start = 0.0
        self._fired = False
        self._watchdog: threading.Thread | None = None
        self._stopped = False

    # ----- runner threads -----
    def run_main_runner(self) -> None:
        """Serve run() calls on the calling thread (the main thread) until :meth:`stop`.

        Installs the ``SIGALRM`` handler that raises ``TimeoutError`` inside a running call.
        Starts ``slots - 1`` extra runner threads.
        """
        self._main_runner = True
        signal.signal(signal.SIGALRM, self._alarm)
        self._start_threads(self.slots - 1)
        self._runner_loop(use_alarm=True)

    def _alarm(self, signum: int, frame: Any) -> None:
        if self._armed:
            raise TimeoutError

    def _start_threads(self, count: int) -> None:
        for index in range(count):
            thread = threading.Thread(
                target=self._runner_loop,
                kwargs={"use_alarm": False},
                name=f"dockyard-runner-{index + 1}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def _ensure_runners(self) -> None:
        if not self._main_runner and not self._threads:
            self._start_threads(self.slots)

    def stop(self) -> None:
        """Make every runner loop return once the queued calls are done."""
        self._stopped = True
        for _ in range(self.slots + 1):
            self._queue.put(None)

    def _runner_loop(self, use_alarm: bool) -> None:
        while True:
            try:
                job = self._queue.get()
                if job is None:
                    return
                self._run_job(job, use_alarm)
            except TimeoutError:
                continue  # a timeout delivered after its call had already finished

    def _run_job(self, job: _Job, use_alarm: bool) -> None:
        tid = threading.get_ident()
        outcome: tuple[Any, ...] | None = None
        with job.lock:
            job.thread_id = tid
        set_request_id(job.rid)
        start = _perf()
        try:
            try:
                if use_alarm:
                    self._armed = True
                    signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
                value = job.fn(*job.args, **job.kwargs)
                elapsed = _perf() - start
                if use_alarm:
                    self._armed = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
                outcome = (_OK, value, elapsed)
            except TimeoutError:
                self._disarm(use_alarm)
                outcome = (_TIMEOUT, None, _perf() - start)
            except BaseException as exc:  # noqa: BLE001 - user code may raise anything
                self._disarm(use_alarm)
                outcome = (_FAILED, RunFailed(exc, _format(exc)), _perf() - start)
            with job.lock:
                job.done = True
                fired = job.fired
            if fired:
                _async_raise(tid, None)
        except TimeoutError:  # delivered between the call's end and the bookkeeping above
            self._disarm(use_alarm)
            with job.lock:
                job.done = True
            if outcome is None:
                outcome = (_TIMEOUT, None, _perf() - start)
        set_request_id(None)
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is shutting down
            job.loop.call_soon_threadsafe(job.finish, outcome)

    def _disarm(self, use_alarm: bool) -> None:
        if use_alarm:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    async def call_threaded(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        rid: str | None,
        release: Callable[[], None],
    ) -> tuple[Any, float]:
        """Run ``fn`` on a runner thread; returns ``(value, elapsed_ms)``.

        Raises :class:`RunTimeout` or :class:`RunFailed`. When the call cannot be interrupted,
        :class:`RunTimeout` has ``slot_kept=True`` and ``release`` is called once it returns.
        """
        self._ensure_runners()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        job = _Job(fn, args, kwargs, rid, future, loop)
        self._queue.put(job)
        timer = (
            None
            if self._main_runner and self.slots == 1
            else loop.call_later(self.timeout_s, self._interrupt, job)
        )
        try:
            outcome = await asyncio.wait_for(asyncio.shield(future), self.timeout_s + GRACE_S)
        except TimeoutError:
            job.abandoned = True
            job.on_late_done = release
            raise RunTimeout(
                self.timeout_ms, (self.timeout_s + GRACE_S) * 1000, slot_kept=True
            ) from None
        finally:
            if timer is not None:
                timer.cancel()
        return self._unpack(outcome, fn_thread=True)

    def _interrupt(self, job: _Job) -> None:
        if job.thread_id == threading.main_thread().ident and self._main_runner:
            return  # SIGALRM handles the main thread
        job.interrupt()

    def _unpack(self, outcome: tuple[Any, ...], fn_thread: bool) -> tuple[Any, float]:
        kind, value, elapsed = outcome
        self._observe(elapsed)
        if kind == _OK:
            return value, elapsed * 1000
        if kind == _TIMEOUT:
            raise RunTimeout(self.timeout_ms, elapsed * 1000)
        raise value

    # ----- inline -----
    def _observe(self, elapsed: float) -> None:
        """Decide from run() durations whether the next calls run inline.

        Wall-clock durations include the time the OS did not run this process, so single slow
        calls are not trusted: inline stops when most recent calls are slow (``_slow`` decays
        by 10% a call), when two calls over ``HARD_S`` come close together, or after one call
        over ``BLOCKER_S``.
        """
        if self.mode != "auto":
            return
        slow = elapsed >= FAST_S
        self._slow = self._slow * 0.9 + (1.0 if slow else 0.0)
        self._hard = self._hard * 0.75 + (1.0 if elapsed >= HARD_S else 0.0)
        if self._slow > 5.0 or self._hard >= 1.5 or elapsed >= BLOCKER_S:
            self._streak = 0
            if self.inline:
                self.inline = False
                self._needed = min(MAX_STREAK, self._needed * 2)
        elif not slow:
            self._streak += 1
            if self._streak >= self._needed and not self.inline and self._slow < 1.0:
                self.inline = True
                self._start_watchdog()

    def over_budget(self) -> bool:
        """True when inline calls have used this loop iteration's budget: wait a turn first."""
        return self._used > BUDGET_S

    def _reset_budget(self) -> None:
        self._used = 0.0
        self._reset_pending = False

    def _start_watchdog(self) -> None:
        if self._watchdog is None:
            self._loop_thread_id = threading.get_ident()
            self._watchdog = threading.Thread(
                target=self._watch, name="dockyard-timeout-watchdog", daemon=True
            )
            self._watchdog.start()

    def _watch(self) -> None:
        interval = min(0.1, self.timeout_s / 10)
        while not self._stopped:
            time.sleep(interval)
            start = self._inline_start
            if start and _perf() - start > self.timeout_s:
                with self._watch_lock:
                    if self._inline_start == start and not self._fired:
                        self._fired = True
                        _async_raise(self._loop_thread_id, TimeoutError)

    def call_inline(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], rid: str | None
    ) -> tuple[Any, float]:
        """Run ``fn`` on this (event-loop) thread; same results and errors as :meth:`call_threaded`."""
        if self._watchdog is None:
            self._start_watchdog()
        set_request_id(rid)
        start = _perf()
        elapsed = 0.0
        try:
            try:
                self._inline_start = start
                value = fn(*args, **kwargs)
                elapsed = _perf() - start
                kind = _OK
            except TimeoutError:
                elapsed, kind, value = _perf() - start, _TIMEOUT, None
            except BaseException as exc:  # noqa: BLE001 - user code may raise anything
                elapsed, kind, value = _perf() - start, _FAILED, RunFailed(exc, _format(exc))
            self._used += elapsed
            if not self._reset_pending:
                # runs in the next loop iteration, before the requests that wait their turn
                self._reset_pending = True
                asyncio.get_running_loop().call_soon(self._reset_budget)
            with self._watch_lock:
                self._inline_start = 0.0
                fired, self._fired = self._fired, False
            if fired:
                _async_raise(self._loop_thread_id, None)
        except TimeoutError:  # the watchdog fired just as the call returned
            with self._watch_lock:
                self._inline_start = 0.0
                self._fired = False
            elapsed, kind, value = _perf() - start, _TIMEOUT, None
        finally:
            set_request_id(None)
        return self._unpack((kind, value, elapsed), fn_thread=False)
