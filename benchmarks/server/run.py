"""Scoring-server benchmark: azmlinfsrv vs dockyard vs a bare ASGI app, under wrk.

    .venv/bin/python benchmarks/server/run.py            # the full run (about 15 minutes)
    .venv/bin/python benchmarks/server/run.py --quick    # 1 round x 2 s: a smoke test
    .venv/bin/python benchmarks/server/run.py --baseline 4a125fe   # also dockyard at that commit

In one invocation it runs, one server at a time, in interleaved rounds, two workloads (the iris
LogisticRegression score.py and an echo score.py) on azmlinfsrv, dockyard's server and a bare
uvicorn app, each at 1 and 2 workers, under wrk at 1, 8 and 64 connections on 127.0.0.1. Before
timing a server it checks its answer to the workload's request against azmlinfsrv's. A cell with
any non-2xx answer or socket error does not count. Results (median of the rounds) go to the
"Scoring server" section of benchmarks/README.md and, raw, to benchmarks/server/results-raw/.

With ``--baseline REF`` a fourth server, ``dockyard@REF``, runs in the same interleaved rounds:
REF checked out in a temporary ``git worktree`` and started exactly like ``dockyard`` (same
interpreter, same packages) with ``PYTHONPATH=<worktree>/src`` in front, so the two versions of
dockyard's server differ only in their own code. The README section then gets a table "dockyard
now vs dockyard@REF" that calls a cell slower only beyond the run-to-run spread (max - min over
the rounds, relative to the median) measured in the same run.
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
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.compat.conftest import train_iris  # noqa: E402
from tests.compat.oracle import ORACLE_PYTHON, ensure_oracle_venv  # noqa: E402
from tests.compat.servers import (  # noqa: E402
    DOCKYARD_PYTHON,
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
BASELINE_ALIAS = "baseline"  # --servers baseline means dockyard@REF


@dataclass
class Baseline:
    """dockyard's server at another commit, checked out in a temporary git worktree."""

    ref: str
    commit: str
    kind: str  # "dockyard@REF"
    tree: Path

    @property
    def src(self) -> Path:
        return self.tree / "src"


def baseline_kind(ref: str) -> str:
    # The kind is part of the "/"-separated cell keys: a ref with a "/" is named by its commit.
    if "/" in ref:
        ref = git("rev-parse", "--short", f"{ref}^{{commit}}")
    return f"dockyard@{ref}"


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}"
        )
    return proc.stdout.strip()


def add_baseline(ref: str) -> Baseline:
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    tree = Path(tempfile.mkdtemp(prefix="dockyard-bench-baseline-")) / "tree"
    git("worktree", "add", "--detach", str(tree), commit)
    return Baseline(ref, commit, baseline_kind(ref), tree)


def remove_baseline(baseline: Baseline) -> None:
    try:
        git("worktree", "remove", "--force", str(baseline.tree))
    except RuntimeError as exc:
        print(f"warning: {exc}; remove it with: git worktree remove --force {baseline.tree}")
    shutil.rmtree(baseline.tree.parent, ignore_errors=True)


