"""The Docker engine's image calls, with Docker's errors turned into dockyard's by
:func:`dockyard.targets.docker_engine.engine_errors` (the Docker target's one translation table).

The image builder (:mod:`dockyard.builders.docker_builder`), the base-image bootstrap
(:mod:`dockyard.builders.base_image`) and the image operations (:mod:`dockyard.ops.images`) call
these with a client from :func:`dockyard.targets.docker_engine.connect`; none of them imports the
Docker SDK or catches its errors:

* :func:`get_image` is None for an image the engine lacks; :func:`has_image`, :func:`image_labels`
  and :func:`image_size` answer "no"/empty for anything the engine cannot say;
* :func:`build_stream` and :func:`push_stream` yield the engine's progress items; an engine that
  refuses a build ends the stream with an ``{"error": ...}`` item (read like a failed step), a
  push that cannot reach the registry raises :class:`~dockyard.errors.ImageBuildError` (step
  ``push``);
* :func:`pull_image`, :func:`tag_image`, :func:`import_image` raise
  :class:`~dockyard.errors.ImageNotFoundError` or :class:`~dockyard.errors.ImageBuildError`
  naming the image and the step; :func:`remove_image` is idempotent.

Credentials (``auth_config``) go to the engine only and are never logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from dockyard.errors import (
    DockyardError,
    EngineUnavailableError,
    ImageBuildError,
    ImageNotFoundError,
    NotFoundError,
    ValidationError,
)
from dockyard.targets.docker_engine import engine_errors

#: HTTP timeout of one build or push stream: a silent RUN step may take this long.
BUILD_TIMEOUT = 3600
_REGISTRY_HINT = "check the registry is reachable and that you are logged in to it"


def split_reference(reference: str) -> tuple[str, str | None]:
    """``registry/name:tag`` as ``("registry/name", "tag")`` (the tag None when not given)."""
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(reference)
    return repository, tag


def get_image(client: Any, reference: str) -> Any | None:
    """The engine's ``Image`` called ``reference`` (a tag or an id), or None when it has none.

    Raises :class:`EngineUnavailableError` when the engine cannot answer."""
    try:
        with engine_errors(f"looking up image {reference}"):
            return client.images.get(reference)
    except (NotFoundError, ValidationError):  # none, or not a valid reference: none can have it
        return None


def has_image(client: Any, reference: str | None) -> bool:
    """Does the engine have ``reference``? (False for anything it cannot say.)"""
    if not reference:
        return False
    try:
        return get_image(client, reference) is not None
    except EngineUnavailableError:
        return False


def image_labels(client: Any, reference: str) -> dict[str, str]:
    """The labels of image ``reference`` (empty when the engine lacks it or cannot say)."""
    try:
        image = get_image(client, reference)
    except EngineUnavailableError:
        return {}
    return dict((image.labels or {}) if image is not None else {})


def image_size(client: Any, reference: str) -> int:
    """Bytes of image ``reference`` (0 when unknown)."""
    try:
        image = get_image(client, reference)
    except EngineUnavailableError:
        return 0
    return int(image.attrs.get("Size") or 0) if image is not None else 0


def tag_image(client: Any, source: str, reference: str) -> None:
    """Tag image ``source`` as ``reference`` (``registry/name:version``) for a push."""
    image = get_image(client, source)
    if image is None:
        raise ImageNotFoundError(
            f"Image {source} is not in the Docker engine, so it cannot be tagged {reference}",
            hint="build the image again; it was removed from the engine after the build",
        )
    repository, tag = split_reference(reference)
    with engine_errors(
        f"tagging {source} as {reference}",
        refused=lambda why: ImageBuildError(
            f"Tagging {source} as {reference} failed: {why}",
            step="push",
            hint="check the registry address (host[:port][/prefix]) in the workspace's settings",
        ),
    ):
        image.tag(repository, tag=tag)


def remove_image(client: Any, reference: str) -> bool:
    """Remove the tag ``reference``; False when it was not there or is used by a container."""
    try:
        with engine_errors(f"removing image {reference}"):
            client.images.remove(reference)
    except DockyardError:
        return False
    return True


def build_stream(
    client: Any,
    path: str,
    tag: str,
    *,
    nocache: bool = False,
    network_mode: str | None = "host",
) -> Iterator[dict[str, Any]]:
    """The engine's build of the context folder ``path`` as ``tag``, item by item (decoded).

    The engine's legacy builder, intermediate containers removed, no proxy build arguments. A
    build the engine refuses (a bad Dockerfile, a context it cannot read) ends with an
    ``{"error": ...}`` item, as a failing step does."""
    try:
        with engine_errors(f"building {tag}", missing=ImageBuildError, refused=ImageBuildError):
            yield from client.api.build(
                path=path,
                tag=tag,
                rm=True,
                forcerm=True,
                decode=True,
                nocache=nocache,
                network_mode=network_mode,
                timeout=BUILD_TIMEOUT,
                use_config_proxy=False,  # proxies would become build arguments of the image
            )
    except ImageBuildError as exc:  # the engine refused the build
        yield {"error": exc.message}


def push_stream(
    client: Any, reference: str, *, auth_config: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """The engine's push of ``reference`` (already tagged), item by item (decoded).

    Errors the registry reports arrive as ``{"error": ...}`` items; an engine or registry that
    cannot be reached raises :class:`ImageBuildError` (step ``push``)."""
    repository, tag = split_reference(reference)

    def failed(why: str) -> ImageBuildError:
        return ImageBuildError(
            f"Pushing {reference} failed: {why}",
            step="push",
            hint="check the registry address and that the engine can reach it",
        )

    with engine_errors(f"pushing {reference}", missing=failed, refused=failed, unreachable=failed):
        yield from client.api.push(
            repository, tag=tag or "latest", stream=True, decode=True, auth_config=auth_config
        )


def pull_image(client: Any, reference: str, *, auth_config: dict[str, str] | None = None) -> str:
    """Pull ``registry/name:tag`` into the engine and return the image id."""
    repository, tag = split_reference(reference)
    with engine_errors(
        f"pulling {reference}",
        missing=lambda _why: ImageNotFoundError(
            f"The registry has no image {reference}",
            hint="check the name and version (`dockyard image list`), and that it was pushed",
        ),
        refused=lambda why: ImageBuildError(
            f"Pulling {reference} failed: {why}", step="pull", hint=_REGISTRY_HINT
        ),
    ):
        image = client.images.pull(repository, tag=tag or "latest", auth_config=auth_config)
    return str(image.id)


def import_image(client: Any, stream: IO[bytes], reference: str, changes: list[str]) -> str:
    """``docker import`` of a root filesystem tar ``stream`` as ``reference``; the image id."""
    repository, tag = split_reference(reference)

    def failed(why: str) -> ImageBuildError:
        return ImageBuildError(
            f"docker import of the base image {reference} failed: {why}",
            step="docker import",
            hint="check the engine is running (`docker info`) and has disk space",
        )

    with engine_errors(
        f"importing {reference}", missing=failed, refused=failed, unreachable=failed
    ):
        client.api.import_image_from_stream(
            stream, repository=repository, tag=tag or "latest", changes=changes
        )
    image = get_image(client, reference)
    if image is None:
        raise ImageBuildError(
            f"docker import of the base image {reference} left no image of that name",
            step="docker import",
            hint="check the engine is running (`docker info`) and has disk space",
        )
    return str(image.id)
