"""Pieces of the Docker target that talk to the engine or the kernel, kept apart so that
:mod:`dockyard.targets.docker` reads as the service lifecycle alone.

* :func:`wait_ready` waits for a new server (readiness probe on the holder's bridge address, or
  ``docker exec`` where that address is not reachable), failing fast when it crashes;
* :func:`redirect` switches the published port to another server with one NAT rule inside the
  holder's network namespace (``nsenter`` + ``iptables``; root only);
* :func:`history` reads the ``die``/``oom`` events the engine kept for a container (Docker clears
  ``OOMKilled`` when it restarts a container, the events keep it);
* :func:`crash_text` finds the traceback in a log.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import time
from typing import Any

from dockyard.errors import DeploymentError

#: The published port inside the holder's namespace, then the ports updates alternate between
#: (never 5001 again: a readiness probe of the new server must not be redirected).
PORTS = (5001, 5002, 5003)
_GIB = 1024**3
#: How long update() waits for the new server to become ready.
SWITCH_TIMEOUT_SECONDS = 600.0


def http_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.request("GET", "/health/ready")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def crash_text(logs: str, lines: int = 40) -> str:
    """The last traceback in ``logs`` (else the last lines), for a state's error."""
    at = logs.rfind("Traceback (most recent call last)")
    if at < 0:
        return "\n".join(logs.rstrip().splitlines()[-lines:])
    start = logs.rfind("\n", 0, at) + 1
    return "\n".join(logs[start:].rstrip().splitlines()[:lines])


def can_switch() -> bool:
    """True when the port switch can use a NAT rule in the holder's namespace (root, tools)."""
    return os.geteuid() == 0 and bool(shutil.which("nsenter")) and bool(shutil.which("iptables"))


def logs_of(container: Any, num_lines: int = 5000) -> str:
    """A container's stdout and stderr as text (every restart's output)."""
    raw = container.logs(stdout=True, stderr=True, tail=num_lines)
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def wait_ready(client: Any, server: Any, holder: str, inner_port: int) -> None:
    """Wait until ``server`` answers readiness on ``inner_port``; raise if it fails."""
    address = holder_ip(client, holder)
    deadline = time.monotonic() + SWITCH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        server.reload()
        state = server.attrs["State"]
        if state.get("Status") in ("restarting", "exited", "dead") or server.attrs.get(
            "RestartCount"
        ):
            code = int(state.get("ExitCode") or 0)
            why = (
                "ran out of memory"
                if state.get("OOMKilled") or code == 137
                else f"exited with code {code}"
            )
            raise DeploymentError(
                f"The new version ({server.name}) {why} while starting; the previous version keeps serving.\n"
                + crash_text(logs_of(server)),
                step="readiness",
                hint="fix the script or environment and try again",
            )
        if address and http_ready(address, inner_port, timeout=0.5):
            return
        if not address:
            code, _out = server.exec_run(["python", "-c", probe_code(inner_port)])
            if code == 0:
                return
        time.sleep(0.1)
    raise DeploymentError(
        f"The new version ({server.name}) was not ready after {SWITCH_TIMEOUT_SECONDS:g} s",
        step="readiness",
        hint="init() may be stuck; read the logs",
    )


def holder_ip(client: Any, holder: str) -> str | None:
    try:
        attrs = client.containers.get(holder).attrs["NetworkSettings"]
    except Exception:  # noqa: BLE001
        return None
    address = attrs.get("IPAddress") or next(
        (n.get("IPAddress") for n in (attrs.get("Networks") or {}).values() if n.get("IPAddress")),
        None,
    )
    return address or None


def redirect(client: Any, holder: str, to_port: int, replace: bool = False) -> bool:
    """Point new connections to 5001 at ``to_port`` in the holder's namespace (True if done).

    The first switch appends the rule; later ones replace it in one step (``-R``), so there
    is no moment without a rule. Open connections keep their conntrack entry (old server)."""
    try:
        pid = int(client.containers.get(holder).attrs["State"]["Pid"])
        base = ["nsenter", f"--net=/proc/{pid}/ns/net", "iptables", "-w", "-t", "nat"]
        rule = [
            "-p",
            "tcp",
            "--dport",
            str(PORTS[0]),
            "-j",
            "REDIRECT",
            "--to-ports",
            str(to_port),
        ]
        action = ["-R", "PREROUTING", "1"] if replace else ["-A", "PREROUTING"]
        subprocess.run([*base, *action, *rule], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError, KeyError, ValueError):
        return False
    return True


def history(client: Any, container_id: str, created: str | None) -> tuple[list[int], int]:
    """Exit codes of the container's ``die`` events, and how many ``oom`` events it had."""
    from datetime import datetime

    try:
        since = int(datetime.fromisoformat(str(created)[:26].rstrip("Z")).timestamp()) - 1
    except ValueError:
        since = int(time.time()) - 3600
    dies: list[int] = []
    ooms = 0
    with contextlib.suppress(Exception):
        for event in client.api.events(
            since=since, until=f"{time.time():.6f}", decode=True,
            filters={"container": container_id, "event": ["die", "oom"]},
        ):  # fmt: skip
            if event.get("status") == "oom":
                ooms += 1
            elif event.get("status") == "die":
                dies.append(int(event.get("Actor", {}).get("Attributes", {}).get("exitCode") or 0))
    return dies, ooms


def oom_text(name: str, memory: int, restarted: bool = False) -> str:
    limit = f"{memory / _GIB:g} GiB" if memory else "the host's memory"
    what = "was restarted after it was killed" if restarted else "was killed"
    return (f"Out of memory: container {name} {what} for using more than its memory limit "
            f"({limit}, memory_gb); raise memory_gb or make the model use less memory")  # fmt: skip


def probe_code(port: int) -> str:
    return ("import urllib.request as u; u.build_opener(u.ProxyHandler({})).open("
            f"'http://127.0.0.1:{port}/health/ready', timeout=2)")  # fmt: skip


def with_port(command: list[str], port: int) -> list[str]:
    """The image's server command with ``--port`` set to ``port``."""
    if "--port" in command:
        at = command.index("--port")
        return [*command[: at + 1], str(port), *command[at + 2 :]]
    return [*command, "--port", str(port)]
