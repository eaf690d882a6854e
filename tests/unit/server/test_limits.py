"""The concurrency gate and the executor's timeouts, in-process."""

from __future__ import annotations

import asyncio
import time

import pytest

from dockyard.server.executor import Executor, RunFailed, RunTimeout
from dockyard.server.limits import ConcurrencyGate, Overloaded


def test_gate_bounds_and_hands_over_in_order() -> None:
    async def scenario() -> list[str]:
        gate = ConcurrencyGate(1, 200)
        order: list[str] = []
        assert gate.try_acquire()

        async def waiter(name: str) -> None:
            try:
                await gate.acquire()
                order.append(name)
                gate.release()
            except Overloaded as exc:
                order.append(f"{name}:503:{exc.retry_after}")

        tasks = [asyncio.create_task(waiter(n)) for n in "ab"]
        await asyncio.sleep(0.05)
        gate.release()
        await asyncio.gather(*tasks)
        late = asyncio.create_task(waiter("c"))
        assert gate.try_acquire()
        await late
        return order

    assert asyncio.run(scenario()) == ["a", "b", "c:503:1"]


def test_executor_thread_timeout_and_failure() -> None:
    async def scenario() -> None:
        executor = Executor(300, "never", 1)
        released: list[bool] = []

        def spin() -> None:
            end = time.monotonic() + 5
            while time.monotonic() < end:
                pass

        started = time.monotonic()
        with pytest.raises(RunTimeout) as info:
            await executor.call_threaded(spin, (), {}, "r1", lambda: released.append(True))
        assert time.monotonic() - started < 1.5 and not info.value.slot_kept

        def boom() -> None:
            raise ValueError("x")

        with pytest.raises(RunFailed) as failed:
            await executor.call_threaded(boom, (), {}, "r2", lambda: None)
        assert "ValueError: x" in failed.value.traceback_text
        value, elapsed_ms = await executor.call_threaded(
            lambda d: d * 2, (21,), {}, "r3", lambda: None
        )
        assert value == 42 and elapsed_ms >= 0
        executor.stop()

    asyncio.run(scenario())


def test_executor_goes_inline_for_fast_calls() -> None:
    async def scenario() -> None:
        executor = Executor(60_000, "auto", 1)
        for _ in range(20):
            if executor.inline:
                break
            await executor.call_threaded(lambda: 1, (), {}, None, lambda: None)
        assert executor.inline
        assert executor.call_inline(lambda: 2, (), {}, None)[0] == 2
        executor.stop()

    asyncio.run(scenario())
