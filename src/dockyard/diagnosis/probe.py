"""Running the probe: score.py imported, checked, initialised and called once, in a child process
of the environment a deploy would use, in an app root laid out as a deploy lays it out.

The child is :mod:`dockyard.diagnosis.probe_child`, run as ``python -c <its text>`` by the
environment's interpreter (dockyard's own when no environment is given), with the app root as
its working directory and the variables a target sets for the server: the app root's
(:meth:`dockyard.builders.app_root.AppRoot.environment`), the environment's own variables, and
error details in 500 answers (``DOCKYARD_DEBUG``) so that a failing run() shows its traceback.
Its output (the server's log lines, the script's print()) goes to a file; its findings come back
as JSON (:class:`ProbeResult`). The wait is bounded: a child that outlives ``timeout`` seconds is
stopped, and the result names the step it was in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.builders.app_root import AppRoot
from dockyard.builders.envs import ResolvedEnvironment
from dockyard.server import contract

CHILD = Path(__file__).with_name("probe_child.py")
#: Variables of the caller's environment a deployment never inherits (debuggers, the local
#: supervisor's plumbing, another app root's layout).
_NOT_INHERITED = (
    contract.SOURCE_DIRECTORY_ENV,
    contract.DEBUG_PORT_ENV,
    contract.DEBUGPY_LISTEN_ENV,
    contract.LISTEN_FD_ENV,
    contract.READY_FILE_ENV,
    contract.ZYGOTE_FD_ENV,
    contract.KEYS_FILE_ENV,
    contract.STARTUP_TIMEOUT_ENV,
    "PYTHONPATH",
)
_OUTPUT_TAIL = 40


@dataclass
class ProbeResult:
    """What the child found, step by step (``phases``), and how it ended."""

    phases: list[dict[str, Any]] = field(default_factory=list)
    #: The step under way when the child exited or was stopped (None: it finished).
    running: str | None = None
    exit_code: int | None = None
    timed_out: bool = False
    #: The last lines the child printed (server log lines, the script's print()).
    output_tail: str = ""

    def phase(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.phases if p["phase"] == name), None)


def child_command(resolved: ResolvedEnvironment | None) -> list[str]:
    """``python -c <child>`` for the environment (dockyard's own Python when None)."""
    code = CHILD.read_text(encoding="utf-8")
    if resolved is None:
        return [sys.executable, "-c", code]
    if resolved.runtime_dir is not None and resolved.kind == "user-managed":
        code = f"import sys; sys.path.append({str(resolved.runtime_dir)!r})\n{code}"
    return [str(resolved.python), "-c", code]


def child_environment(app_root: AppRoot, variables: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update(variables)
    env.update(app_root.environment())
    env[contract.DEBUG_RESPONSES_ENV] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_probe(
    resolved: ResolvedEnvironment | None,
    app_root: AppRoot,
    variables: dict[str, str],
    sample: str | None,
    timeout: float,
) -> ProbeResult:
    """Run the child on ``app_root`` and read what it found (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="dockyard-probe-") as folder:
        result_path = Path(folder, "result.json")
        sample_path = Path(folder, "sample.json")
        if sample is not None:
            sample_path.write_text(sample, encoding="utf-8")
        argv = [*child_command(resolved), str(result_path), str(sample_path) if sample else ""]
        output_path = Path(folder, "output.log")
        result = ProbeResult()
        with open(output_path, "wb") as output:
            proc = subprocess.Popen(
                argv,
                cwd=app_root.path,
                env=child_environment(app_root, variables),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                result.exit_code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                result.timed_out = True
                if hasattr(os, "killpg"):  # the child's own session: it and its children
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
                proc.wait()
        text = output_path.read_text(encoding="utf-8", errors="replace")
        result.output_tail = "\n".join(text.rstrip().splitlines()[-_OUTPUT_TAIL:])
        if result_path.is_file():
            data = json.loads(result_path.read_text(encoding="utf-8"))
            result.phases = list(data.get("phases") or [])
            result.running = data.get("running")
        else:
            result.running = "import"
        return result


__all__ = ["CHILD", "ProbeResult", "child_command", "child_environment", "run_probe"]
