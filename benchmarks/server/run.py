"""Scoring-server benchmark: azmlinfsrv vs dockyard vs a bare ASGI app, under wrk.

    .venv/bin/python benchmarks/server/run.py            # the full run (about 15 minutes)
    .venv/bin/python benchmarks/server/run.py --quick    # 1 round x 2 s: a smoke test

In one invocation it runs, one server at a time, in interleaved rounds, two workloads (the iris
LogisticRegression score.py and an echo score.py) on azmlinfsrv, dockyard's server and a bare
uvicorn app, each at 1 and 2 workers, under wrk at 1, 8 and 64 connections on 127.0.0.1. Before
timing a server it checks its answer to the workload's request against azmlinfsrv's. A cell with
any non-2xx answer or socket error does not count. Results (median of the rounds) go to the
"Scoring server" section of benchmarks/README.md and, raw, to benchmarks/server/results-raw/.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.compat.conftest import train_iris  # noqa: E402
from tests.compat.oracle import ORACLE_PYTHON, ensure_oracle_venv  # noqa: E402
from tests.compat.servers import (  # noqa: E402
    HOST,
    Server,
    dockyard_server_available,
    free_port,
    server_env,
    start_server,
)

README = REPO / "benchmarks" / "README.md"
RAW_DIR = HERE / "results-raw"
START, END = "<!-- server-benchmark:start -->", "<!-- server-benchmark:end -->"

WORKLOADS = {
    "model": ("score_iris.py", json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]})),
    "echo": ("score_echo.py", json.dumps({"data": "hello, benchmark"})),
}
KINDS = ("azmlinfsrv", "dockyard", "bare")


@dataclass
class Cell:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        if self.invalid or not self.rps:
            return {"valid": False, "why": "; ".join(self.invalid) or "not run"}
        return {
            "valid": True,
            "rps": statistics.median(self.rps),
            "p50_ms": statistics.median(self.p50_ms),
            "p99_ms": statistics.median(self.p99_ms),
            "rounds": len(self.rps),
        }


def start(kind: str, workload: str, workers: int, app_root: Path, model_dir: Path) -> Server:
    script = HERE / WORKLOADS[workload][0]
    if kind in ("azmlinfsrv", "dockyard"):
        return start_server(
            "oracle" if kind == "azmlinfsrv" else "dockyard",
            script,
            app_root=app_root,
            log_dir=app_root / "logs",
            model_dir=model_dir,
            workers=workers,
        )
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(HERE)]
    cmd += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    env = server_env({"AZUREML_ENTRY_SCRIPT": str(script), "AZUREML_MODEL_DIR": str(model_dir)})
    log_path = app_root / "logs" / f"bare-{workload}-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=app_root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server("bare", cmd, port, log_path, proc, started)


def wait_first_score(server: Server, body: str, timeout: float = 120.0) -> float:
    """Seconds from process start to the first 200 on POST /score."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.kind} exited:\n{server.log()[-2000:]}")
        try:
            response = httpx.post(
                server.base_url + "/score",
                content=body,
                headers={"Content-Type": "application/json"},
                timeout=5.0,
            )
            if response.status_code == 200:
                return time.monotonic() - server.started_at
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{server.kind}: no 200 on /score after {timeout}s")


def wait_all_workers(server: Server, body: str, streak: int = 20, timeout: float = 120.0) -> None:
    """With several workers the first 200 may come from one of them: wait for ``streak`` 200s
    in a row (new connections each) so that every worker is serving before timing."""
    deadline = time.monotonic() + timeout
    good = 0
    while good < streak and time.monotonic() < deadline:
        status, _ = sample(server, body)
        good = good + 1 if status == 200 else 0
        if status != 200:
            time.sleep(0.05)


def sample(server: Server, body: str) -> tuple[int, bytes]:
    response = httpx.post(
        server.base_url + "/score",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=10.0,
    )
    return response.status_code, response.content


