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
import socket
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


def _nat(client: Any, holder: str) -> list[str]:
    """The command prefix that runs ``iptables -t nat`` inside the holder's network namespace."""
    pid = int(client.containers.get(holder).attrs["State"]["Pid"])
    if pid <= 0:
        raise ValueError(f"container {holder} is not running")
    return ["nsenter", f"--net=/proc/{pid}/ns/net", "iptables", "-w", "-t", "nat"]


def _iptables(command: list[str]) -> str:
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)
    return done.stdout


def redirect(client: Any, holder: str, to_port: int) -> bool:
    """Make new connections to 5001 reach ``to_port`` in the holder's namespace (True if done).

    Idempotent: afterwards there is exactly one REDIRECT rule (none for ``to_port`` 5001), however
    many times this runs. An existing rule is replaced in one step (``-R``), so there is no
    moment without a rule; open connections keep their conntrack entry (old server)."""
    try:
        base = _nat(client, holder)
        listed = _iptables([*base, "-S", "PREROUTING"]).splitlines()
        rules = [line for line in listed if line.startswith("-A PREROUTING")]
        ours = [
            (number, line)
            for number, line in enumerate(rules, start=1)
            if "REDIRECT" in line and f"--dport {PORTS[0]} " in line
        ]
        keep = 0
        if to_port != PORTS[0]:
            keep = 1
            rule = ["-p", "tcp", "--dport", str(PORTS[0]), "-j", "REDIRECT", "--to-ports", str(to_port)]  # fmt: skip
            if not ours:
                _iptables([*base, "-A", "PREROUTING", *rule])
            elif not ours[0][1].endswith(f"--dport {PORTS[0]} -j REDIRECT --to-ports {to_port}"):
                _iptables([*base, "-R", "PREROUTING", str(ours[0][0]), *rule])
        for number, _line in reversed(ours[keep:]):  # duplicates (every rule, for 5001)
            _iptables([*base, "-D", "PREROUTING", str(number)])
    except (OSError, subprocess.SubprocessError, KeyError, ValueError):
        return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now (the kernel's choice), for a holder to publish for good."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_port_conflict(reason: str) -> bool:
    """Did the engine refuse a container because its host port is taken (``reason``: what it
    said)?"""
    text = reason.lower()
    return any(
        marker in text
        for marker in ("port is already allocated", "address already in use", "bind for")
    )


def port_holders(client: Any, port: int) -> list[str]:
    """``<scope>/<service>`` of every dockyard holder container that publishes ``port``."""
    found = []
    with contextlib.suppress(Exception):
        for container in client.containers.list(
            all=True, filters={"label": "dockyard.role=holder"}
        ):
            bindings = (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).values()
            published = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).values()
            ports = {
                str(b.get("HostPort"))
                for group in [*bindings, *published]
                for b in group or []
                if b.get("HostPort")
            }
            if str(port) in ports and container.status in ("running", "restarting"):
                found.append(str(container.labels.get("dockyard.service") or container.name))
    return found


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
