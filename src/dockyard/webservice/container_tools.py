"""The seed guide's container paths, for SDK callers (the CLI's ``dockyard service shell``,
``exec``, ``commit`` and ``dockyard image run`` call these):

* :func:`exec_in_service` runs a command where a service runs (in its container, or in its
  environment for a local service) and returns ``(exit_code, output)``;
* :func:`open_shell` opens an interactive shell there (a terminal is needed; without one the
  error says to use ``exec``);
* :func:`commit_service` saves a container service's running container as the next version of
  an image, deployable with ``Webservice.deploy_from_image``;
* :func:`run_image` starts an image by hand on 127.0.0.1 (the seed's ``docker run -p``), with an
  optional debugger port, and :func:`stop_image`/:func:`follow_image` manage it.

Cluster services refuse shell, exec and commit, saying what to use instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dockyard.errors import ValidationError
from dockyard.ops import service_shell
from dockyard.ops.images import commit as committing
from dockyard.ops.images import require_succeeded
from dockyard.ops.images import run as running
from dockyard.ops.images.run import ImageRun
from dockyard.server import contract
from dockyard.server.debugging import vscode_launch_config

if TYPE_CHECKING:
    from dockyard.assets.image import Image

#: Called with each piece of a command's output: (text, "stdout" | "stderr").
OnOutput = Callable[[str, str], None]


def exec_in_service(
    service: Any,
    cmd: list[str] | str,
    user: str | None = None,
    on_output: OnOutput | None = None,
) -> tuple[int, str]:
    """Run ``cmd`` (an argv list, or a string run by ``sh -c``) where ``service`` runs: in its
    scoring-server container at the app root (as ``user``, e.g. ``"root"``, else the image's
    user), or, for a local service, in its environment at its app root. Returns the exit code
    and the output (stdout and stderr as they came); ``on_output(text, stream)`` sees it live."""
    argv = ["sh", "-c", cmd] if isinstance(cmd, str) else [str(part) for part in cmd]
    pieces: list[str] = []

    def collect(text: str, stream: str) -> None:
        pieces.append(text)
        if on_output is not None:
            on_output(text, stream)

    code = service_shell.exec_in(
        service.workspace, service.name, argv, user=user, on_output=collect
    )
    return code, "".join(pieces)


def open_shell(service: Any, user: str | None = None, *, announce: bool = True) -> int:
    """An interactive shell where ``service`` runs (see :func:`exec_in_service`), on this
    terminal; returns the shell's exit code. Without a terminal on stdin this raises, saying
    how to run a command with ``exec`` instead."""
    name = service.name
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ValidationError(
            f"A shell in service {name!r} needs a terminal, and stdin or stdout is not one",
            hint=f'run a command instead: `dockyard service exec {name} -- sh -c "ls -la"`',
        )
    if announce:
        print(service_shell.describe(service.workspace, name, user), file=sys.stderr)
    return service_shell.open_shell(service.workspace, name, user=user)


def commit_service(
    service: Any,
    image_name: str | None = None,
    *,
    description: str | None = None,
    show_output: bool = False,
) -> Image:
    """Save ``service``'s running container, with every change made in it, as the next version
    of image ``image_name`` (default: the image the service runs). The image is ``Succeeded``
    at once; its build log says it came from a commit of this service's container, when, and
    which files changed. Deploy it with ``Webservice.deploy_from_image(ws, name, image, ...)``.
    Container services only (a local or cluster service raises, saying what to do)."""
    say = (lambda line: print(line, flush=True)) if show_output else None
    record = committing.commit(
        service.workspace, service.name, image_name, description=description, on_line=say
    )
    # The Image class through the workspace: assets/ imports webservice/ (Model.deploy), so
    # this module does not import assets/.
    latest = service.workspace.images[record.name]
    if latest.version == record.version:
        return latest
    return type(latest)(service.workspace, record.name, version=record.version)


def run_image(
    image: Image,
    port: int | None = None,
    debugger_port: int | None = None,
    *,
    debugger_wait_seconds: float = contract.DEBUGGER_DEFAULT_WAIT_S,
    wait: bool = True,
) -> ImageRun:
    """Start ``image`` in a container of its own, its scoring port published on
    127.0.0.1:``port`` (None: a free port), as the seed's ``docker run -p 8000:5001``; with
    ``debugger_port`` the server listens for an IDE there (``-p 5678:5678``; debugpy comes with
    the server runtime) for ``debugger_wait_seconds`` before ``init()``. Returns once the server is ready
    (at once with a debugger). The result has ``scoring_uri``, ``stop_command``,
    ``container``; :func:`launch_config` is the VS Code entry for its debugger."""
    record = require_succeeded(image.workspace, image._record, "run")
    return running.run(
        image.workspace, record, port=port, debugger_port=debugger_port,
        debugger_wait_seconds=debugger_wait_seconds, wait=wait,
    )  # fmt: skip


def launch_config(run: ImageRun) -> dict[str, Any] | None:
    """The VS Code ``launch.json`` entry that attaches to ``run``'s debugger (None without one)."""
    if run.debugger_port is None:
        return None
    return vscode_launch_config("connect", "127.0.0.1", run.debugger_port, run.app_root)


def follow_image(image: Image, on_text: Callable[[str], None]) -> int:
    """Pass the output of the container running ``image`` by hand to ``on_text`` until it
    stops; returns its exit code."""
    return running.follow(image.workspace, image._record, on_text)


def stop_image(image: Image) -> bool:
    """Stop and remove the container running ``image`` by hand (False: none was running)."""
    return running.stop(image.workspace, image._record)


__all__ = [
    "ImageRun",
    "OnOutput",
    "commit_service",
    "exec_in_service",
    "follow_image",
    "launch_config",
    "open_shell",
    "run_image",
    "stop_image",
]
