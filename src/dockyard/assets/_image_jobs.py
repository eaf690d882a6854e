"""Image builds running in this process: start one in a background thread, follow it.

``start_build`` records the next image version and builds it in a thread that is not a daemon
(the interpreter waits for it at exit, so a script that never calls ``wait_for_creation`` still
gets its image). ``follow_job`` streams a build of this process; ``follow_store`` follows one
started by another process through the store and the log file.
"""

from __future__ import annotations

import builtins
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from dockyard.assets import _image_build as build
from dockyard.assets import _image_repo as repo
from dockyard.assets._image_build import ContainerImageConfig

if TYPE_CHECKING:
    from dockyard.assets.image import Image
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


def start_build(
    ws: Workspace,
    name: str,
    models: builtins.list[Any],
    image_config: ContainerImageConfig | None,
    *,
    inference_config: Any = None,
    tags: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    description: str | None = None,
    content_hash: str | None = None,
    wait: bool = False,
) -> Image:
    """Record the next version of ``name`` and build it in a background thread (see module doc).

    Give ``image_config`` (``Image.create``) or ``inference_config`` (``Model.deploy``/``package``).
    """
    from dockyard.assets import image as image_module
    from dockyard.targets.docker_engine import connect

    repo.check_image_name(name)
    client = connect()  # an unreachable engine fails here, with how to start one
    ids = build.model_ids(models)
    record = repo.create_version(
        ws, name, model_ids=ids, tags=dict(tags or {}), properties=dict(properties or {}),
        description=description,
    )  # fmt: skip
    folder = build.image_dir(ws, name, record.version)
    if image_config is not None:
        inference_config = image_config.staged_inference_config(folder / "source")
    env = inference_config.environment
    registry = build.settings.registry(ws)
    planned = build.local_tag(ws, name, record.version)
    if registry is not None:
        planned = f"{registry.address}/{name}:{record.version}"
    record = repo.update(
        ws, record.id, build_log_path=str(folder / "build.log"),
        environment_build_hash=env.build_hash() if env is not None else None,
        spec={
            "inference": inference_config.serialize(),
            "image_config": image_config.serialize() if image_config else None,
            "content_hash": content_hash or build.content_hash(ws, inference_config, models),
            "planned_location": planned,
        },
    )  # fmt: skip
    job = Job()
    key = (str(ws.path), record.id)
    JOBS[key] = job

    def work() -> None:
        try:
            build.run_build(ws, record, inference_config, models, on_line=job.add, client=client)
        except BaseException as exc:  # recorded in the store by run_build; kept for the waiter
            job.error = exc
        finally:
            job.done.set()
            with job.cond:
                job.cond.notify_all()

    thread = threading.Thread(target=work, name=f"dockyard-build-{name}-{record.version}")
    thread.start()
    image = image_module.Image._from_record(ws, repo.require(ws, name, record.version))
    if wait:
        image.wait_for_creation()
    return image


def follow_job(job: Job, show_output: bool) -> None:
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


def follow_store(image: Image, show_output: bool, every: float) -> None:
    offset = 0
    while True:
        image.update_creation_state()
        if show_output and image._record.build_log_path:
            try:
                with open(image._record.build_log_path, encoding="utf-8") as handle:
                    handle.seek(offset)
                    sys.stdout.write(handle.read())
                    offset = handle.tell()
            except FileNotFoundError:
                pass
        if image._record.state in (repo.SUCCEEDED, repo.FAILED):
            return
        time.sleep(every)
