"""Dashboard benchmark: the service page with 10 services and 10,000 log lines, time to the
page's content in a real headless Chromium.

    .venv/bin/python benchmarks/ui/run.py                  # 10 rounds after 2 untimed loads
    .venv/bin/python benchmarks/ui/run.py --rounds 3 --quick   # smoke test, writes nothing
    .venv/bin/python benchmarks/ui/run.py --screenshot docs/images/dashboard.png

Set-up (untimed): a temporary workspace (and DOCKYARD_HOME) with one registered model and 10
local services (dockyard's own interpreter, no environment to build); the first, ``bench-0``,
prints 10,000 lines in its init() (a traceback every 500), so its log holds over 10,000 lines.
``dockyard ui --port 0 --no-browser`` is started by its command, and Debian's headless Chromium
(``scripts/engines/browser`` installs it) is driven by selenium, as the browser tests do.

Each round loads ``/#/services/bench-0`` afresh (a new document, the token already a cookie) and
reads the page's own marks (``performance.mark`` in ``dockyard/ui/static/app.js``), in ms since
the navigation started: ``drawn`` (the service's facts, state and events in the document),
``log`` (the last 10,000 log lines in it), ``content`` (the figure with the goal, under 1 s: the
first frame after both, laid out, the log scrolled to its end, and painted: a
``requestAnimationFrame`` then a task), and ``metrics`` (the metrics panel, which fills in on
its own afterwards). The
API's own times are measured too (``GET /api/services``, ``GET /api/services/bench-0``, the log's
first event), with httpx, between rounds.

Results go to benchmarks/ui/results/ui-<UTC time>.json and are printed as the table of the
"Dashboard" section of benchmarks/README.md. Everything listens on 127.0.0.1; every process
started here is stopped by its PID; the workspace is deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVICES = 10
LOG_LINES = 10_000

SCORE = f"""\
import json

def init():
    for i in range({LOG_LINES}):
        if i % 500 == 499:
            print("Traceback (most recent call last):\\n  File \\"score.py\\", line 9, in run\\n"
                  f"ValueError: bad row {{i}} in the nightly batch")
        else:
            print(f"scored batch {{i}}: 128 rows, mean 0.{{i % 97:02d}}, took {{i % 13}} ms")

def run(data):
    asked = json.loads(data)
    if "data" not in asked:
        raise ValueError("no 'data' in the request")
    return {{"rows": len(asked["data"])}}
"""


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("dockyard", "starlette", "uvicorn", "selenium"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[package] = importlib.metadata.version(package)
    chromium = shutil.which("chromium")
    if chromium:
        text = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout
        out["chromium"] = text.strip().replace("Chromium ", "")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    out["commit"] = commit
    return out


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory,
            "kernel": platform.release(), "load": os.getloadavg()}  # fmt: skip


def _start_dashboard(ws_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "ui", "--port", "0", "--no-browser",
         "--workspace", str(ws_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    for _ in range(20):
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if found:
            return process, found.group(1), found.group(2)
    process.kill()
    raise SystemExit("dockyard ui printed no URL")


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        subprocess.run([str(REPO / "scripts" / "engines" / "browser")], check=True)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--hide-scrollbars", "--window-size=1280,900"):  # fmt: skip
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


MARKS_JS = """
const get = (n) => { const e = performance.getEntriesByName(n); return e.length ? e[0].startTime : null; };
const pre = document.getElementById('log');
return {drawn: get('dockyard:drawn'), log: get('dockyard:log'), metrics: get('dockyard:metrics'),
        content: get('dockyard:content'),
        lines: pre ? Number(pre.dataset.count || 0) : 0};
"""


def _load(driver: Any, base: str, round_: int) -> dict[str, Any]:
    """One fresh load of the service page; the page's marks in ms since navigation start."""
    driver.get("about:blank")
    driver.get(f"{base}/?round={round_}#/services/bench-0")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        marks = driver.execute_script(MARKS_JS)
        if marks["content"] is not None and marks["metrics"] is not None:
            break
        time.sleep(0.02)
    else:
        raise SystemExit(f"round {round_}: the page never showed its content: {marks}")
    return marks


def _api_times(base: str, token: str) -> dict[str, float]:
    import httpx

    headers = {"Authorization": f"token {token}"}
    out = {}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for label, path in (("services", "/api/services"), ("service", "/api/services/bench-0")):
            start = time.perf_counter()
            client.get(path).raise_for_status()
            out[label] = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        with client.stream("GET", "/api/services/bench-0/logs") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    out["log_first_event"] = (time.perf_counter() - start) * 1000
                    break
    return out