def server_module_file(pythonpath: Path | None, cwd: Path) -> str:
    """Where ``python -m dockyard.server`` would import ``dockyard.server`` from."""
    env = server_env({"PYTHONPATH": str(pythonpath)} if pythonpath else None)
    code = "import dockyard.server as s; print(s.__file__)"
    proc = subprocess.run(
        [str(DOCKYARD_PYTHON), "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"importing dockyard.server failed:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip()


def server_tree_state() -> dict[str, str]:
    """HEAD and any uncommitted change under src/dockyard/server (the "now" that was measured)."""
    dirty = git("status", "--porcelain", "--", "src/dockyard/server")
    return {"head": git("rev-parse", "--short", "HEAD"), "uncommitted": dirty}


@dataclass
class Cell:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        if self.invalid or not self.rps:
            return {"valid": False, "why": "; ".join(self.invalid) or "not run"}
        out: dict[str, object] = {"valid": True, "rounds": len(self.rps)}
        for name, values in (("rps", self.rps), ("p50_ms", self.p50_ms), ("p99_ms", self.p99_ms)):
            median = statistics.median(values)
            out[name] = median
            # Run-to-run spread: min and max over the rounds, (max - min) / median in percent.
            out[f"{name}_min"], out[f"{name}_max"] = min(values), max(values)
            out[f"{name}_spread_pct"] = (
                (max(values) - min(values)) / median * 100 if median else 0.0
            )
            out[f"{name}_rounds"] = values
        return out


def start(
    kind: str,
    workload: str,
    workers: int,
    app_root: Path,
    model_dir: Path,
    baseline: Baseline | None = None,
) -> Server:
    script = HERE / WORKLOADS[workload][0]
    if baseline is not None and kind == baseline.kind:
        # Exactly like "dockyard" (same interpreter and packages), with the worktree's src first.
        server = start_server(
            "dockyard",
            script,
            app_root=app_root,
            log_dir=app_root / "logs" / "baseline",
            model_dir=model_dir,
            workers=workers,
            env={"PYTHONPATH": str(baseline.src)},
        )
        server.kind = kind
        return server
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
    baseline = add_baseline(args.baseline) if args.baseline else None
    try:
        return _run(args, baseline)
    finally:
        if baseline is not None:
            remove_baseline(baseline)


def _run(args: argparse.Namespace, baseline: Baseline | None) -> dict[str, object]:
    kinds = []
    for kind in KINDS:
        if kind in args.servers:
            kinds.append(kind)
        # dockyard@REF right after dockyard: the two versions run next to each other each round.
        if kind == "dockyard" and baseline is not None and baseline.kind in args.servers:
            kinds.append(baseline.kind)
    if "dockyard" in kinds and not dockyard_server_available():
        print("dockyard.server is not available: benchmarking azmlinfsrv and bare only")
        kinds.remove("dockyard")
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    versions: dict[str, dict[str, str]] = {}
    if "dockyard" in kinds:
        versions["now"] = {"server_file": server_module_file(None, work), **server_tree_state()}
        print(f"dockyard: dockyard.server from {versions['now']['server_file']}")
    if baseline is not None and baseline.kind in kinds:
        where = server_module_file(baseline.src, work)
        print(f"{baseline.kind} ({baseline.commit[:12]}): dockyard.server from {where}")
        if not Path(where).resolve().is_relative_to(baseline.tree.resolve()):
            sys.exit(
                f"{baseline.kind} imports dockyard.server from {where}, not from its worktree "
                f"{baseline.tree}: check that nothing else puts dockyard before PYTHONPATH"
            )
        versions["baseline"] = {
            "ref": baseline.ref,
            "commit": baseline.commit,
            "kind": baseline.kind,
            "server_file": where,
        }
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
            server = start(kind, workload, workers, work, model_dir, baseline)
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
        "versions": versions,
    }
    if "now" in versions:
        # Others may edit the working tree during a run: say whether "now" changed under us.
        after = server_tree_state()
        versions["now"]["head_after"] = after["head"]
        versions["now"]["uncommitted_after"] = after["uncommitted"]
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
        *render_comparison(results),
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


def verdict(now: dict[str, Any], base: dict[str, Any]) -> str:
    """Slower or faster only beyond the larger of the two cells' run-to-run spreads."""
    rps_change = (now["rps"] - base["rps"]) / base["rps"] * 100
    p99_change = (now["p99_ms"] - base["p99_ms"]) / base["p99_ms"] * 100
    rps_spread = max(now["rps_spread_pct"], base["rps_spread_pct"])
    p99_spread = max(now["p99_ms_spread_pct"], base["p99_ms_spread_pct"])
    slower = [
        n
        for n, bad in (("req/s", -rps_change > rps_spread), ("p99", p99_change > p99_spread))
        if bad
    ]
    if slower:
        return f"**slower** ({', '.join(slower)})"
    faster = [
        n
        for n, good in (("req/s", rps_change > rps_spread), ("p99", -p99_change > p99_spread))
        if good
    ]
    if faster:
        return f"faster ({', '.join(faster)})"
    return "same (within spread)"


def paired(now: dict[str, Any], base: dict[str, Any]) -> str:
    """Median and range of the per-round now / base req/s ratios (same round, same load)."""
    ratios = [n / b for n, b in zip(now["rps_rounds"], base["rps_rounds"], strict=False) if b]
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.3f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def spread(cell: dict[str, Any], name: str, digits: int) -> str:
    low, high = fmt(cell[f"{name}_min"], digits), fmt(cell[f"{name}_max"], digits)
    return f"{low}-{high} ({cell[f'{name}_spread_pct']:.1f}%)"


def render_comparison(results: dict[str, object]) -> list[str]:
    """The "dockyard now vs dockyard@REF" table, when the run had a baseline."""
    versions = results.get("versions")
    if not isinstance(versions, dict) or "baseline" not in versions or "now" not in versions:
        return []
    cells = results["cells"]
    settings = results["settings"]
    assert isinstance(cells, dict) and isinstance(settings, dict)
    base_info, now_info = versions["baseline"], versions["now"]
    kind = base_info["kind"]
    dirty = "no" if not now_info["uncommitted"] else "some"
    changed = now_info.get("uncommitted_after", now_info["uncommitted"]) != now_info["uncommitted"]
    head_after = now_info.get("head_after", now_info["head"])
    moved = "" if head_after == now_info["head"] else f" (HEAD {head_after} at the end)"
    lines = [
        "",
        f"### dockyard now vs {kind}",
        "",
        f"`dockyard` is the working tree (HEAD {now_info['head']}, {dirty} uncommitted changes "
        f"under `src/dockyard/server` at the start{', changed during the run' if changed else ''}"
        f"{moved}); "
        f"`{kind}` is commit {base_info['commit'][:12]} checked out in a temporary `git worktree` "
        "and started the same way (same interpreter and packages) with `PYTHONPATH=<worktree>/src` "
        "in front, in the same interleaved rounds (right after `dockyard`, order reversed every "
        f"other round). Spread: min-max over the {settings['rounds']} rounds and (max - min) / "
        "median. A cell is **slower** only when now's req/s is below the baseline's by more than "
        "the larger of the two req/s spreads, or now's p99 is above the baseline's by more than "
        "the larger of the two p99 spreads; **faster** likewise the other way. `paired` compares "
        "the two versions round by round (they ran back to back in each round, under the same "
        "load): the median of the per-round now / base req/s ratios, with their range.",
        "",
        f"| workload | workers | conns | now req/s | {kind} req/s | now / base req/s | "
        f"now req/s spread | base req/s spread | now p99 ms | base p99 ms | now / base p99 | "
        f"now p99 spread | base p99 spread | paired now / base req/s | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    counts: dict[str, int] = {}
    for workload in WORKLOADS:
        for workers in settings["workers"]:
            for conns in settings["connections"]:
                now = cells.get(f"{workload}/dockyard/{workers}w/c{conns}")
                base = cells.get(f"{workload}/{kind}/{workers}w/c{conns}")
                if now is None and base is None:
                    continue
                row = [workload, str(workers), str(conns)]
                bad = [
                    f"{name}: " + ("not run" if c is None else f"invalid: {c['why']}")
                    for name, c in (("now", now), ("base", base))
                    if c is None or not c["valid"]
                ]
                if bad or now is None or base is None:
                    row += ["; ".join(bad)] + ["-"] * 11 + ["n/a"]
                    counts["n/a"] = counts.get("n/a", 0) + 1
                else:
                    v = verdict(now, base)
                    key = v.split(" ")[0].strip("*")
                    counts[key] = counts.get(key, 0) + 1
                    row += [
                        fmt(now["rps"]),
                        fmt(base["rps"]),
                        f"{now['rps'] / base['rps']:.3f}x",
                        spread(now, "rps", 0),
                        spread(base, "rps", 0),
                        fmt(now["p99_ms"], 2),
                        fmt(base["p99_ms"], 2),
                        f"{now['p99_ms'] / base['p99_ms']:.3f}x",
                        spread(now, "p99_ms", 2),
                        spread(base, "p99_ms", 2),
                        paired(now, base),
                        v,
                    ]
                lines.append("| " + " | ".join(row) + " |")
    total = sum(counts.values())
    lines += [
        "",
        f"Verdicts: {counts.get('slower', 0)} slower, {counts.get('same', 0)} same (within spread), "
        f"{counts.get('faster', 0)} faster"
        + (f", {counts['n/a']} not comparable" if counts.get("n/a") else "")
        + f", of {total} cells.",
    ]
    return lines


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
    parser.add_argument(
        "--servers",
        nargs="+",
        metavar="KIND",
        help=f"any of {', '.join(KINDS)}, and with --baseline REF also dockyard@REF (or "
        f"{BASELINE_ALIAS!r}); default: all of them",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run dockyard's server at git commit REF (a temporary git worktree, same "
        "interpreter and packages) and compare it with the working tree's, cell by cell",
    )
    parser.add_argument("--quick", action="store_true", help="1 round x 2 s, no README update")
    parser.add_argument(
        "--no-readme", action="store_true", help="print the table, leave README alone"
    )
    parser.add_argument("--note", default="", help="a sentence about other load on the machine")
    args = parser.parse_args()
    kinds = list(KINDS)
    if args.baseline:
        try:
            git("rev-parse", "--verify", "--quiet", f"{args.baseline}^{{commit}}")
            kinds.append(baseline_kind(args.baseline))
        except RuntimeError as exc:
            parser.error(
                f"--baseline {args.baseline}: not a commit of this repository "
                f"(see git log --oneline): {exc}"
            )
        if args.servers:
            args.servers = [kinds[-1] if k == BASELINE_ALIAS else k for k in args.servers]
    if args.servers is None:
        args.servers = kinds
    unknown = [k for k in args.servers if k not in kinds]
    if unknown:
        hint = " (dockyard@REF needs --baseline REF)" if any("@" in k for k in unknown) else ""
        parser.error(
            f"--servers: unknown {', '.join(unknown)}; choose from {', '.join(kinds)}{hint}"
        )
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
