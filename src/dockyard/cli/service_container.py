"""``dockyard service shell``, ``exec`` and ``commit``: the seed guide's container paths
(``docker exec -it``, editing score.py in a running container, ``docker commit``), registered in
cli/service.py. Container services run them in their scoring-server container, local services
in their environment; cluster services refuse, saying what to use instead."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, emit, load_service

NameArg = Annotated[str, typer.Argument(help="Service name.")]
UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user", "-u", help="Container user (e.g. root, for apt-get); default: the image's user."
    ),
]


def shell(name: NameArg, user: UserOpt = None, workspace: WorkspaceOpt = None) -> None:
    """An interactive shell at the service's app root: in its container (container services),
    or with its environment activated (local services). Needs a terminal; else use `exec`."""
    from dockyard.webservice import open_shell  # lazy: `dockyard --help` stays fast

    raise typer.Exit(open_shell(load_service(workspace, name), user))


def exec_(
    name: NameArg,
    command: Annotated[
        list[str], typer.Argument(help="The command and its arguments, after `--`.")
    ],
    user: UserOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run a command where the service runs (at its app root), streaming its output; exits with
    the command's exit code. Example: dockyard service exec NAME -- python -c "import sys; print(sys.prefix)"."""
    from dockyard.webservice import exec_in_service  # lazy: `dockyard --help` stays fast

    def write(text: str, stream: str) -> None:
        out = sys.stderr if stream == "stderr" else sys.stdout
        out.write(text)
        out.flush()

    code, _output = exec_in_service(load_service(workspace, name), command, user, on_output=write)
    raise typer.Exit(code)


def commit(
    name: NameArg,
    image: Annotated[
        str | None,
        typer.Option(
            "--image", "-i", help="Image name for the new version (default: the service's image)."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Save the service's running container (with the files changed in it) as the next version
    of an image, deployable with `deploy_from_image`. Container services only."""
    from dockyard.webservice import commit_service  # lazy: `dockyard --help` stays fast

    service = load_service(workspace, name)
    made = commit_service(service, image, description=description)
    data = dict(made.serialize())
    origin = made.committed_from or {}
    data["committedFrom"] = {
        "service": origin.get("service"),
        "container": origin.get("container"),
        "image": origin.get("image"),
        "at": origin.get("at"),
        "changeCount": origin.get("change_count"),
        "changes": origin.get("changes") or [],
    }
    if output == Output.json:
        emit(output, data)
        return
    typer.echo(
        f"committed container {origin.get('container')} of service {name!r} as image {made.id} "
        f"({made.image_location}); {origin.get('change_count')} changed path(s):"
    )
    for line in (origin.get("changes") or [])[:20]:
        typer.echo(f"  {line}")
    if (origin.get("change_count") or 0) > 20:
        typer.echo(f"  ... (all of them: `dockyard image logs {made.id}`)")
    typer.echo(
        f"deploy it: `dockyard image deploy {made.id} --name NEW-NAME` (Webservice.deploy_from_image), "
        f"or run it by hand: `dockyard image run {made.id}`"
    )


__all__ = ["commit", "exec_", "shell"]
