"""Environment creation: dockyard's ensure_environment vs a venv made by hand, same run.

    .venv/bin/python benchmarks/envs/bench_envs.py [--repeat 3] [--packages numpy scikit-learn]

Measures, each ``--repeat`` times, alternating so that load changes hit every variant alike:

* ``dockyard cold``: ``ensure_environment`` into an empty environment cache *and* an empty uv
  cache (``UV_CACHE_DIR``): nothing downloaded or unpacked before; includes the server runtime;
* ``dockyard, uv cache warm``: an empty environment cache, uv's usual cache (a second project
  on the same machine);
* ``by hand cold``: ``python -m venv`` + ``pip install --no-cache-dir PACKAGES``;
* ``by hand, pip cache warm``: the same with pip's cache;
* ``dockyard warm reuse``: ``ensure_environment`` again for an environment that exists.

Both sides use this machine's pip configuration (dockyard passes it to uv). Results (JSON, with
machine, versions and load) go to ``benchmarks/envs/results-raw/``; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dockyard.builders.envs import ensure_environment
from dockyard.builders.specs import EnvironmentSpec
from dockyard.builders.uvtool import find_uv

HERE = Path(__file__).resolve().parent


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


VERSIONS: dict[str, dict[str, str]] = {}


def dockyard_build(packages: list[str], work: Path, uv_cache: Path | None) -> float:
    spec = EnvironmentSpec(name="bench", build_hash="bench0001", pip_packages=tuple(packages))
    saved = os.environ.get("UV_CACHE_DIR")
    if uv_cache is not None:
        os.environ["UV_CACHE_DIR"] = str(uv_cache)
    try:
        seconds = timed(lambda: ensure_environment(spec, work / "cache"))
        VERSIONS["dockyard"] = ensure_environment(spec, work / "cache").packages
        return seconds
    finally:
        if uv_cache is not None:
            if saved is None:
                os.environ.pop("UV_CACHE_DIR", None)
            else:
                os.environ["UV_CACHE_DIR"] = saved


def by_hand(packages: list[str], work: Path, cold: bool) -> float:
    venv = work / "venv"

    def run() -> None:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        command = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages]
        if cold:
            command.insert(5, "--no-cache-dir")
        subprocess.run(command, check=True)

    seconds = timed(run)
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True
    )
    VERSIONS["by hand"] = dict(ln.split("==", 1) for ln in freeze.stdout.split() if "==" in ln)
    return seconds


def machine() -> dict[str, object]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), "")
    pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    uv = subprocess.run([find_uv(), "--version"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pip": pip.stdout.split(" from ")[0].strip(),
        "uv": uv.stdout.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--packages", nargs="+", default=["numpy", "scikit-learn"])
    parser.add_argument("--reuse-repeat", type=int, default=20)
    args = parser.parse_args()
    times: dict[str, list[float]] = {
        "dockyard cold": [],
        "dockyard, uv cache warm": [],
        "by hand cold": [],
        "by hand, pip cache warm": [],
        "dockyard warm reuse": [],
    }
    load_before = os.getloadavg()
    for round_ in range(args.repeat):
        for name in list(times)[:4]:
            work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
            try:
                if name == "dockyard cold":
                    seconds = dockyard_build(args.packages, work, work / "uv-cache")
                elif name == "dockyard, uv cache warm":
                    seconds = dockyard_build(args.packages, work, None)
                    spec = EnvironmentSpec(
                        name="bench", build_hash="bench0001", pip_packages=tuple(args.packages)
                    )
                    for _ in range(args.reuse_repeat):
                        times["dockyard warm reuse"].append(
                            timed(lambda: ensure_environment(spec, work / "cache"))  # noqa: B023
                        )
                else:
                    seconds = by_hand(args.packages, work, cold=name == "by hand cold")
            finally:
                shutil.rmtree(work, ignore_errors=True)
            times[name].append(seconds)
            print(f"round {round_ + 1}: {name}: {seconds:.2f} s", file=sys.stderr)
    load_after = os.getloadavg()
    result = {
        "packages": args.packages,
        "repeat": args.repeat,
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_after,
        "seconds": times,
        "median": {k: statistics.median(v) for k, v in times.items() if v},
        "versions": VERSIONS,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    raw = HERE / "results-raw"
    raw.mkdir(exist_ok=True)
    (raw / f"envs-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=2))
    print(f"| variant ({' + '.join(args.packages)}) | median | runs |")
    print("|---|---|---|")
    for name, values in times.items():
        runs = ", ".join(f"{v:.3f}" if v < 1 else f"{v:.1f}" for v in values[:5])
        more = f" (+{len(values) - 5})" if len(values) > 5 else ""
        median = statistics.median(values)
        shown = f"{median * 1000:.1f} ms" if median < 1 else f"{median:.1f} s"
        print(f"| {name} | {shown} | {runs}{more} |")
    print(f"\nmachine: {json.dumps(result['machine'])}")
    print(f"versions: {json.dumps(VERSIONS)}")
    print(f"load average before {load_before}, after {load_after}")


if __name__ == "__main__":
    main()
