"""Build images on a Docker engine, keep the full build log, name the failing step, push.

:func:`build_image` writes the build context for an :class:`~dockyard.builders.dockerfile.ImageSpec`
(see :mod:`dockyard.builders.dockerfile`), builds it on the engine (the engine's legacy builder,
with ``network_mode="host"`` by default), streams every line to ``on_line`` and to ``log_path``
(the full log is kept there, success or not), and returns a :class:`BuildResult`.

A failed build raises :class:`~dockyard.errors.ImageBuildError` whose ``step`` names the failing
Dockerfile step (``Step 5/17 : RUN python3 -m pip ...``) and whose ``log_tail`` holds the last
lines of the log. :func:`push_image` sends an image to any OCI registry and logs the push;
credentials go to the engine only and are never logged.

The engine's calls (and the translation of Docker's errors) are those of
:mod:`dockyard.targets.docker_images`; ``client`` comes from
:func:`dockyard.targets.docker_engine.connect`. This module parses what the engine says.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from dockyard.builders.dockerfile import BuildContext, ImageSpec, write_build_context
from dockyard.builders.install_errors import diagnose
from dockyard.errors import DockyardError, ImageBuildError
from dockyard.targets import docker_images as engine

_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_TAIL_LINES = 40


@dataclass(frozen=True)
class BuildResult:
    """A successful build."""

    image_id: str
    tag: str
    log_path: Path
    seconds: float  # the engine's build only
    context_seconds: float  # writing the context (dependency resolution included)
    steps: int
    cached_steps: int  # steps answered from the layer cache ("Using cache")
    size: int  # bytes of the image
    base_size: int  # bytes of its base image (0 when unknown)


def build_image(
    client: Any,
    spec: ImageSpec,
    tag: str,
    *,
    log_path: Path,
    context_dir: Path | None = None,
    cache_dir: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    network_mode: str | None = "host",
    nocache: bool = False,
) -> BuildResult:
    """Write the context for ``spec``, build it as ``tag`` and return the result.

    ``context_dir`` keeps the context (a temporary folder is used and removed otherwise).
    ``cache_dir`` is where resolved wheelhouses are cached (see :mod:`dockyard.builders.wheelhouse`).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log_file:
        say = _tee(log_file, on_line)
        say(f"# dockyard image build of {tag}, {datetime.now(UTC).isoformat(timespec='seconds')}")
        tmp = None if context_dir else tempfile.mkdtemp(prefix="dockyard-context-")
        try:
            where = context_dir or Path(tmp or ".")
            try:
                context = write_build_context(spec, where, cache_dir=cache_dir, log=say)
            except DockyardError as exc:
                say(f"ERROR: {exc}")
                _add_log_hint(exc, log_path)
                raise
            for note in context.notes:
                say(f"note: {note}")
            return _build(
                client, context, tag, say, log_path, network_mode=network_mode, nocache=nocache
            )
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)