def wrk(server: Server, body: str, connections: int, seconds: float) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
    ]
    cmd += ["-s", str(HERE / "wrk_report.lua"), server.base_url + "/score"]
    env = dict(os.environ, BENCH_BODY=body)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60)
    match = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break

    def version(name: str, python: Path | None = None) -> str:
        if python is None:
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                return "-"
        code = f"import importlib.metadata as m; print(m.version({name!r}))"
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
        return out.stdout.strip() or "-"

    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "dockyard": version("dockyard"),
        "uvicorn": version("uvicorn"),
        "httptools": version("httptools"),
        "uvloop": version("uvloop"),
        "azmlinfsrv": version("azureml-inference-server-http", ORACLE_PYTHON),
        "gunicorn": version("gunicorn", ORACLE_PYTHON),
        "flask": version("flask", ORACLE_PYTHON),
        "scikit-learn": version("scikit-learn"),
        "numpy": version("numpy"),
        "wrk": (wrk_version.stdout + wrk_version.stderr).split(" [")[0].strip(),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(args: argparse.Namespace) -> dict[str, object]:
    ensure_oracle_venv()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    kinds = [k for k in KINDS if k in args.servers]
    if "dockyard" in kinds and not dockyard_server_available():
        print("dockyard.server is not available: benchmarking azmlinfsrv and bare only")
        kinds.remove("dockyard")
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    model_dir = train_iris(work / "azureml-models" / "iris" / "1")
    cells: dict[str, Cell] = {}
    startup: dict[str, list[float]] = {}
    reference: dict[str, tuple[int, bytes]] = {}
    load_before = loadavg()
    began = time.monotonic()
    for rnd in range(args.rounds):
        order = [(w, k, n) for w in args.workloads for k in kinds for n in args.workers]
        if rnd % 2:  # interleave: alternate the order from one round to the next
            order.reverse()
        for workload, kind, workers in order:
            body = WORKLOADS[workload][1]
            server = start(kind, workload, workers, work, model_dir)
            try:
                first = wait_first_score(server, body)
                startup.setdefault(f"{kind}/{workload}/{workers}w", []).append(first)
                wait_all_workers(server, body)
                status, answer = sample(server, body)
                if kind == "azmlinfsrv":
                    reference.setdefault(workload, (status, answer))
                expected = reference.get(workload)
                problem = None
                if expected is None:
                    expected = _oracle_answer(workload, work, model_dir, body)
                    reference[workload] = expected
                if (status, answer) != expected:
                    problem = f"answer {status} {answer[:80]!r} != azmlinfsrv's {expected[0]} {expected[1][:80]!r}"
                for _ in range(args.warmup_rounds):
                    wrk(server, body, 8, args.warmup)
                for connections in args.connections:
                    key = f"{workload}/{kind}/{workers}w/c{connections}"
                    cell = cells.setdefault(key, Cell())
                    if problem:
                        cell.invalid.append(problem)
                        continue
                    result = wrk(server, body, connections, args.duration)
                    errors = sum(result[k] for k in ("connect", "read", "write", "timeout"))
                    if result["non2xx"] or errors or result["status"]:
                        cell.invalid.append(
                            f"round {rnd + 1}: {result['non2xx']} non-2xx, {errors} socket errors"
                            f" (connect {result['connect']}, read {result['read']},"
                            f" write {result['write']}, timeout {result['timeout']})"
                        )
                    cell.rps.append(result["rps"])
                    cell.p50_ms.append(result["p50_us"] / 1000)
                    cell.p99_ms.append(result["p99_us"] / 1000)
                    print(
                        f"r{rnd + 1} {key:32s} {result['rps']:9.0f} req/s  p50 {result['p50_us'] / 1000:7.2f} ms"
                        f"  p99 {result['p99_us'] / 1000:7.2f} ms  non2xx {result['non2xx']} err {errors}",
                        flush=True,
                    )
            finally:
                server.stop()
    results = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "workers": args.workers,
        },
        "load_before": load_before,
        "load_after": loadavg(),
        "elapsed_s": round(time.monotonic() - began),
        "cells": {k: c.summary() for k, c in cells.items()},
        "startup_s": {k: statistics.median(v) for k, v in startup.items()},
    }
    shutil.rmtree(work, ignore_errors=True)
    return results


