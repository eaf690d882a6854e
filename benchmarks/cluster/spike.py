"""Spike benchmark: a cluster service under a steady low rate, a 10x step for a fixed time, then
the low rate again; replicas over time, the time from the step to the first added replica, the 503
rate during the spike and the time back to the minimum, at autoscale_target_utilization 70 and 30.

    .venv/bin/python benchmarks/cluster/spike.py               # 2 runs per utilisation (~9 min)
    .venv/bin/python benchmarks/cluster/spike.py --quick       # 1 short run each, a smoke test
    .venv/bin/python benchmarks/cluster/spike.py --address 127.0.0.1:PORT --serve-port P

Services: score.py whose run() sleeps 50 ms, ``AksWebservice.deploy_configuration(
replica_max_concurrent_requests=1, autoscale_min_replicas=1, autoscale_max_replicas=4,
autoscale_target_utilization=U, autoscale_downscale_delay_seconds=10, cpu_cores=0.1,
memory_gb=0.1, auth_enabled=False)`` (max_request_wait_time: Azure's default, 500 ms), one service
per utilisation, both deployed before the runs, runs interleaved (70, 30, 70, 30 ...).

Load: open loop (asyncio + httpx), requests sent at fixed, evenly spaced times whatever the
answers (so a 503 or a slow answer never slows the sender): ``--low`` req/s for ``--low-s``
(longer, up to ``--low-max-s``, until the service has been at 1 replica for 2 s: the step is taken
from the minimum, and the scale-ups the low rate caused are counted), then ``--factor`` x that for
``--spike-s``, then ``--low`` again for ``--tail-s``; every request has a 30 s time limit.
Replicas: the Ray dashboard's ``/api/serve/applications/`` every ``--poll-s`` (STARTING counts as
rising; RUNNING is also reported). Before each run the service is back at its minimum (waited
for, at most 120 s).

Without ``--address`` the benchmark starts its own local cluster (2 CPUs) and stops it by its
PIDs at the end. ``--worker-niceness N`` starts that cluster with ``RAY_worker_niceness=N`` (Ray's
default: 15); the cluster runs without PYTHONDONTWRITEBYTECODE unless ``--keep-dontwritebytecode``
(benchmarks/cluster/common.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import time
from collections import Counter
from typing import Any

import common
import httpx

MIN_REPLICAS, MAX_REPLICAS = 1, 4
DOWNSCALE_DELAY_S = 10
REQUEST_TIMEOUT_S = 30.0
ACTIVE = ("STARTING", "RUNNING", "UPDATING", "RECOVERING")


class Schedule:
    """Open-loop arrival times: ``low`` req/s for at least ``low_s`` (longer, up to
    ``low_max_s``, until the service is at its minimum: a step is measured from 1 replica), then
    ``low * factor`` for ``spike_s``, then ``low`` for ``tail_s``. Evenly spaced in each phase."""

    def __init__(self, args: argparse.Namespace, base: float) -> None:
        self.args, self.base = args, base
        self.step: float | None = None
        self.waited_for_minimum = False

    def next(self, now_at: float, at_minimum: bool) -> tuple[float, str] | None:
        """The arrival after ``now_at`` and its phase (None: the run is over)."""
        a = self.args
        if self.step is None:
            at = now_at + 1 / a.low
            if at - self.base < a.low_s:
                return at, "low"
            if at_minimum or at - self.base >= a.low_max_s:
                self.step = at
                self.waited_for_minimum = not at_minimum
                return at, "spike"
            return at, "low"
        if now_at + 1 / (a.low * a.factor) < self.step + a.spike_s:
            return now_at + 1 / (a.low * a.factor), "spike"
        at = max(now_at + 1 / a.low, self.step + a.spike_s)
        return (at, "tail") if at < self.step + a.spike_s + a.tail_s else None


async def send(http: httpx.AsyncClient, uri: str, at: float, phase: str, out: list) -> None:
    sent = time.monotonic()
    record: dict[str, Any] = {"phase": phase, "at": at, "late": sent - at}
    try:
        answer = await http.post(uri, json={"x": 1})
        record["status"] = answer.status_code
        if answer.status_code == 503:
            record["retry_after"] = answer.headers.get("retry-after")
            record["body"] = answer.text[:70]
    except httpx.HTTPError as exc:
        record["status"] = type(exc).__name__
    record["latency"] = time.monotonic() - sent
    out.append(record)


async def poll(dashboard: str, app: str, every: float, until: float, out: list) -> None:
    while time.monotonic() < until:
        asked = time.monotonic()
        try:
            view = await asyncio.to_thread(common.replicas, dashboard, app, httpx)
        except (httpx.HTTPError, ValueError):
            view = None
        if view is not None:
            out.append({"t": time.monotonic(), "asked": asked, **view})
        await asyncio.sleep(max(0.0, every - (time.monotonic() - asked)))


def active(view: dict) -> int:
    return sum(view["states"].get(s, 0) for s in ACTIVE)


def at_minimum(views: list) -> bool:
    """The last 2 s of views show the minimum (and no other replica starting or stopping)."""
    recent = [v for v in views if v["t"] > time.monotonic() - 2]
    return bool(recent) and all(
        v["target"] == MIN_REPLICAS and sum(v["states"].values()) == MIN_REPLICAS for v in recent
    )


async def one_run(uri: str, dashboard: str, app: str, args: argparse.Namespace) -> dict:
    requests: list[dict] = []
    views: list[dict] = []
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    longest = args.low_max_s + args.spike_s + args.tail_s
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as http:
        base = time.monotonic() + 0.5
        plan = Schedule(args, base)
        poller = asyncio.create_task(poll(dashboard, app, args.poll_s, base + longest, views))
        tasks = []
        arrival = plan.next(base - 1 / args.low, False)
        while arrival is not None:
            at, phase = arrival
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            tasks.append(asyncio.create_task(send(http, uri, at, phase, requests)))
            arrival = plan.next(at, at_minimum(views))
        await asyncio.gather(*tasks)
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
    assert plan.step is not None
    return summarize(base, plan, requests, views, args)


def rises(views: list) -> int:
    """How many times the target replica count went up."""
    return sum(
        1 for a, b in zip(views, views[1:], strict=False) if (b["target"] or 0) > (a["target"] or 0)
    )


def summarize(
    base: float, plan: Schedule, requests: list, views: list, args: argparse.Namespace
) -> dict:
    assert plan.step is not None
    step, step_end = plan.step, plan.step + args.spike_s

    def first(after: float, test: Any) -> float | None:
        for view in views:
            if view["t"] >= after and test(view):
                return round(view["t"] - after, 2)
        return None

    timeline = [
        {"t": round(v["t"] - step, 2), "target": v["target"], "states": v["states"]} for v in views
    ]
    phases: dict[str, Any] = {}
    for phase in ("low", "spike", "tail"):
        mine = [r for r in requests if r["phase"] == phase]
        ok = [r["latency"] * 1000 for r in mine if r["status"] == 200]
        codes = Counter(str(r["status"]) for r in mine)
        phases[phase] = {
            "sent": len(mine),
            "codes": dict(codes),
            "rate_503": codes.get("503", 0) / len(mine) if mine else None,
            "p50_ms": common.percentile(ok, 50),
            "p99_ms": common.percentile(ok, 99),
            "retry_after": dict(Counter(str(r.get("retry_after")) for r in mine if "body" in r)),
            # answered 200 after waiting longer than max_request_wait_time (500 ms) + run() (50 ms)
            "ok_over_600ms": sum(1 for x in ok if x > 600),
            "bodies_503": dict(Counter(r["body"] for r in mine if "body" in r)),
        }
    at_step = [v for v in views if v["t"] <= step]
    base_count = max(active(at_step[-1]), at_step[-1]["target"] or 0) if at_step else MIN_REPLICAS
    back = next((v["t"] for v in views if v["t"] >= step_end and active(v) == MIN_REPLICAS), None)
    return {
        "low_phase_s": round(step - base, 2),
        "stepped_without_minimum": plan.waited_for_minimum,
        "replicas_at_step": active(at_step[-1]) if at_step else None,
        "rises_before_step": rises(at_step),
        "rises_after_back_to_min": rises([v for v in views if back and v["t"] >= back]),
        # from the count at the step (1 unless the low rate had scaled the service up already)
        "target_up_s": first(step, lambda v: (v["target"] or 0) > base_count),
        "rising_s": first(step, lambda v: active(v) > base_count),
        "running_added_s": first(step, lambda v: v["states"].get("RUNNING", 0) > base_count),
        "max_replicas": max((active(v) for v in views if v["t"] >= step), default=None),
        "back_to_min_s": first(
            step_end, lambda v: active(v) == MIN_REPLICAS and v["target"] == MIN_REPLICAS
        ),
        "all_stopped_s": first(step_end, lambda v: sum(v["states"].values()) == MIN_REPLICAS),
        "phases": phases,
        "send_late_p99_ms": common.percentile([r["late"] * 1000 for r in requests], 99),
        "poll_interval_median_s": statistics.median(
            [b["t"] - a["t"] for a, b in zip(views, views[1:], strict=False)] or [0.0]
        ),
        "timeline": timeline,
        # every request: [sent at (s from the step), phase, status, latency ms]
        "requests": [
            [round(r["at"] - step, 3), r["phase"], r["status"], round(r["latency"] * 1000, 1)]
            for r in sorted(requests, key=lambda r: r["at"])
        ],
    }


def wait_for_minimum(dashboard: str, app: str, limit_s: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        view = common.replicas(dashboard, app, httpx)
        if view and view["target"] == MIN_REPLICAS and sum(view["states"].values()) == MIN_REPLICAS:
            return time.monotonic() - started
        time.sleep(1)
    raise RuntimeError(f"{app} did not come back to {MIN_REPLICAS} replica(s) in {limit_s:g} s")


def median_of(runs: list[dict], key: str, digits: int) -> str:
    """Median over the runs; a run where it never happened is counted as "never"."""
    values = [r[key] for r in runs if r[key] is not None]
    never = len(runs) - len(values)
    text = common.fmt(statistics.median(values), digits, " s") if values else "-"
    return text + (f" ({never} of {len(runs)} never)" if never else "")


def report(runs: list[dict], utilizations: list[int]) -> str:
    rows = []
    for run in runs:
        s, spike = run, run["phases"]["spike"]
        rows.append(
            [
                f"{run['utilization']}%",
                str(run["run"]),
                f"{s['low_phase_s']:.0f} s, {s['rises_before_step']}",
                str(s["replicas_at_step"]),
                common.fmt(s["target_up_s"], 2, " s"),
                common.fmt(s["rising_s"], 2, " s"),
                common.fmt(s["running_added_s"], 2, " s"),
                str(s["max_replicas"]),
                f"{spike['codes'].get('503', 0)}/{spike['sent']} "
                f"({100 * (spike['rate_503'] or 0):.1f}%)",
                str(spike["ok_over_600ms"]),
                f"{common.fmt(spike['p50_ms'], 0)} / {common.fmt(spike['p99_ms'], 0)}",
                common.fmt(s["back_to_min_s"], 1, " s"),
            ]
        )
    lines = [
        common.table(
            [
                "utilisation",
                "run",
                "low phase, scale-ups in it",
                "replicas at step",
                "step -> target up (above the count at the step)",
                "step -> added replica (STARTING)",
                "step -> added replica RUNNING",
                "max replicas",
                "503 during spike",
                "200s after > 600 ms",
                "spike p50 / p99 ms (200s)",
                "spike end -> back to 1",
            ],
            rows,
        ),
        "",
    ]
    summary = []
    for u in utilizations:
        mine = [r for r in runs if r["utilization"] == u]
        clean = [r for r in mine if r["replicas_at_step"] == MIN_REPLICAS]

        def rate(some: list[dict]) -> str:
            if not some:
                return "-"
            return f"{100 * statistics.median(r['phases']['spike']['rate_503'] for r in some):.1f}%"

        summary.append(
            [
                f"{u}%",
                f"{len(mine)} ({len(clean)})",
                median_of(clean, "rising_s", 2) if clean else "-",
                median_of(clean, "running_added_s", 2) if clean else "-",
                rate(clean),
                rate(mine),
                median_of(mine, "back_to_min_s", 1),
                str(sum(r["rises_before_step"] for r in mine)),
            ]
        )
    lines.append(
        common.table(
            [
                "utilisation",
                "runs (from 1 replica)",
                "step -> rising, median of runs from 1",
                "step -> RUNNING, runs from 1",
                "503 rate, runs from 1",
                "503 rate, all runs",
                "spike end -> back to 1, all runs",
                "scale-ups at the low rate, all runs",
            ],
            summary,
        )
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per utilisation")
    parser.add_argument("--low", type=float, default=2.0, help="low rate, req/s")
    parser.add_argument(
        "--refresh-s", type=float, help="autoscale_refresh_seconds (default: Azure's, 1)"
    )
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--low-s", type=float, default=10.0)
    parser.add_argument("--low-max-s", type=float, default=40.0)
    parser.add_argument("--spike-s", type=float, default=20.0)
    parser.add_argument("--tail-s", type=float, default=60.0)
    parser.add_argument("--poll-s", type=float, default=0.25)
    parser.add_argument("--utilizations", default="70,30")
    common.cluster_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="1 run each, 5+10+30 s")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.low_s, args.low_max_s, args.spike_s, args.tail_s = 1, 5, 20, 10, 30
    utilizations = [int(u) for u in args.utilizations.split(",")]
    cluster_env = common.cluster_environment(args)
    work = common.private_home()
    started, clock, before = dt.datetime.now(dt.UTC), time.monotonic(), common.machine()
    from dockyard import AksWebservice, Workspace  # reason: after private_home()

    runs: list[dict] = []
    try:
        with common.cluster(work, args.address, args.serve_port, cpus=2) as found:
            ws = Workspace.create("cluster-spike", path=str(work / "ws"), show_output=False)
            target = common.attach(ws, "spike-ray", found)
            model = common.placeholder_model(ws, work)
            services = {}
            for u in utilizations:
                config = AksWebservice.deploy_configuration(
                    replica_max_concurrent_requests=1,
                    autoscale_min_replicas=MIN_REPLICAS,
                    autoscale_max_replicas=MAX_REPLICAS,
                    autoscale_target_utilization=u,
                    autoscale_downscale_delay_seconds=DOWNSCALE_DELAY_S,
                    autoscale_refresh_seconds=args.refresh_s,
                    cpu_cores=0.1,
                    memory_gb=0.1,
                    auth_enabled=False,
                )
                name = f"spike-{u}"
                services[u] = common.deploy(ws, work, name, common.SLEEPY, config, target, model)
            try:
                for n in range(args.runs):
                    order = utilizations if n % 2 == 0 else utilizations[::-1]
                    for u in order:
                        service, app = services[u], f"spike-{u}"
                        waited = wait_for_minimum(found.dashboard_url, app)
                        time.sleep(2)
                        print(f"run {n + 1} at {u}% (waited {waited:.0f} s for 1 replica)")
                        result = asyncio.run(
                            one_run(service.scoring_uri, found.dashboard_url, app, args)
                        )
                        result.update(utilization=u, run=n + 1)
                        runs.append(result)
                        print(report([result], [u]).split("\n\n")[0])
            finally:
                for service in services.values():
                    service.delete()
                target.delete()  # attached: only forgotten
            cluster_start_s = found.start_s
    finally:
        common.cleanup(work)
    wall = time.monotonic() - clock
    text = report(runs, utilizations)
    facts = common.header(started, wall, before)
    path = common.write_result(
        "spike",
        {
            "started": started.isoformat(),
            "wall_s": wall,
            "machine": before,
            "loadavg_after": common.machine()["loadavg"],
            "versions": common.versions(),
            "settings": {
                **vars(args),
                "min": MIN_REPLICAS,
                "max": MAX_REPLICAS,
                "downscale_delay_s": DOWNSCALE_DELAY_S,
            },  # fmt: skip
            "cluster_start_s": cluster_start_s,
            "cluster_environment": cluster_env,
            "runs": runs,
        },
        quick=args.quick,
    )
    print(f"\n{facts} Cluster: {cluster_env}.\nRaw results: {path}\n\n{text}")


if __name__ == "__main__":
    main()
