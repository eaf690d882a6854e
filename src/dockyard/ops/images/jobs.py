"""Image builds running in the background, and waiting for a build wherever it runs.

:func:`run_in_background` builds in a thread of this process that is not a daemon (the
interpreter waits for it at exit, so a script that never waits still gets its image).
:func:`wait` streams a build of this process, or follows one started by another process through
the store and the log file; :func:`refresh` records as ``Failed`` a build whose process died.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from dockyard.errors import ImageCreationError
from dockyard.ops.images.build import ImagePlan, run_build
from dockyard.ops.images.records import build_log_uri, image_id, require
from dockyard.store import images
from dockyard.store.images import FAILED, NOT_STARTED, RUNNING, SUCCEEDED, ImageRecord

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


class Job:
    """A build running in this process: its log lines, and how it ended."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.cond = threading.Condition()

    def add(self, line: str) -> None:
        with self.cond:
            self.lines.append(line)
            self.cond.notify_all()


#: Builds running in this process, by (workspace path, image row id).
JOBS: dict[tuple[str, int], Job] = {}


def run_in_background(ws: Workspace, record: ImageRecord, plan: ImagePlan, client: Any) -> Job:
    """Build ``record`` from ``plan`` in a thread of this process (see the module docstring)."""
    job = Job()
    JOBS[(str(ws.path), record.id)] = job

    def work() -> None:
        try:
            run_build(ws, record, plan, on_line=job.add, client=client)
        except BaseException as exc:  # recorded in the store by run_build; kept for the waiter
            job.error = exc
        finally:
            job.done.set()
            with job.cond:
                job.cond.notify_all()

    name = f"dockyard-build-{record.name}-{record.version}"
    threading.Thread(target=work, name=name).start()
    return job


def refresh(ws: Workspace, record: ImageRecord) -> ImageRecord:
    """The record as stored now; a build whose process died is recorded as Failed."""
    record = require(ws, record.name, record.version)
    if record.state in (RUNNING, NOT_STARTED) and _builder_died(ws, record):
        builder = record.spec.get("builder") or {}
        images.update(
            ws.store, record.id, state=FAILED,
            error=f"The build process (pid {builder.get('pid')}) ended before the build "
            "finished; create the image again",
        )  # fmt: skip
        record = require(ws, record.name, record.version)
    return record


def _builder_died(ws: Workspace, record: ImageRecord) -> bool:
    if (str(ws.path), record.id) in JOBS:
        return False
    builder = record.spec.get("builder") or {}
    pid = builder.get("pid")
    if not pid or builder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def wait(
    ws: Workspace, record: ImageRecord, show_output: bool = False, every: float = 0.5
) -> ImageRecord:
    """Wait until the build of ``record`` ends (``show_output`` prints it as it runs); returns
    the Succeeded record, else raises :class:`ImageCreationError` (step, log tail, log path)."""
    job = JOBS.get((str(ws.path), record.id))
    if job is not None:
        _follow_job(job, show_output)
    else:
        _follow_store(ws, record, show_output, every)
    record = refresh(ws, record)
    if show_output:
        print(f"Image creation operation finished for image {image_id(record)}, operation "
              f'"{record.state}"')  # fmt: skip
    if record.state != SUCCEEDED:
        raise _creation_error(record, job.error if job else None)
    return record


def _follow_job(job: Job, show_output: bool) -> None:
    shown = 0
    while True:
        with job.cond:
            if shown >= len(job.lines) and not job.done.is_set():
                job.cond.wait(timeout=0.5)
            lines = job.lines[shown:]
        shown += len(lines)
        if show_output:
            for line in lines:
                print(line, flush=True)
        if job.done.is_set() and shown >= len(job.lines):
            return


def _follow_store(ws: Workspace, record: ImageRecord, show_output: bool, every: float) -> None:
    offset = 0
    while True:
        record = refresh(ws, record)
        if show_output and record.build_log_path:
            try:
                with open(record.build_log_path, encoding="utf-8") as handle:
                    handle.seek(offset)
                    sys.stdout.write(handle.read())
                    offset = handle.tell()
            except FileNotFoundError:
                pass
        if record.state in (SUCCEEDED, FAILED):
            return
        time.sleep(every)


def _creation_error(record: ImageRecord, error: BaseException | None) -> ImageCreationError:
    step = getattr(error, "step", None) or "image build"
    message = getattr(error, "message", None) or (record.error or "unknown error")
    return ImageCreationError(
        f"Image {image_id(record)} was not created (state {record.state}): {message}",
        step=step,
        log_tail=getattr(error, "log_tail", None),
        hint=(getattr(error, "hint", None) or "read the build log")
        + f"; `dockyard image logs {image_id(record)}` prints the full log "
        f"({build_log_uri(record)})",
    )


def require_succeeded(ws: Workspace, record: ImageRecord, what: str) -> ImageRecord:
    """The record, refreshed; :class:`ImageCreationError` unless its build Succeeded."""
    record = refresh(ws, record)
    if record.state != SUCCEEDED:
        raise ImageCreationError(
            f"Cannot {what} image {image_id(record)}: its state is {record.state}",
            step=what,
            hint="wait for the build (image.wait_for_creation()) or create the image again",
        )
    return record


__all__ = ["JOBS", "Job", "refresh", "require_succeeded", "run_in_background", "wait"]
