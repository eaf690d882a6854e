"""What metrics cost on /score: dockyard's server with metrics on and off, rounds interleaved.

    .venv/bin/python benchmarks/server/metrics_overhead.py            # the full run (~12 minutes)
    .venv/bin/python benchmarks/server/metrics_overhead.py --quick    # 1 round x 2 s, no README

In one invocation it runs the same two workloads as ``run.py`` (iris ``model`` and ``echo``) on
dockyard's server twice per round: ``on`` (the default: counters, ``GET /metrics`` scraped every
``--scrape-s`` seconds during the timing, and the history ring sampled every 10 s) and ``off``
(``DOCKYARD_METRICS=0``). The order of the two alternates from cell to cell and round to round, so
drift of the shared machine hits both alike. Each cell is the median over the rounds; the change
is also given paired (the median of each round's on/off ratio), with the run-to-run spread
((max - min) / median of each variant's rounds) to read it against. Goal (issue 13): on ``model``,
throughput within 3 % and p99 within 5 % of metrics off. Results go to the "Metrics overhead"
section of benchmarks/README.md and, raw, to benchmarks/server/results-raw/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from run import (  # the scoring-server benchmark beside this file
    HERE,
    RAW_DIR,
    README,
    WORKLOADS,
    Cell,
    loadavg,
    machine,
    sample,
    train_iris,
    wait_all_workers,
    wait_first_score,
    wrk,
)
from tests.compat.servers import Server, start_server

START, END = "<!-- metrics-overhead:start -->", "<!-- metrics-overhead:end -->"
VARIANTS = ("off", "on")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its live descendants, from /proc."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
    return total / TICKS


def start(variant: str, workload: str, workers: int, work: Path, model_dir: Path) -> Server:
    env = {"DOCKYARD_METRICS": "1" if variant == "on" else "0"}
    if variant == "on":
        env["DOCKYARD_METRICS_HISTORY"] = str(work / "metrics" / f"{workload}-{workers}.ring")
    return start_server(
        "dockyard",
        HERE / WORKLOADS[workload][0],
        app_root=work,
        log_dir=work / "logs",
        model_dir=model_dir,
        workers=workers,
        env=env,
    )


class Scraper(threading.Thread):
    """GET /metrics every ``every_s`` seconds while a variant with metrics is timed."""

    def __init__(self, url: str, every_s: float) -> None:
        super().__init__(daemon=True)
        self.url, self.every_s = url, every_s
        self.done = threading.Event()
        self.scrapes = 0
        self.failed = 0

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.done.wait(self.every_s):
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.scrapes += ok
                self.failed += not ok


def measure(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="dockyard-metrics-bench-"))
    model_dir = train_iris(work / "azureml-models" / "iris" / "1")
    cells: dict[str, Cell] = {}
    cpu: dict[str, list[float]] = {}  # server CPU microseconds per request, per round
    scrapes = {"ok": 0, "failed": 0}
    load_before = loadavg()
    began = time.monotonic()
    for rnd in range(args.rounds):
        for index, (workload, workers) in enumerate(
            (w, n) for w in args.workloads for n in args.workers
        ):
            body = WORKLOADS[workload][1]
            # each pair alternates which variant goes first, round after round
            flip = (rnd + index) % 2 == 0
            for variant in VARIANTS if flip else tuple(reversed(VARIANTS)):
                server = start(variant, workload, workers, work, model_dir)
                try:
                    wait_first_score(server, body)
                    wait_all_workers(server, body)
                    status, _ = sample(server, body)
                    assert status == 200, f"{variant}: /score answered {status}"
                    wrk(server, body, 8, args.warmup)
                    scraper = None
                    if variant == "on" and args.scrape_s > 0:
                        scraper = Scraper(server.base_url + "/metrics", args.scrape_s)
                        scraper.start()
                    for conns in args.connections:
                        key = f"{workload}/{variant}/{workers}w/c{conns}"
                        cell = cells.setdefault(key, Cell())
                        before = cpu_seconds(server.proc.pid)
                        result = wrk(server, body, conns, args.duration)
                        used = cpu_seconds(server.proc.pid) - before
                        per_request = used / max(1, result["requests"]) * 1e6
                        cpu.setdefault(key, []).append(per_request)
                        errors = sum(result[k] for k in ("connect", "read", "write", "timeout"))
                        if result["non2xx"] or errors or result["status"]:
                            cell.invalid.append(
                                f"round {rnd + 1}: {result['non2xx']} non-2xx, {errors} errors"
                            )
                        cell.rps.append(result["rps"])
                        cell.p50_ms.append(result["p50_us"] / 1000)
                        cell.p99_ms.append(result["p99_us"] / 1000)
                        print(
                            f"r{rnd + 1} {key:24s} {result['rps']:9.0f} req/s  "
                            f"p50 {result['p50_us'] / 1000:6.2f} ms  "
                            f"p99 {result['p99_us'] / 1000:6.2f} ms  "
                            f"cpu {per_request:6.1f} us/req",
                            flush=True,
                        )
                    if scraper is not None:
                        scraper.done.set()
                        scraper.join()
                        scrapes["ok"] += scraper.scrapes
                        scrapes["failed"] += scraper.failed
                finally:
                    server.stop()
    return {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "workers": args.workers,
            "workloads": args.workloads,
            "scrape_s": args.scrape_s,
        },
        "load_before": load_before,
        "load_after": loadavg(),
        "elapsed_s": round(time.monotonic() - began),
        "scrapes": scrapes,
        "cells": {k: c.summary() for k, c in cells.items()},
        "cpu_us_per_request": cpu,
    }


def _pct(new: float, old: float) -> float:
    return (new - old) / old * 100


def _paired(on: dict[str, Any], off: dict[str, Any], name: str) -> float:
    """The median over the rounds of each round's on/off change, in percent."""
    ratios = [a / b for a, b in zip(on[f"{name}_rounds"], off[f"{name}_rounds"], strict=False)]
    return (statistics.median(ratios) - 1) * 100


