"""``dockyard service commit``: a running container service, as it is now, becomes the next
version of an image in the workspace (the seed's ``docker commit`` after editing score.py in a
running container).

The new version is an ordinary image record: ``Succeeded`` at once, with the models and the
InferenceConfig of the service (so ``Webservice.deploy_from_image`` and every ``dockyard image``
command take it), no content hash (it is never reused for a build of other content), and a build
log that says where it came from: the service, its container, the image that container was
started from, the time, and the files ``docker diff`` lists as changed. It is pushed to the
workspace's registry when one is set, as built images are.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.builders.docker_builder import image_reference, push_image
from dockyard.errors import DockyardError, ValidationError
from dockyard.ops import records as services
from dockyard.ops.images import settings
from dockyard.ops.images.build import image_folder, local_tag
from dockyard.ops.images.records import FAILED, SUCCEEDED, ImageRecord, check_name, get
from dockyard.ops.service_shell import refuse_cluster, service_dir
from dockyard.ops.services import target_of
from dockyard.store import images
from dockyard.targets import docker_images as engine
from dockyard.targets import docker_tools
from dockyard.targets.docker_engine import connect

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: How many changed paths the record keeps (the build log lists them all).
RECORDED_CHANGES = 200


def source_image(ws: Workspace, record: services.ServiceRecord) -> ImageRecord | None:
    """The image service ``record`` runs (``name:version`` in its record), when it is known."""
    image_id = str(record.spec.get("image") or "")
    name, _sep, version = image_id.rpartition(":")
    if not name or not version.isdigit():
        return None
    return get(ws, name, int(version))


def commit(
    ws: Workspace,
    service: str,
    image_name: str | None = None,
    *,
    description: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> ImageRecord:
    """Commit the scoring-server container of container service ``service`` as the next version
    of image ``image_name`` (default: the image the service runs, else the service's name)."""
    say = on_line or (lambda _line: None)
    record = services.require(ws, service)
    target = target_of(ws, record)
    if target.ships_environment:
        raise refuse_cluster(record, "commit")
    if not target.needs_image:
        raise ValidationError(
            f"Service {service!r} runs as local processes: there is no container to commit",
            hint="deploy it as a container service (`dockyard model deploy ... --dc dc.json`, "
            'computeType "aci"), change it with `dockyard service exec`, then commit it; or '
            "build an image from your files: `dockyard image create`",
        )
    source = source_image(ws, record)
    name = check_name(image_name or (source.name if source else service))
    client = connect()
    container = docker_tools.server_container(client, service_dir(ws, record), service)
    changed = docker_tools.changes(client, container)
    when = datetime.now(UTC).replace(microsecond=0)
    origin = {
        "service": service,
        "container": container.name,
        "image": source.name + f":{source.version}" if source else record.spec.get("image"),
        "at": when.isoformat(),
    }
    new = images.add_version(
        ws.store, name, model_ids=list(record.model_ids), tags={},
        properties={"committedFrom": service},
        description=description or f"committed from service {service} at {when.isoformat()}",
    )  # fmt: skip
    log_path = image_folder(ws, new) / "build.log"
    new = images.update(
        ws.store, new.id, build_log_path=str(log_path), state=images.RUNNING,
        spec={"builder": {"pid": os.getpid(), "host": socket.gethostname()}},
    )  # fmt: skip
    header = [
        f"# dockyard service commit {service}: image {name}:{new.version}",
        f"# committed from container {container.name} of service {service!r} at {origin['at']}",
        f"# the container was started from image {origin['image'] or 'unknown'}",
        f"# changed files (docker diff; A added, C changed, D deleted): {len(changed)}",
        *(f"{kind} {path}" for kind, path in changed),
    ]
    _write(log_path, header, say)
    try:
        started = time.monotonic()
        tag = local_tag(ws, name, new.version)
        labels = {"dockyard.image": f"{name}:{new.version}", "dockyard.workspace": ws.id,
                  "dockyard.committed-from": f"{service} {container.name} {origin['at']}"}  # fmt: skip
        made = docker_tools.commit_container(
            client, container, tag, message=header[1].lstrip("# "), labels=labels
        )
        _write(log_path, [f"# docker commit {container.name} {tag}: {made.image_id}"], say)
        location, digest = tag, None
        registry = settings.registry(ws)
        if registry is not None:
            location = image_reference(name, new.version, registry.address)
            engine.tag_image(client, tag, location)
            digest = push_image(
                client, location, auth_config=settings.auth_config(ws, registry),
                on_line=say, log_path=log_path,
            )  # fmt: skip
    except DockyardError as exc:
        _write(log_path, [f"ERROR: {exc}"], say)
        images.update(ws.store, new.id, state=FAILED, error=str(exc))
        raise
    except Exception as exc:
        _write(log_path, [f"ERROR: {type(exc).__name__}: {exc}"], say)
        images.update(ws.store, new.id, state=FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    _write(log_path, [f"# image {name}:{new.version} is at {location}"], say)
    return images.update(
        ws.store, new.id, state=SUCCEEDED, location=location, error=None,
        environment_build_hash=source.environment_build_hash if source else None,
        spec={
            "inference": dict(record.spec.get("inference") or {}),
            "image_config": (source.spec.get("image_config") if source else None),
            "planned_location": location,
            "local_tag": tag,
            "image_id": made.image_id,
            "digest": digest,
            "size": made.size,
            "base_size": source.spec.get("size") if source else None,
            "seconds": round(time.monotonic() - started, 2),
            "base_image": made.base_image,
            "committed_from": {**origin, "changes": [f"{k} {p}" for k, p in changed[:RECORDED_CHANGES]],
                               "change_count": len(changed)},
        },
    )  # fmt: skip


def _write(path: Path, lines: list[str], say: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
            say(line)


__all__ = ["RECORDED_CHANGES", "commit", "source_image"]