def _traffic(service: Any, seconds: float) -> None:
    """Requests for the screenshot's charts: mostly 200s, some 400s and 500s."""
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        i += 1
        body = '{"nodata": 1}' if i % 9 == 0 else json.dumps({"data": [[1, 2]] * (i % 5 + 1)})
        with contextlib.suppress(Exception):
            service.run(body)
        time.sleep(0.05 + 0.1 * ((i // 40) % 3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="print only; write no results")
    parser.add_argument("--screenshot", type=Path, help="after the rounds: traffic for the charts "
                        "(--traffic-s), then a PNG of the service page (1280 x 900)")  # fmt: skip
    parser.add_argument("--traffic-s", type=float, default=75.0)
    args = parser.parse_args()

    temp = Path(tempfile.mkdtemp(prefix="dockyard-bench-ui-"))
    os.environ["DOCKYARD_HOME"] = str(temp / "home")
    os.environ.pop("DOCKYARD_WORKSPACE", None)
    from dockyard import InferenceConfig, LocalWebservice, Model, Webservice, Workspace

    load_before = os.getloadavg()
    started = time.time()
    ws = Workspace.create("bench-ui", path=str(temp / "ws"), exist_ok=True)
    names = [f"bench-{i}" for i in range(SERVICES)]
    processes: list[subprocess.Popen[str]] = []
    driver = None
    try:
        model_file = temp / "model.txt"
        model_file.write_text("weights\n")
        model = Model.register(ws, model_path=str(model_file), model_name="bench-model")
        src = temp / "src"
        src.mkdir()
        (src / "score.py").write_text(SCORE)
        plain = temp / "plain"
        plain.mkdir()
        (plain / "score.py").write_text(SCORE.replace(f"range({LOG_LINES})", "range(3)"))
        print(f"[bench-ui] deploying {SERVICES} local services", flush=True)
        for i, name in enumerate(names):
            folder = src if i == 0 else plain
            inference = InferenceConfig(entry_script="score.py", source_directory=str(folder))
            service = Model.deploy(ws, name, [model], inference,
                                   LocalWebservice.deploy_configuration(), overwrite=True)  # fmt: skip
            service.wait_for_deployment()
        log_lines = len(Webservice(ws, "bench-0").get_logs(num_lines=20_000).splitlines())
        print(f"[bench-ui] bench-0's log: {log_lines} lines", flush=True)

        board, base, token = _start_dashboard(ws.path, dict(os.environ))
        processes.append(board)
        driver = _browser()
        driver.get(f"{base}/?token={token}")  # the cookie
        for warm in range(2):
            _load(driver, base, -1 - warm)
        rounds = []
        for round_ in range(args.rounds):
            marks = _load(driver, base, round_)
            marks["api"] = _api_times(base, token)
            rounds.append(marks)
            print(f"[bench-ui] round {round_}: content {marks['content']:.0f} ms (drawn "
                  f"{marks['drawn']:.0f}, log {marks['log']:.0f}, {marks['lines']} lines), "
                  f"metrics {marks['metrics']:.0f} ms", flush=True)  # fmt: skip
        if args.screenshot:
            print(f"[bench-ui] {args.traffic_s:.0f} s of traffic for the charts", flush=True)
            thread = threading.Thread(
                target=_traffic, args=(Webservice(ws, "bench-0"), args.traffic_s)
            )
            thread.start()
            thread.join()
            driver.get(f"{base}/#/services/bench-0")
            time.sleep(8)  # the charts' history and the log fill in
            driver.execute_script("window.scrollTo(0, 0)")
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.screenshot))
            print(f"[bench-ui] screenshot: {args.screenshot}")
    finally:
        if driver is not None:
            driver.quit()
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                process.kill()
        for name in names:
            with contextlib.suppress(Exception):
                Webservice(ws, name).delete()
        shutil.rmtree(temp, ignore_errors=True)

    def summary(values: list[float]) -> dict[str, float]:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    result = {
        "when": dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.time() - started),
        "rounds": args.rounds,
        "services": SERVICES,
        "log_lines": log_lines,
        "machine": {**_machine(), "load_before": load_before, "load_after": os.getloadavg()},
        "versions": _versions(),
        "summary": {
            key: summary([r[key] for r in rounds]) for key in ("content", "drawn", "log", "metrics")
        }
        | {f"api_{k}": summary([r["api"][k] for r in rounds]) for k in rounds[0]["api"]},
        "raw": rounds,
    }
    print(json.dumps(result["summary"], indent=2))
    if not args.quick:
        stamp = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = HERE / "results" / f"ui-{stamp}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"[bench-ui] results: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
