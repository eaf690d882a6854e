"""The supervisor of one local service: a small background process that outlives the caller.

Run as ``python -m dockyard.targets.supervisor SERVICE_DIR``. It

* binds the service's port once (127.0.0.1) and hands the listening socket to the scoring-server
  processes it starts (``DOCKYARD_LISTEN_FD``), so that the port is kept across restarts, reloads
  and updates, and a new version can start beside the old one on the same port;
* knows a server is ready when it writes its ready file (``DOCKYARD_READY_FILE``, after
  ``init()``), and only then calls the service ``Healthy``;
* restarts a server that dies: exit code 3 (import or ``init()`` failed) means
  ``CrashLoopBackOff`` with exponential back-off; a bad configuration (any other non-zero exit
  before readiness, e.g. 2) means ``Failed``, no restart; a server killed after it was ready is
  restarted at once and the restart count grows;
* probes ``/health/ready`` while running and reports ``Unhealthy`` when nothing answers;
* on SIGHUP, starts the version described in ``deployment.next.json`` beside the running one,
  switches when it is ready, then stops the old one (no failed request); if the new version
  fails, the old one keeps serving and ``status.json`` says why;
* while no version serves, answers the port itself so that no client hangs: at once with 503,
  the state and the command that shows why once a start has failed (``CrashLoopBackOff``, also
  while a back-off retry runs ``init()`` again, and ``Failed``); during a start, connections wait
  for the server as they would for azmlinfsrv, and get 503 only once they have waited longer
  than ``DOCKYARD_STARTUP_REQUEST_WAIT_S``;
* on SIGTERM, stops its servers and exits.

Files in SERVICE_DIR: ``deployment.json`` (what runs), ``deployment.next.json`` (what to switch
to), ``status.json`` (written atomically by this process only), ``server.log`` (the servers'
stdout and stderr, and this process's own lines prefixed ``[dockyard]``).

Nothing here knows about the workspace's database: the SDK reads ``status.json`` and records
state changes in the store.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.server import contract
from dockyard.server.failure_report import start_failure_report
from dockyard.server.settings import DEFAULT_STARTUP_REQUEST_WAIT_S
from dockyard.server.unready import answer_waiting, unready_response
from dockyard.targets import warm
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    DeploymentSpec,
)

STATUS_FILE = "status.json"
SPEC_FILE = "deployment.json"
NEXT_SPEC_FILE = "deployment.next.json"
LOG_FILE = "server.log"
INIT_FAILED_EXIT = contract.EXIT_SCRIPT_FAILED
BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
PROBE_INTERVAL = 2.0
PROBE_FAILURES_FOR_UNHEALTHY = 2
STOP_GRACE_SECONDS = 10.0
PORT_RELEASE_SECONDS = 5.0
LOG_ROTATE_BYTES = 64 * 1024 * 1024
TAIL_LINES_IN_ERROR = 30


def read_status(service_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((service_dir / STATUS_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def tail(path: Path, num_lines: int) -> str:
    """The last ``num_lines`` lines of a text file (reads only the end of big files)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            block = 64 * 1024
            data = b""
            while size > 0 and data.count(b"\n") <= num_lines:
                step = min(block, size)
                size -= step
                handle.seek(size)
                data = handle.read(step) + data
    except FileNotFoundError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-num_lines:]) + ("\n" if lines else "")