def _spread(values: list[float]) -> float:
    median = statistics.median(values)
    return (max(values) - min(values)) / median * 100 if median else 0.0


def verdict(change: float, goal: float, spread: float) -> str:
    """``met`` when the change is inside the goal; ``noise`` when it is beyond the goal but
    inside the run-to-run spread (the run cannot tell); ``not met`` beyond both."""
    if change <= goal:
        return "met"
    return f"noise ({spread:.0f} %)" if change <= spread else "**not met**"


def render(results: dict[str, Any], note: str) -> str:
    s, mach, cells = results["settings"], results["machine"], results["cells"]
    cpu = results.get("cpu_us_per_request", {})
    lines = [
        START,
        "## Metrics overhead",
        "",
        "`benchmarks/server/metrics_overhead.py`: dockyard's server with metrics on (counters, "
        f"`GET /metrics` scraped every {s['scrape_s']:g} s during the timing, the history ring "
        "sampled every 10 s) and off (`DOCKYARD_METRICS=0`), the two variants of a cell run "
        "back to back in alternating order, rounds interleaved, `wrk` POSTing to `/score` on "
        "127.0.0.1 as in the section above. Each figure is the median of the rounds; a change is "
        "on vs off, and `paired` is the median of each round's own on/off ratio (the two ran "
        "seconds apart, so it cancels slow drift of the machine). `spread` is the larger of the "
        "two variants' (max - min) / median over the rounds. `server CPU` is the CPU time "
        "(user + system, from /proc) the server's processes used per request during the cell: "
        "the cost itself, much less sensitive to other load than req/s and p99.",
        "",
        f"Run {results['when']}: {s['rounds']} rounds x {s['duration_s']} s per cell after a "
        f"{s['warmup_s']} s warm-up, {results['elapsed_s']} s in all; "
        f"{results['scrapes']['ok']} scrapes answered, {results['scrapes']['failed']} failed.",
        f"Machine: {mach['cpu']}, {mach['cores']} cores, Linux {mach['kernel']}, shared with "
        f"other work: load average before {results['load_before']}, after "
        f"{results['load_after']}. {note}",
        f"Versions: Python {mach['python']}, dockyard {mach['dockyard']}, uvicorn "
        f"{mach['uvicorn']}, httptools {mach['httptools']}, uvloop {mach['uvloop']}, "
        f"scikit-learn {mach['scikit-learn']}, numpy {mach['numpy']}, {mach['wrk']}.",
        "",
        "| workload | workers | conns | req/s off / on | req/s change (paired) | spread | "
        "p99 ms off / on | p99 change (paired) | spread | server CPU us/req off / on | "
        "CPU change (paired) | spread | goal: req/s, p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for workload in s["workloads"]:
        for workers in s["workers"]:
            for conns in s["connections"]:
                key_off, key_on = (f"{workload}/{v}/{workers}w/c{conns}" for v in VARIANTS)
                off, on = cells.get(key_off), cells.get(key_on)
                row = [workload, str(workers), str(conns)]
                if not off or not on or not off["valid"] or not on["valid"]:
                    why = "; ".join(c["why"] for c in (off, on) if c and not c["valid"])
                    lines.append("| " + " | ".join(row + [f"invalid: {why}"] + ["-"] * 9) + " |")
                    continue
                rps_change = _pct(on["rps"], off["rps"])
                p99_change = _pct(on["p99_ms"], off["p99_ms"])
                rps_spread = max(on["rps_spread_pct"], off["rps_spread_pct"])
                p99_spread = max(on["p99_ms_spread_pct"], off["p99_ms_spread_pct"])
                cpu_off, cpu_on = cpu.get(key_off, []), cpu.get(key_on, [])
                cpu_cells = ["-", "-", "-"]
                if cpu_off and cpu_on:
                    paired = [a / b for a, b in zip(cpu_on, cpu_off, strict=False)]
                    cpu_cells = [
                        f"{statistics.median(cpu_off):.0f} / {statistics.median(cpu_on):.0f}",
                        f"{_pct(statistics.median(cpu_on), statistics.median(cpu_off)):+.1f} % "
                        f"({(statistics.median(paired) - 1) * 100:+.1f} %)",
                        f"{max(_spread(cpu_off), _spread(cpu_on)):.0f} %",
                    ]
                goal = "-"
                if workload == "model":
                    goal = (
                        f"{verdict(-rps_change, 3, rps_spread)}, "
                        f"{verdict(p99_change, 5, p99_spread)}"
                    )
                row += [
                    f"{off['rps']:,.0f} / {on['rps']:,.0f}",
                    f"{rps_change:+.1f} % ({_paired(on, off, 'rps'):+.1f} %)",
                    f"{rps_spread:.0f} %",
                    f"{off['p99_ms']:.2f} / {on['p99_ms']:.2f}",
                    f"{p99_change:+.1f} % ({_paired(on, off, 'p99_ms'):+.1f} %)",
                    f"{p99_spread:.0f} %",
                    *cpu_cells,
                    goal,
                ]
                lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Goal (issue 13): on `model`, req/s within 3 % and p99 within 5 % of metrics off; "
        "`noise` means the change is beyond the goal but inside the run-to-run spread, so this "
        "run cannot tell. `echo` is reported for the worst case: its run() costs nearly "
        "nothing, so the per-request work of metrics is the largest share there.",
        "",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    text = README.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    elif "<!-- server-benchmark:end -->\n" in text:  # right after the scoring-server section
        head, marker, tail = text.partition("<!-- server-benchmark:end -->\n")
        text = head + marker + "\n" + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk cell")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--scrape-s", type=float, default=5.0, help="0: no scrapes during timing")
    parser.add_argument("--quick", action="store_true", help="1 round x 2 s, no README update")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--note", default="", help="a sentence about other load on the machine")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.no_readme = 1, 2, 1, True
    results = measure(args)
    RAW_DIR.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RAW_DIR / f"metrics-overhead-{stamp}.json").write_text(json.dumps(results, indent=2))
    section = render(results, args.note)
    print(section)
    if not args.no_readme:
        write_readme(section)
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
