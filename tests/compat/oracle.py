"""The oracle's virtual environment: Microsoft's azureml-inference-server-http with azureml-core.

``ensure_oracle_venv()`` builds ``<repo>/.cache/oracle-venv`` from ``oracle-requirements.txt`` when
it is missing or stale, and reuses it otherwise (a stamp file holds the hash of what was
installed). The scientific packages both servers use to (de)serialise (numpy, pandas, ...) are
pinned to the versions of the interpreter running the tests, so a difference in a body is the
servers' and never the libraries'. Used by the compatibility suite and by the server benchmark.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ORACLE_VENV = Path(os.environ.get("DOCKYARD_ORACLE_VENV", REPO / ".cache" / "oracle-venv"))
ORACLE_LOCK = Path(__file__).with_name("oracle-requirements.txt")
ORACLE_PYTHON = ORACLE_VENV / "bin" / "python"
AZMLINFSRV = ORACLE_VENV / "bin" / "azmlinfsrv"
GUNICORN_LOCALHOST_CONFIG = Path(__file__).with_name("gunicorn_localhost.py")

# Installed in both venvs at the same version (taken from the interpreter running the tests).
SHARED_PACKAGES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "joblib",
    "threadpoolctl",
    "inference-schema",
)
_STAMP = ".dockyard-oracle-stamp"


class OracleUnavailable(RuntimeError):
    """The oracle's venv could not be built (no network, no Python 3.11, ...)."""


def oracle_requirements() -> list[str]:
    lines = [
        line.strip()
        for line in ORACLE_LOCK.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in SHARED_PACKAGES:
        extra = "[numpy-support,pandas-support]" if name == "inference-schema" else ""
        try:
            lines.append(f"{name}{extra}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"{name}{extra}")
    return lines


def _stamp(requirements: list[str]) -> str:
    text = "\n".join([sys.version.split()[0], *requirements])
    return hashlib.sha256(text.encode()).hexdigest()


def _run(cmd: list[str], log: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    log.append(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        tail = "\n".join("\n".join(log).splitlines()[-30:])
        raise OracleUnavailable(f"building the oracle venv failed ({cmd[0]}):\n{tail}")


def ensure_oracle_venv() -> Path:
    """Return the path of ``azmlinfsrv``, building the venv first when needed."""
    requirements = oracle_requirements()
    stamp = _stamp(requirements)
    stamp_file = ORACLE_VENV / _STAMP
    if AZMLINFSRV.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return AZMLINFSRV
    ORACLE_VENV.parent.mkdir(parents=True, exist_ok=True)
    lock_path = ORACLE_VENV.parent / (ORACLE_VENV.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if AZMLINFSRV.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
            return AZMLINFSRV
        shutil.rmtree(ORACLE_VENV, ignore_errors=True)
        req_file = ORACLE_VENV.parent / (ORACLE_VENV.name + "-requirements.txt")
        req_file.write_text("\n".join(requirements) + "\n")
        log: list[str] = []
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if uv:
            _run([uv, "venv", "-q", "-p", sys.executable, str(ORACLE_VENV)], log)
            _run([uv, "pip", "install", "-q", "-p", str(ORACLE_PYTHON), "-r", str(req_file)], log)
        else:
            _run([sys.executable, "-m", "venv", str(ORACLE_VENV)], log)
            _run([str(ORACLE_PYTHON), "-m", "pip", "install", "-q", "-r", str(req_file)], log)
        if not AZMLINFSRV.exists():
            raise OracleUnavailable(f"{AZMLINFSRV} missing after the install")
        stamp_file.write_text(stamp)
    return AZMLINFSRV


if __name__ == "__main__":  # python tests/compat/oracle.py: build (or check) the venv
    print(ensure_oracle_venv())