def build_context(
    client: Any,
    context: BuildContext,
    tag: str,
    *,
    log_path: Path,
    on_line: Callable[[str], None] | None = None,
    network_mode: str | None = "host",
    nocache: bool = False,
) -> BuildResult:
    """Build an already written context (from :func:`write_build_context`) as ``tag``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log_file:
        say = _tee(log_file, on_line)
        return _build(
            client, context, tag, say, log_path, network_mode=network_mode, nocache=nocache
        )


def _build(
    client: Any,
    context: BuildContext,
    tag: str,
    say: Callable[[str], None],
    log_path: Path,
    *,
    network_mode: str | None,
    nocache: bool,
) -> BuildResult:
    started = time.monotonic()
    say(f"# docker build -t {tag} {context.path}")
    state = _StepTracker()
    stream = engine.build_stream(
        client, str(context.path), tag, nocache=nocache, network_mode=network_mode
    )
    image_id = _follow(stream, state, say)
    if state.error or not image_id:
        raise _failure(state, log_path)
    seconds = time.monotonic() - started
    image = engine.get_image(client, image_id)
    if image is None:
        raise ImageBuildError(
            f"The engine built {tag} ({image_id}) but no longer has it",
            step="docker build",
            hint=f"build again; see the full build log: {log_path}",
        )
    say(f"# built {tag} ({image.short_id}) in {seconds:.1f} s, {state.cached}/{state.total} cached")
    return BuildResult(
        image_id=image.id,
        tag=tag,
        log_path=log_path,
        seconds=seconds,
        context_seconds=context.seconds,
        steps=state.total,
        cached_steps=state.cached,
        size=int(image.attrs.get("Size") or 0),
        base_size=engine.image_size(client, context.base_image),
    )


class _StepTracker:
    def __init__(self) -> None:
        self.step = ""
        self.total = 0
        self.cached = 0
        self.error = ""
        self.lines: list[str] = []


def _follow(
    stream: Iterable[dict[str, Any]], state: _StepTracker, say: Callable[[str], None]
) -> str | None:
    image_id = None
    pending = ""
    for item in stream:
        if "stream" in item:
            pending += item["stream"]
            *lines, pending = pending.split("\n")
            for line in lines:
                _line(line, state, say)
        if "aux" in item and isinstance(item["aux"], dict) and "ID" in item["aux"]:
            image_id = item["aux"]["ID"]
        if "error" in item or "errorDetail" in item:
            if pending:
                _line(pending, state, say)
                pending = ""
            detail = item.get("errorDetail") or {}
            state.error = item.get("error") or detail.get("message") or "unknown error"
            say(f"ERROR: {state.error}")
    if pending:
        _line(pending, state, say)
    return image_id


def _line(line: str, state: _StepTracker, say: Callable[[str], None]) -> None:
    line = line.rstrip("\r")
    match = _STEP_RE.match(line)
    if match:
        state.step = line
        state.total = int(match.group(2))
    elif line.strip() == "---> Using cache":
        state.cached += 1
    state.lines.append(line)
    if len(state.lines) > 500:
        del state.lines[:-_TAIL_LINES]
    say(line)


def _failure(state: _StepTracker, log_path: Path) -> ImageBuildError:
    step = state.step or "docker build"
    match = _STEP_RE.match(state.step)
    instruction = match.group(3) if match else ""
    detail = state.error.strip()
    if instruction.upper().startswith("FROM"):
        hint = (
            "the base image is missing: create it with `dockyard base-image bootstrap`, pull it, "
            "or set base_image to one the engine has (`docker images`)"
        )
    elif "pip" in instruction:
        # pip in the build (python_deps="network"): the diagnosis the host-side wheelhouse and
        # local environments get (no wheel for the image's Python, no such version or package)
        found = diagnose(state.lines, [], "", python_owner="the image's")
        hint = "a Python package could not be installed: " + (
            found.hint
            if found.cause != "other"
            else "check the names and versions in the environment spec"
        )
        detail = found.message if found.cause != "other" else detail
    else:
        hint = "check that step (an extra Dockerfile step?) in the full log"
    return ImageBuildError(
        f"The image build failed at {step[:200]}: {detail}",
        step=step[:300],
        log_tail="\n".join(state.lines[-_TAIL_LINES:]),
        hint=f"{hint}; full build log: {log_path}",
        log_path=str(log_path),
    )


def _add_log_hint(exc: DockyardError, log_path: Path) -> None:
    exc.details.setdefault("log_path", str(log_path))
    exc.hint = f"{exc.hint}; full build log: {log_path}" if exc.hint else f"full log: {log_path}"
    exc.args = (str(exc),)


_AUTH_REFUSED = re.compile(r"unauthori[sz]ed|authentication required|denied|no basic auth", re.I)


def push_hint(reference: str, message: str, *, with_credentials: bool) -> str:
    """What to do after the registry refused a push (``message`` is the engine's error)."""
    registry = reference.split("/", 1)[0]
    if not _AUTH_REFUSED.search(message):
        return (
            f"check that the registry {registry} is reachable from the Docker engine "
            f"(`curl http://{registry}/v2/`) and try again"
        )
    which = "refused the workspace's credentials" if with_credentials else "needs credentials"
    return (
        f"the registry {which}: set them with Image.set_container_registry(ws, "
        f'"{registry}", username="USER", password="PASSWORD") (kept as a workspace secret), '
        f"or log the engine in with `docker login {registry}`, then build the image again"
    )


def push_image(
    client: Any,
    reference: str,
    *,
    auth_config: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    log_path: Path | None = None,
) -> str:
    """Push ``registry/name:tag`` (already tagged) and return its digest (``sha256:...``).

    ``auth_config`` (``username``/``password``) goes to the engine only; without it the engine
    uses ``docker login`` credentials. Raises :class:`ImageBuildError` (step ``push``).
    """
    log_file = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115
    say = _tee(log_file, on_line)
    digest = ""
    lines: list[str] = []
    try:
        say(f"# docker push {reference}")
        for item in engine.push_stream(client, reference, auth_config=auth_config):
            if "error" in item or "errorDetail" in item:
                message = item.get("error") or (item.get("errorDetail") or {}).get("message", "")
                say(f"ERROR: {message}")
                raise ImageBuildError(
                    f"Pushing {reference} failed: {message}",
                    step="push",
                    log_tail="\n".join(lines[-_TAIL_LINES:]),
                    hint=push_hint(reference, message, with_credentials=bool(auth_config)),
                )
            aux = item.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = aux["Digest"]
            status = item.get("status")
            if status and not item.get("progressDetail"):
                line = f"{item.get('id', '')}: {status}".lstrip(": ")
                lines.append(line)
                say(line)
        say(f"# pushed {reference} {digest}")
    finally:
        if log_file:
            log_file.close()
    return digest


def image_reference(name: str, version: int | str, registry: str | None = None) -> str:
    """``<registry>/<name>:<version>``, or ``<name>:<version>`` without a registry."""
    return f"{registry.rstrip('/')}/{name}:{version}" if registry else f"{name}:{version}"


def _tee(log_file: IO[str] | None, on_line: Callable[[str], None] | None) -> Callable[[str], None]:
    def say(line: str) -> None:
        if log_file is not None:
            log_file.write(line + "\n")
            log_file.flush()
        if on_line is not None:
            on_line(line)

    return say
