"""The supervisor's loop: it owns the service's state and composes the other modules.

Every 20 ms it switches to the next version if SIGHUP asked for one, watches the running
generation (ready, exited, timed out) and the pending one, reaps retired generations, probes
health and answers the port while no version serves. The state and the events go to
``status.json`` after every change. The package docstring describes the protocol.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from dockyard.server import contract
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    DeploymentSpec,
)
from dockyard.targets.supervisor import crash, generations, health, port
from dockyard.targets.supervisor.files import (
    LOG_FILE,
    NEXT_SPEC_FILE,
    STATUS_FILE,
    discard_next_spec,
    promote_next_spec,
    read_spec,
    read_status,
    remember_port,
    write_json_atomic,
)
from dockyard.targets.supervisor.generations import Generation
from dockyard.targets.supervisor.log import ServiceLog
from dockyard.targets.supervisor.spawn import Starter

TICK_SECONDS = 0.02
EVENTS_KEPT = 100
EVENTS_IN_STATUS = 50


class Supervisor:
    """One service's supervisor (see the package docstring)."""

    def __init__(self, service_dir: Path) -> None:
        self.dir = service_dir
        self.log = ServiceLog(service_dir / LOG_FILE)
        self.sock: socket.socket | None = None
        self.starter: Starter | None = None
        self.current: Generation | None = None
        self.pending: Generation | None = None
        self.retiring = generations.Retiring()
        self.prober = health.Prober()
        self.unserved = port.Unserved()
        self.state = TRANSITIONING
        self.error: str | None = None
        self.restart_count = 0
        self.crash_streak = 0
        self.restart_at: float | None = None  # monotonic time of the next start after an exit
        self.events: list[dict[str, Any]] = []
        self.update_result: dict[str, Any] | None = None
        self.hup = False
        self.term = False
        self.stopped_first = False  # the pending version started after the old one stopped
        previous = read_status(service_dir) or {}
        # Numbers go on from the last supervisor's, so that a generation number names one start.
        self.next_generation = int(previous.get("generation") or 0) + 1

    # --- the state and status.json --------------------------------------------------------------
    def event(self, state: str, message: str) -> None:
        self.events.append({"at": time.time(), "state": state, "message": message})
        del self.events[:-EVENTS_KEPT]
        self.log.say(f"{state}: {message}")

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
                "pids": gen.alive_pids() if gen else [],
                "generation": gen.number if gen else self.next_generation - 1,
                "revision": gen.spec.revision if gen else None,
                "events": self.events[-EVENTS_IN_STATUS:],
                "update": self.update_result,
                "updated_at": time.time(),
            },
        )

    def record_update(
        self, gen: Generation, state: str, error: str | None = None, stopped_first: bool = False
    ) -> None:
        """What became of the version SIGHUP asked for (``status.json``'s ``update``);
        ``stopped_first``: the running version was stopped before it started (the debugger)."""
        self.update_result = {
            "generation": gen.number,
            "revision": gen.spec.revision,
            "state": state,
            "error": error,
            "stopped_first": stopped_first,
        }

    # --- starting -------------------------------------------------------------------------------
    def bind(self, spec: DeploymentSpec) -> None:
        try:
            sock = port.bind_port(spec.host, spec.port)
        except port.PortUnavailable as exc:
            self.set_state(FAILED, "port unavailable", str(exc))
            raise SystemExit(1) from None
        self.sock = sock
        self.starter = Starter(sock, self.log)
        if spec.port == 0:  # a free port was asked for: remember the one we got, for restarts
            remember_port(self.dir, sock.getsockname()[1])

    def start(self, spec: DeploymentSpec) -> Generation:
        assert self.starter is not None
        number = self.next_generation
        self.next_generation += 1
        return self.starter.start(number, spec)

    def became_ready(self, gen: Generation) -> None:
        """Bookkeeping shared by a first start and a switch: no crash streak, probe afresh."""
        gen.ready = True
        self.crash_streak = 0
        self.prober.restart()

    # --- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        spec = read_spec(self.dir)
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "hup", True))
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "term", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "term", True))
        self.log.say(
            f"supervisor pid {os.getpid()} for service {spec.name} on {spec.host}:{spec.port}"
        )
        self.bind(spec)
        self.current = self.start(read_spec(self.dir))
        self.event(TRANSITIONING, "starting the scoring server")
        self.save()
        while not self.term:
            if self.hup:
                self.hup = False
                self.begin_update()
            self.watch_current()
            self.watch_pending()
            self.retiring.reap()
            self.probe()
            self.answer_port()
            time.sleep(TICK_SECONDS)
        self.log.say("stopping")
        self.retiring.stop_all()
        generations.stop(self.pending)
        generations.stop(self.current)
        if self.starter is not None:
            self.starter.stop_warm()
        self.set_state(STOPPED, "stopped on request")
        return 0

    def watch_current(self) -> None:
        gen = self.current
        if gen is None:
            if self.restart_at is not None and time.monotonic() >= self.restart_at:
                self.restart_at = None
                self.current = self.start(read_spec(self.dir))
                if self.state != CRASH_LOOP:
                    self.set_state(TRANSITIONING, "restarting the scoring server")
                else:
                    self.save()
            return
        codes = gen.exit_codes()
        if not gen.ready and gen.all_said_ready(codes):
            self.became_ready(gen)
            took = gen.seconds_since_start()
            self.set_state(HEALTHY, f"ready in {took:.2f}s (generation {gen.number})")
            self.keep_warm(gen)
            return
        exited = [c for c in codes if c is not None]
        if not exited:
            if not gen.ready and gen.startup_timed_out():
                generations.stop(gen)
                self.current = None
                self.set_state(
                    FAILED,
                    "start-up timeout",
                    "init() did not finish within the start-up timeout of "
                    f"{gen.spec.startup_timeout_seconds:g} s. Raise startup_timeout_seconds in "
                    "the deployment configuration, or make init() faster.",
                )
            return
        code = exited[0]
        was_ready = gen.ready
        generations.stop(gen)  # one worker died: restart the generation as a whole
        self.current = None
        self.restart_count += 1
        verdict = crash.after_exit(code, was_ready, self.crash_streak)
        if verdict.crashed:
            self.crash_streak += 1
        if verdict.restart_in is not None:
            self.restart_at = time.monotonic() + verdict.restart_in
        error = crash.crash_text(code, self.log.servers_lines_since(gen.log_offset))
        self.set_state(verdict.state, verdict.message, error)

    def begin_update(self) -> None:
        try:
            spec = read_spec(self.dir, NEXT_SPEC_FILE)
        except (FileNotFoundError, json.JSONDecodeError, TypeError) as exc:
            self.log.say(f"SIGHUP without a readable {NEXT_SPEC_FILE}: {exc}")
            return
        generations.stop(self.pending)
        old = self.current
        stop_first = old is not None and (debugger_on(spec) or debugger_on(old.spec))
        if stop_first and old is not None:
            # two versions cannot both listen on the debugger's port: the old one goes first
            self.event(
                TRANSITIONING,
                f"the debugger is on: stopping generation {old.number} before the new version "
                "starts (no version serves until it is ready)",
            )
            generations.stop(old)
            self.current, self.restart_at = None, None
            self.state, self.error = TRANSITIONING, None
        self.pending = self.start(spec)
        self.stopped_first = stop_first
        self.record_update(self.pending, TRANSITIONING, stopped_first=stop_first)
        where = "after the running one stopped" if stop_first else "beside the running one"
        self.event(TRANSITIONING, f"starting generation {self.pending.number} {where}")
        self.save()

    def watch_pending(self) -> None:
        gen = self.pending
        if gen is None:
            return
        codes = gen.exit_codes()
        if gen.all_said_ready(codes):
            old = self.current
            self.current, self.pending = gen, None
            promote_next_spec(self.dir)
            self.retiring.retire(old)
            generations.wait_until_not_accepting(old, self.sock, self.log.say)
            self.became_ready(gen)
            self.restart_at = None
            self.record_update(gen, HEALTHY, stopped_first=self.stopped_first)
            took = gen.seconds_since_start()
            self.state, self.error = HEALTHY, None
            self.event(HEALTHY, f"switched to generation {gen.number} (ready in {took:.2f}s)")
            self.save()
            self.keep_warm(gen)
            return
        exited = [c for c in codes if c is not None]
        if exited or gen.startup_timed_out():
            generations.stop(gen)
            self.pending = None
            error = (
                crash.crash_text(exited[0], self.log.servers_lines_since(gen.log_offset))
                if exited
                else "init() did not finish within the start-up timeout of "
                f"{gen.spec.startup_timeout_seconds:g} s"
            )
            discard_next_spec(self.dir)
            self.record_update(gen, FAILED, error, stopped_first=self.stopped_first)
            if self.stopped_first and self.current is None:  # nothing serves now
                self.set_state(
                    FAILED,
                    f"generation {gen.number} failed; the previous version was stopped first "
                    "(the debugger is on), so no version serves",
                    error,
                )
                return
            self.event(
                FAILED, f"generation {gen.number} failed; the previous version keeps serving"
            )
            self.save()

    def keep_warm(self, gen: Generation) -> None:
        if self.starter is not None:
            self.starter.keep_warm(gen)

    # --- while serving, and while not ---------------------------------------------------------
    def probe(self) -> None:
        gen = self.current
        if gen is None or not gen.ready or self.sock is None:
            return
        host, bound_port = self.sock.getsockname()[:2]
        change = self.prober.check(host, bound_port, self.state)
        if change is not None:
            self.set_state(*change)

    def answer_port(self) -> None:
        """Answer waiting connections with 503 while no version serves (see ``port.Unserved``)."""
        gen = self.current
        if self.sock is None or (gen is not None and gen.ready):
            self.unserved.served()
            return
        name = gen.spec.name if gen is not None else self.dir.name
        env = gen.spec.env if gen is not None else {}
        self.unserved.answer(self.sock, self.state, name, env, self.restart_at)


def debugger_on(spec: DeploymentSpec) -> bool:
    """Does ``spec`` start debugpy listening on a port (the deployment's ``debugger_port``)?"""
    return bool(spec.env.get(contract.DEBUGPY_LISTEN_ENV))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dockyard.targets.supervisor SERVICE_DIR", file=sys.stderr)
        return 2
    service_dir = Path(args[0])
    os.chdir(service_dir)
    return Supervisor(service_dir).run()