def _holds(pid: int, link: str) -> bool:
    """Does process ``pid`` still have a file descriptor on ``link`` (``socket:[inode]``)?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == link:
                return True
    return False


def _set_parent_death_signal() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Generation:
    """One version of the service: its spec and its server processes."""

    number: int
    spec: DeploymentSpec
    procs: list[Any] = field(default_factory=list)  # Popen or warm.WarmChild
    started_at: float = 0.0
    ready: bool = False
    log_offset: int = 0  # size of server.log when this generation started

    @property
    def ready_files(self) -> list[Path]:
        return [self.spec.service_dir / f"ready.{self.number}.{i}" for i in range(len(self.procs))]


class Supervisor:
    def __init__(self, service_dir: Path) -> None:
        self.dir = service_dir
        self.log_path = service_dir / LOG_FILE
        self.sock: socket.socket | None = None
        self.current: Generation | None = None
        self.pending: Generation | None = None
        self.state = TRANSITIONING
        self.error: str | None = None
        self.restart_count = 0
        self.crash_streak = 0
        self.restart_at: float | None = None
        self.events: list[dict[str, Any]] = []
        self.update_result: dict[str, Any] | None = None
        self.probe_failures = 0
        self.next_probe = 0.0
        self.hup = False
        self.term = False
        self.retiring: list[tuple[Generation, float]] = []  # (old version, kill deadline)
        self.zygote: warm.Zygote | None = None
        self.unserved_since: float | None = time.monotonic()  # since when no version serves
        self.log_handle = open(self.log_path, "ab", buffering=0)  # noqa: SIM115
        previous = read_status(service_dir) or {}
        # Numbers go on from the last supervisor's, so that a generation number names one start.
        self.next_generation = int(previous.get("generation") or 0) + 1

    # --- bookkeeping ----------------------------------------------------------------------------
    def say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self.log_handle.write(f"{stamp} [dockyard] {message}\n".encode())

    def event(self, state: str, message: str) -> None:
        self.events.append({"at": time.time(), "state": state, "message": message})
        del self.events[:-100]
        self.say(f"{state}: {message}")

    def set_state(self, state: str, message: str, error: str | None = None) -> None:
        changed = state != self.state or error != self.error
        self.state = state
        self.error = error
        if changed:
            self.event(state, message)
        self.save()

    def save(self) -> None:
        gen = self.current
        write_json_atomic(
            self.dir / STATUS_FILE,
            {
                "supervisor_pid": os.getpid(),
                "state": self.state,
                "error": self.error,
                "restart_count": self.restart_count,
                "port": self.sock.getsockname()[1] if self.sock else None,
                "pids": [p.pid for p in gen.procs if p.poll() is None] if gen else [],
                "generation": gen.number if gen else self.next_generation - 1,
                "revision": gen.spec.revision if gen else None,
                "events": self.events[-50:],
                "update": self.update_result,
                "updated_at": time.time(),
            },
        )

    # --- processes ------------------------------------------------------------------------------
    def bind(self, spec: DeploymentSpec) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Servers of a previous supervisor (stopped or killed) may still be closing the port.
        deadline = time.monotonic() + PORT_RELEASE_SECONDS
        error: OSError | None = None
        while True:
            try:
                sock.bind((spec.host, spec.port))
                break
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and spec.port and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                error = exc
                break
        if error is not None:
            sock.close()
            self.set_state(
                FAILED,
                "port unavailable",
                f"Port {spec.port} on {spec.host} is taken ({error.strerror}). Deploy with another "
                "port, or free it (`dockyard service list` shows which service holds it).",
            )
            raise SystemExit(1) from None
        sock.listen(2048)
        sock.set_inheritable(True)
        sock.setblocking(False)  # the servers share it (asyncio sets this too); see answer_port
        self.sock = sock
        if spec.port == 0:  # a free port was asked for: remember the one we got, for restarts
            data = json.loads((self.dir / SPEC_FILE).read_text())
            data["port"] = sock.getsockname()[1]
            write_json_atomic(self.dir / SPEC_FILE, data)

    def spawn(self, spec: DeploymentSpec) -> Generation:
        assert self.sock is not None
        self._rotate_log()
        gen = Generation(number=self.next_generation, spec=spec, started_at=time.monotonic())
        with contextlib.suppress(OSError):
            gen.log_offset = self.log_path.stat().st_size
        self.next_generation += 1
        for index in range(max(1, spec.worker_count)):
            ready_file = spec.service_dir / f"ready.{gen.number}.{index}"
            with contextlib.suppress(FileNotFoundError):
                ready_file.unlink()
            env = {**os.environ, **spec.env}
            env.update(
                {
                    contract.LISTEN_FD_ENV: str(self.sock.fileno()),
                    contract.READY_FILE_ENV: str(ready_file),
                    "PYTHONUNBUFFERED": "1",
                    contract.WORKER_COUNT_ENV: "1",
                }
            )
            args = ["--host", spec.host, "--port", str(spec.port), "--workers", "1"]
            proc = self._spawn_warm(spec, env, args) or subprocess.Popen(
                spec.command(*args),
                cwd=str(spec.app_root),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self.log_handle,
                stderr=subprocess.STDOUT,
                pass_fds=(self.sock.fileno(),),
                preexec_fn=_set_parent_death_signal,  # noqa: PLW1509
            )
            gen.procs.append(proc)
        self.say(f"generation {gen.number}: started server pid(s) {[p.pid for p in gen.procs]}")
        return gen

    def _spawn_warm(self, spec: DeploymentSpec, env: dict[str, str], args: list[str]) -> Any:
        """Fork the server from the warm parent when it has this environment loaded."""
        zygote = self.zygote
        if zygote is None or not warm.enabled(spec) or not zygote.alive:
            return None
        zygote.pump()
        if not zygote.ready or zygote.key != warm.warm_key(spec):
            return None
        try:
            child = zygote.spawn(env, str(spec.app_root), [*args, *spec.extra_args])
        except OSError as exc:
            self.say(f"warm start failed ({exc}); starting cold")
            return None
        self.say(f"server pid {child.pid} forked from the warm parent (packages already imported)")
        return child

    def ensure_warm_parent(self, gen: Generation) -> None:
        """After a version is ready: keep a warm parent with its packages for the next start."""
        if not warm.enabled(gen.spec) or self.sock is None:
            return
        key = warm.warm_key(gen.spec)
        if self.zygote is not None and self.zygote.alive and self.zygote.key == key:
            return
        if self.zygote is not None:
            self.zygote.stop()
        try:
            info = json.loads(gen.ready_files[0].read_text() or "{}")
        except (OSError, ValueError, IndexError):
            info = {}
        found = info.get("modules", []) if isinstance(info, dict) else []
        modules = [m for m in found if isinstance(m, str)]
        try:
            self.zygote = warm.Zygote(
                gen.spec, modules, self.sock.fileno(), self.log_handle, _set_parent_death_signal
            )
        except OSError as exc:  # never let the fast path take the service down
            self.zygote = None
            self.say(f"could not start a warm parent ({exc}); restarts will start cold")
            return
        self.say(f"warm parent pid {self.zygote.proc.pid} preloading {len(modules)} package(s)")

    def _rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log_path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log_path, self.log_path.with_suffix(".log.1"))
                self.log_handle.close()
                self.log_handle = open(self.log_path, "ab", buffering=0)  # noqa: SIM115

    def retire(self, gen: Generation | None) -> None:
        """Stop a replaced version without waiting: it finishes its in-flight requests while the
        new version already serves (reaped by ``reap_retiring``)."""
        if gen is None:
            return
        for proc in gen.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        self.retiring.append((gen, time.monotonic() + STOP_GRACE_SECONDS))

    def wait_until_not_accepting(self, gen: Generation | None, limit: float = 3.0) -> None:
        """Return once ``gen``'s processes have closed the shared listening socket (they do so
        first thing on SIGTERM), so that every connection from now on reaches the new version.
        Their in-flight requests still finish; the rest of their shutdown goes on in the
        background."""
        if gen is None or self.sock is None:
            return
        inode = os.fstat(self.sock.fileno()).st_ino
        link = f"socket:[{inode}]"
        deadline = time.monotonic() + limit
        pids = [p.pid for p in gen.procs if p.poll() is None]
        started = time.monotonic()
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _holds(pid, link)]
            if pids:
                time.sleep(0.005)
        waited = time.monotonic() - started
        if pids:
            self.say(
                f"generation {gen.number} still holds the port after {waited:.2f}s; switching anyway"
            )
        else:
            self.say(f"generation {gen.number} stopped accepting after {waited:.3f}s")

    def reap_retiring(self) -> None:
        still = []
        for gen, deadline in self.retiring:
            alive = [p for p in gen.procs if p.poll() is None]
            if alive and time.monotonic() > deadline:
                for proc in alive:
                    proc.kill()
                    proc.wait()
                alive = []
            if alive:
                still.append((gen, deadline))
            else:
                for path in gen.ready_files:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
        self.retiring = still

    @staticmethod
    def stop_generation(gen: Generation | None) -> None:
        if gen is None:
            return
        for proc in gen.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in gen.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for path in gen.ready_files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def crash_text(self, gen: Generation, code: int) -> str:
        """What a failed generation printed (its own lines only), for the service's error."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(gen.log_offset)
                text = handle.read(4 * 1024 * 1024).decode("utf-8", "replace")
        except OSError:
            text = ""
        lines = [line for line in text.splitlines() if " [dockyard] " not in line]
        # the traceback once, the summary and the model-folder listing (not the banner)
        log_tail = start_failure_report("\n".join(lines)) or (
            "\n".join(lines[-TAIL_LINES_IN_ERROR:]).rstrip()
        )
        if code == INIT_FAILED_EXIT:
            head = "The entry script failed to import or its init() raised (exit code 3)."
        elif code < 0:
            head = f"The scoring server was killed by signal {-code}."
        else:
            head = f"The scoring server exited with code {code}."
        return f"{head}\n{log_tail}" if log_tail else head

    # --- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        spec = DeploymentSpec.from_json(json.loads((self.dir / SPEC_FILE).read_text()))
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "hup", True))
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "term", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "term", True))
        self.say(f"supervisor pid {os.getpid()} for service {spec.name} on {spec.host}:{spec.port}")
        self.bind(spec)
        spec = DeploymentSpec.from_json(json.loads((self.dir / SPEC_FILE).read_text()))
        self.current = self.spawn(spec)
        self.event(TRANSITIONING, "starting the scoring server")
        self.save()
        while not self.term:
            if self.hup:
                self.hup = False
                self.begin_update()
            self.watch_current()
            self.watch_pending()
            self.reap_retiring()
            self.probe()
            self.answer_port()
            time.sleep(0.02)
        self.say("stopping")
        for gen, _ in self.retiring:
            self.stop_generation(gen)
        self.stop_generation(self.pending)
        self.stop_generation(self.current)
        if self.zygote is not None:
            self.zygote.stop()
        self.set_state(STOPPED, "stopped on request")
        return 0

    def watch_current(self) -> None:
        gen = self.current
        if gen is None:
            if self.restart_at is not None and time.monotonic() >= self.restart_at:
                self.restart_at = None
                spec = DeploymentSpec.from_json(json.loads((self.dir / SPEC_FILE).read_text()))
                self.current = self.spawn(spec)
                if self.state != CRASH_LOOP:
                    self.set_state(TRANSITIONING, "restarting the scoring server")
                else:
                    self.save()
            return
        codes = [p.poll() for p in gen.procs]
        if not gen.ready and all(f.exists() for f in gen.ready_files) and None in codes:
            gen.ready = True
            self.crash_streak = 0
            self.probe_failures = 0
            self.next_probe = time.monotonic() + PROBE_INTERVAL
            took = time.monotonic() - gen.started_at
            self.set_state(HEALTHY, f"ready in {took:.2f}s (generation {gen.number})")
            self.ensure_warm_parent(gen)
            return
        exited = [c for c in codes if c is not None]
        if not exited:
            limit = gen.spec.startup_timeout_seconds
            if not gen.ready and limit and time.monotonic() - gen.started_at > limit:
                self.stop_generation(gen)
                self.current = None
                self.set_state(
                    FAILED,
                    "start-up timeout",
                    f"init() did not finish within the start-up timeout of {limit:g} s. Raise "
                    "startup_timeout_seconds in the deployment configuration, or make init() faster.",
                )
            return
        code = exited[0]
        was_ready = gen.ready
        self.stop_generation(gen)  # one worker died: restart the generation as a whole
        self.current = None
        self.restart_count += 1
        if code == INIT_FAILED_EXIT or (
            not was_ready and code > 0 and code != contract.EXIT_BAD_SETTINGS
        ):
            delay = BACKOFF_SECONDS[min(self.crash_streak, len(BACKOFF_SECONDS) - 1)]
            self.crash_streak += 1
            self.restart_at = time.monotonic() + delay
            self.set_state(
                CRASH_LOOP,
                f"server failed to start; restart in {delay:g}s",
                self.crash_text(gen, code),
            )
        elif code == contract.EXIT_BAD_SETTINGS and not was_ready:
            self.set_state(
                FAILED, "bad server configuration; not restarting", self.crash_text(gen, code)
            )
        else:
            self.restart_at = time.monotonic() + (0.2 if was_ready else 1.0)
            self.set_state(
                TRANSITIONING, f"server exited ({code}); restarting", self.crash_text(gen, code)
            )

    def begin_update(self) -> None:
        path = self.dir / NEXT_SPEC_FILE
        try:
            spec = DeploymentSpec.from_json(json.loads(path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError) as exc:
            self.say(f"SIGHUP without a readable {NEXT_SPEC_FILE}: {exc}")
            return
        self.stop_generation(self.pending)
        self.pending = self.spawn(spec)
        self.update_result = {
            "generation": self.pending.number,
            "revision": spec.revision,
            "state": TRANSITIONING,
            "error": None,
        }
        self.event(
            TRANSITIONING, f"starting generation {self.pending.number} beside the running one"
        )
        self.save()

    def watch_pending(self) -> None:
        gen = self.pending
        if gen is None:
            return
        codes = [p.poll() for p in gen.procs]
        if all(f.exists() for f in gen.ready_files) and None in codes:
            old = self.current
            self.current, self.pending = gen, None
            gen.ready = True
            os.replace(self.dir / NEXT_SPEC_FILE, self.dir / SPEC_FILE)
            self.retire(old)
            self.wait_until_not_accepting(old)
            self.crash_streak = 0
            self.restart_at = None
            self.probe_failures = 0
            self.next_probe = time.monotonic() + PROBE_INTERVAL
            self.update_result = {
                "generation": gen.number,
                "revision": gen.spec.revision,
                "state": HEALTHY,
                "error": None,
            }
            took = time.monotonic() - gen.started_at
            self.state, self.error = HEALTHY, None
            self.event(HEALTHY, f"switched to generation {gen.number} (ready in {took:.2f}s)")
            self.save()
            self.ensure_warm_parent(gen)
            return
        exited = [c for c in codes if c is not None]
        limit = gen.spec.startup_timeout_seconds
        timed_out = bool(limit) and time.monotonic() - gen.started_at > (limit or 0)
        if exited or timed_out:
            self.stop_generation(gen)
            self.pending = None
            error = (
                self.crash_text(gen, exited[0])
                if exited
                else f"init() did not finish within the start-up timeout of {limit:g} s"
            )
            with contextlib.suppress(FileNotFoundError):
                (self.dir / NEXT_SPEC_FILE).unlink()
            self.update_result = {
                "generation": gen.number,
                "revision": gen.spec.revision,
                "state": FAILED,
                "error": error,
            }
            self.event(
                FAILED, f"generation {gen.number} failed; the previous version keeps serving"
            )
            self.save()

    def answer_port(self) -> None:
        """Answer waiting connections with 503 while no version serves (see the module docstring)."""
        gen = self.current
        if self.sock is None or (gen is not None and gen.ready):
            self.unserved_since = None
            return
        now = time.monotonic()
        if self.unserved_since is None:
            self.unserved_since = now
        spec = gen.spec if gen is not None else None
        if self.state in (CRASH_LOOP, FAILED):
            name = spec.name if spec else self.dir.name
            retry = max(1, round(self.restart_at - now)) if self.restart_at else 10
            what = (
                "its scoring script failed to start and is being retried"
                if self.state == CRASH_LOOP
                else "it failed to start and is not retried"
            )
            response = unready_response(
                f"Service {name!r} is {self.state}: {what}. Run `dockyard service logs {name}` "
                "(or service.get_logs()) to see why.",
                retry_after=retry,
                state=self.state,
            )
        else:
            wait_s = _startup_wait(spec)
            if now - self.unserved_since < wait_s:
                return
            response = unready_response(
                "The service is starting: the scoring script's init() has not finished within "
                f"{wait_s:g} s (DOCKYARD_STARTUP_REQUEST_WAIT_S). Retry after the Retry-After "
                "seconds.",
                state=self.state,
            )
        answer_waiting(self.sock, response)

    def probe(self) -> None:
        gen = self.current
        if gen is None or not gen.ready or time.monotonic() < self.next_probe or self.sock is None:
            return
        self.next_probe = time.monotonic() + PROBE_INTERVAL
        host, port = self.sock.getsockname()[:2]
        ok = False
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2.0)
            conn.request("GET", "/health/ready")
            ok = conn.getresponse().status == 200
            conn.close()
        except OSError:
            ok = False
        if ok:
            self.probe_failures = 0
            if self.state == UNHEALTHY:
                self.set_state(HEALTHY, "answering again")
            return
        self.probe_failures += 1
        if self.probe_failures >= PROBE_FAILURES_FOR_UNHEALTHY and self.state == HEALTHY:
            self.set_state(
                UNHEALTHY,
                "not answering",
                f"The server process is running but /health/ready did not answer {self.probe_failures} "
                "times in a row (a run() or init() may be blocking the server). See get_logs().",
            )


def _startup_wait(spec: DeploymentSpec | None) -> float:
    """How long a connection may wait for a starting server (the server's own setting)."""
    raw = (spec.env if spec else {}).get(contract.STARTUP_REQUEST_WAIT_ENV)
    try:
        return float(raw) if raw else DEFAULT_STARTUP_REQUEST_WAIT_S
    except ValueError:
        return DEFAULT_STARTUP_REQUEST_WAIT_S


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dockyard.targets.supervisor SERVICE_DIR", file=sys.stderr)
        return 2
    service_dir = Path(args[0])
    os.chdir(service_dir)
    return Supervisor(service_dir).run()


if __name__ == "__main__":
    sys.exit(main())
