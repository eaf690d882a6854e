"""Benchmark: registering a model folder against ``cp -r`` + ``sync`` on the same disk.

Builds a folder of a few large files and many small ones (random bytes, no duplicates), then, in
alternating rounds, times ``cp -r SRC DST && sync`` and ``Model.register(ws, SRC, ...)`` (which
ends with its own flush to disk) in fresh child processes. It also records each registering
process's peak RSS (``VmHWM``, read by the child) for a 100 MiB and a 1 GiB folder, and checks that
registering the same folder again adds no blob bytes.

    .venv/bin/python benchmarks/register/run.py            # 100 MiB and 1 GiB, 3 rounds
    .venv/bin/python benchmarks/register/run.py --quick    # 100 MiB only, 1 round

Results are printed as Markdown and written to benchmarks/register/results-raw/ (not committed).
The work folder defaults to a temporary folder next to this repository (the same disk as the
workspace); pass --work to choose another.
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

MiB = 1 << 20
HERE = Path(__file__).resolve().parent
REGISTER = """
import json, sys, time
from dockyard import Model, Workspace
ws = Workspace.from_path(sys.argv[1])
ws.store
start = time.perf_counter()
model = Model.register(ws, sys.argv[2], "bench")
seconds = time.perf_counter() - start
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "version": model.version, "hwm_kib": hwm}))
"""
IDLE = """
from dockyard import Model, Workspace
import sys
ws = Workspace.from_path(sys.argv[1]); ws.store
Model.list(ws)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print('{"hwm_kib": %d}' % hwm)
"""


def make_folder(root: Path, total: int, seed: int) -> dict[str, int]:
    """A few large files (15/16 of the bytes) and many 16 KiB files (1/16)."""
    root.mkdir(parents=True)
    small_size, large_count = 16 * 1024, 4
    small_total = total // 16
    small_count = small_total // small_size
    large_size = (total - small_count * small_size) // large_count
    chunk = os.urandom(4 * MiB)
    for i in range(large_count):
        with open(root / f"weights-{i}.bin", "wb") as f:
            f.write(f"seed {seed} file {i}\n".encode())
            left = large_size - f.tell()
            while left > 0:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                chunk = chunk[1:] + chunk[:1] if i % 2 else chunk  # vary content between files
                left -= n
    for i in range(small_count):
        sub = root / "shards" / f"{i // 256:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"part-{i:05d}.bin").write_bytes(os.urandom(small_size))
    subprocess.run(["sync"], check=True)
    return {
        "large_files": large_count,
        "large_size": large_size,
        "small_files": small_count,
        "small_size": small_size,
    }


def run_child(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB (VmHWM, reported by the child itself) and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed: {err[-2000:]}")
    # VmHWM, not wait4's ru_maxrss: that one counts the parent's pages the child had before exec.
    return time.perf_counter() - start, int(json.loads(out)["hwm_kib"]), out


def cp_sync(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - start


def new_workspace(work: Path, name: str) -> Path:
    from dockyard import Workspace

    return Workspace.create(name, path=work / name).path


def blob_bytes(ws_path: Path) -> int:
    return sum(p.stat().st_size for p in (ws_path / "blobs" / "sha256").rglob("*") if p.is_file())


def bench_size(work: Path, size: int, rounds: int) -> dict[str, object]:
    label = f"{size // MiB} MiB"
    src = work / f"src-{size // MiB}" / "model"
    shape = make_folder(src, size, seed=size)
    total = sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    cp_times, reg_times, reg_rss = [], [], []
    for r in range(rounds):
        dst = work / f"cp-{r}"
        cp_times.append(cp_sync(src, dst))
        shutil.rmtree(dst)
        ws = new_workspace(work, f"ws-{size // MiB}-{r}")
        _, rss, out = run_child([sys.executable, "-c", REGISTER, str(ws), str(src)])
        reg_times.append(json.loads(out)["seconds"])
        reg_rss.append(rss)
        if r < rounds - 1:
            shutil.rmtree(ws)
    before = blob_bytes(ws)
    _, rss_again, out = run_child([sys.executable, "-c", REGISTER, str(ws), str(src)])
    again = json.loads(out)
    added = blob_bytes(ws) - before
    _, idle_rss, _ = run_child([sys.executable, "-c", IDLE, str(ws)])
    cp_s, reg_s = statistics.median(cp_times), statistics.median(reg_times)
    shutil.rmtree(src.parent)
    return {
        "label": label,
        "bytes": total,
        "shape": shape,
        "cp_sync_seconds": cp_times,
        "register_seconds": reg_times,
        "cp_sync_MBps": total / cp_s / 1e6,
        "register_MBps": total / reg_s / 1e6,
        "ratio": cp_s / reg_s,
        "register_peak_rss_MiB": max(reg_rss) / 1024,
        "idle_process_rss_MiB": idle_rss / 1024,
        "reregister_seconds": again["seconds"],
        "reregister_version": again["version"],
        "reregister_added_blob_bytes": added,
        "reregister_peak_rss_MiB": rss_again / 1024,
    }


def machine() -> dict[str, object]:
    def cmd(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    import sqlalchemy

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in cmd("lscpu").splitlines()
            if line.startswith("Model name")
        ),
        "",
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_GiB": round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30), 1
        ),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "filesystem": cmd("df", "-hT", str(HERE)).splitlines()[-1],
        "loadavg": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 MiB only, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="work folder (default: a temp folder beside the repo)",
    )
    args = parser.parse_args()
    sizes = [100 * MiB] if args.quick else [100 * MiB, 1024 * MiB]
    rounds = 1 if args.quick else args.rounds
    base = args.work or HERE.parent.parent.parent
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-register-", dir=base))
    os.environ["DOCKYARD_HOME"] = str(work / "home")
    info = machine()
    try:
        results = [bench_size(work, size, rounds) for size in sizes]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info["loadavg_after"] = os.getloadavg()
    raw = HERE / "results-raw"
    raw.mkdir(exist_ok=True)
    (raw / f"{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps({"machine": info, "results": results}, indent=2)
    )
    print(f"machine: {json.dumps(info)}\n")
    print(
        "| folder | files | cp -r + sync | register | register / cp | peak RSS (register) | re-register adds |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        shape = r["shape"]
        assert isinstance(shape, dict)
        print(
            f"| {r['label']} | {shape['large_files']} large + {shape['small_files']} x 16 KiB "
            f"| {r['cp_sync_MBps']:.0f} MB/s | {r['register_MBps']:.0f} MB/s | {r['ratio']:.2f}x "
            f"| {r['register_peak_rss_MiB']:.1f} MiB (idle {r['idle_process_rss_MiB']:.1f}) "
            f"| {r['reregister_added_blob_bytes']} bytes |"
        )


if __name__ == "__main__":
    main()