def _oracle_answer(workload: str, work: Path, model_dir: Path, body: str) -> tuple[int, bytes]:
    server = start("azmlinfsrv", workload, 1, work, model_dir)
    try:
        wait_first_score(server, body)
        return sample(server, body)
    finally:
        server.stop()


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def render(results: dict[str, object], other_load: str) -> str:
    cells = results["cells"]
    assert isinstance(cells, dict)
    settings = results["settings"]
    assert isinstance(settings, dict)
    m = results["machine"]
    assert isinstance(m, dict)
    busy = max(float(str(results["load_before"]).split()[0]), 0.0)
    if busy >= 0.5 and not other_load:
        other_load = (
            f"Other processes were busy when it started (1-minute load {busy:.2f} on 2 cores): "
            "these figures are indicative; re-run on a quiet machine for final ones."
        )
    lines = [
        START,
        "## Scoring server",
        "",
        "`benchmarks/server/run.py` (one command: `.venv/bin/python benchmarks/server/run.py`). "
        "The same score.py on azmlinfsrv (Flask on gunicorn sync workers), dockyard's server and a "
        "bare ASGI app on uvicorn (httptools, uvloop) with no framework (the practical limit), one "
        "server at a time, rounds interleaved, `wrk` POSTing a JSON body to `/score` on 127.0.0.1. "
        "Workloads: `model` (iris LogisticRegression, `score_iris.py`) and `echo` (`score_echo.py`). "
        "Each figure is the median of the rounds; a cell with any non-2xx answer or socket error "
        "is not counted (shown as `invalid`), and each server's answer was checked against "
        "azmlinfsrv's before timing.",
        "",
        f"Run {results['when']}: {settings['rounds']} rounds x {settings['duration_s']} s per cell "
        f"after a {settings['warmup_s']} s warm-up; {results['elapsed_s']} s in all.",
        f"Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}. Load average before "
        f"{results['load_before']}, after {results['load_after']}. {other_load}",
        f"Versions: Python {m['python']}, dockyard {m['dockyard']}, uvicorn {m['uvicorn']}, "
        f"httptools {m['httptools']}, uvloop {m['uvloop']}, azmlinfsrv {m['azmlinfsrv']} "
        f"(gunicorn {m['gunicorn']}, Flask {m['flask']}), scikit-learn {m['scikit-learn']}, "
        f"numpy {m['numpy']}, {m['wrk']}.",
        "",
        "wrk runs on the same 2 cores as the server (1 thread at 1 connection, 2 otherwise), so "
        "absolute figures are lower than on a larger machine; the ratios are what matter.",
        "",
        "| workload | workers | conns | azmlinfsrv req/s | p50 / p99 ms | dockyard req/s | "
        "p50 / p99 ms | bare req/s | p50 / p99 ms | dockyard / azmlinfsrv | dockyard / bare | goal |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    goals_met, goals_total = 0, 0
    for workload in WORKLOADS:
        for workers in settings["workers"]:
            for conns in settings["connections"]:
                row = [workload, str(workers), str(conns)]
                got = {}
                for kind in KINDS:
                    cell = cells.get(f"{workload}/{kind}/{workers}w/c{conns}")
                    if not cell:
                        row += ["not run", "-"]
                    elif not cell["valid"]:
                        row += [f"invalid: {cell['why']}", "-"]
                    else:
                        got[kind] = cell
                        row += [
                            fmt(cell["rps"]),
                            f"{fmt(cell['p50_ms'], 2)} / {fmt(cell['p99_ms'], 2)}",
                        ]
                ratio_a = ratio_b = None
                if "dockyard" in got and "azmlinfsrv" in got:
                    ratio_a = got["dockyard"]["rps"] / got["azmlinfsrv"]["rps"]
                if "dockyard" in got and "bare" in got:
                    ratio_b = got["dockyard"]["rps"] / got["bare"]["rps"]
                row += [
                    fmt(ratio_a, 2) + ("x" if ratio_a else ""),
                    fmt(ratio_b, 2) + ("x" if ratio_b else ""),
                ]
                goal = "-"
                if conns >= 8 and "dockyard" not in got:
                    goal = "n/a"
                elif conns >= 8:
                    goals_total += 1
                    ok = (
                        ratio_a is not None
                        and ratio_a >= 3
                        and got["dockyard"]["p99_ms"] < got["azmlinfsrv"]["p99_ms"]
                        and (workload != "model" or (ratio_b is not None and ratio_b >= 0.75))
                    )
                    goals_met += ok
                    goal = "met" if ok else "**not met**"
                row.append(goal)
                lines.append("| " + " | ".join(row) + " |")
    startup = results["startup_s"]
    assert isinstance(startup, dict)
    lines += [
        "",
        "Goal (issue 4): at 8 and 64 connections, for each worker count and both workloads, "
        "dockyard >= 3x azmlinfsrv's requests/s with a lower p99, and for `model` also >= 0.75x "
        f"the bare app. Met in {goals_met} of {goals_total} cells.",
        "",
        "Start-up, process start to the first 200 on `POST /score` (median of the rounds, seconds):",
        "",
        "| server | workload | workers | start-up s |",
        "| --- | --- | --- | --- |",
    ]
    for key in sorted(startup):
        kind, workload, workers = key.split("/")
        lines.append(f"| {kind} | {workload} | {workers[:-1]} | {startup[key]:.2f} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_readme(section: str) -> None:
    text = README.read_text() if README.exists() else "# Benchmarks\n\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk cell")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--warmup-rounds", type=int, default=1)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--servers", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--quick", action="store_true", help="1 round x 2 s, no README update")
    parser.add_argument(
        "--no-readme", action="store_true", help="print the table, leave README alone"
    )
    parser.add_argument("--note", default="", help="a sentence about other load on the machine")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.no_readme = 1, 2, 1, True
    results = run(args)
    RAW_DIR.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RAW_DIR / f"server-{stamp}.json").write_text(json.dumps(results, indent=2))
    section = render(results, args.note)
    print(section)
    if not args.no_readme:
        write_readme(section)
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
