"""``dockyard image ...``: create, list, show, logs, pull, delete, run (by hand), deploy, and the
workspace's registry.

A thin skin over :class:`dockyard.Image`. ``--output json`` keys are those of
``Image.serialize()`` (documented in docs/containers.md); sizes are bytes there, and "763.7 MB"
only in tables.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import (
    Output,
    OutputOpt,
    WorkspaceOpt,
    emit,
    human_size,
    load_workspace,
    print_json,
    set_context,
)

app = typer.Typer(
    help="Container images: create, list, show, logs, pull, delete, run, deploy.",
    no_args_is_help=True,
)

RefArg = Annotated[str, typer.Argument(help="Image NAME or NAME:VERSION (default: latest).")]
COLUMNS = ["id", "creationState", "imageLocation", "modelIds", "size", "createdTime"]


def _image(workspace: Path | None, ref: str) -> Any:
    from dockyard import Image  # lazy: `dockyard --help` stays fast

    set_context(image=ref)
    name, sep, version = ref.rpartition(":")
    ws = load_workspace(workspace)
    if sep and version.isdigit():
        return Image(ws, name, version=int(version))
    return Image(ws, ref)


def _row(image: Any) -> dict[str, Any]:
    return dict(image.serialize())


def _human(data: Any) -> dict[str, Any]:
    """Sizes as people read them (JSON keeps the bytes)."""
    shown = dict(data)
    for key in ("size", "baseSize"):
        if key in shown:
            shown[key] = human_size(shown[key])
    return shown


@app.command()
def create(
    name: Annotated[str, typer.Option("--name", "-n", help="Image name (3-32 lowercase).")],
    model: Annotated[
        list[str], typer.Option("--model", "-m", help="Model NAME:VERSION (or NAME), repeatable.")
    ],
    entry_script: Annotated[str, typer.Option("--entry-script", "-e", help="score.py")],
    conda_file: Annotated[str | None, typer.Option("--conda-file", "-c")] = None,
    source_directory: Annotated[str | None, typer.Option("--source-directory", "-s")] = None,
    docker_file: Annotated[
        str | None, typer.Option("--docker-file", help="Extra Dockerfile steps (Dockerfile.steps).")
    ] = None,
    base_image: Annotated[str | None, typer.Option("--base-image")] = None,
    dependency: Annotated[
        list[str] | None, typer.Option("--dependency", help="File copied beside the script.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not stream the build.")] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Build an image from models, a scoring script and an environment (streams the build)."""
    from dockyard import (
        ContainerImage,
        Image,
        Model,
    )  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    models = [Model(ws, id=m) if ":" in m else Model(ws, m) for m in model]
    config = ContainerImage.image_configuration(
        entry_script=entry_script, conda_file=conda_file, source_directory=source_directory,
        docker_file=docker_file, base_image=base_image, dependencies=dependency,
    )  # fmt: skip
    image = Image.create(ws, name, models, config)
    set_context(image=image.id)
    image.wait_for_creation(show_output=not quiet and output == Output.table)
    emit(output, _row(image), human=_human)


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this image.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only images of this model.")] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Images, newest version first."""
    from dockyard import Image  # lazy: `dockyard --help` stays fast

    images = Image.list(load_workspace(workspace), image_name=name, model_name=model)
    emit(output, [_row(i) for i in images], columns=COLUMNS, title="images", human=_human)


@app.command()
def show(ref: RefArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Everything about one image, including why its build failed."""
    image = _image(workspace, ref)
    data = _row(image)
    error = data.pop("error", None) if output == Output.table else None
    emit(output, data, human=_human)
    if error:
        typer.echo("error:")
        typer.echo(str(error).rstrip("\n"))


@app.command()
def logs(ref: RefArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Print the full build log (kept in the workspace, success or not).

    With --output json: {"id", "imageBuildLogUri", "logs"}."""
    from dockyard import NotFoundError  # lazy: `dockyard --help` stays fast

    image = _image(workspace, ref)
    path = Path(image.build_log_path or "")
    if not image.build_log_path or not path.is_file():
        raise NotFoundError(
            f"Image {image.id} has no build log (looked for {path})",
            hint=f"the build may not have started; `dockyard image show {image.id}` gives its state",
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    if output == Output.json:
        print_json({"id": image.id, "imageBuildLogUri": image.image_build_log_uri, "logs": text})
    else:
        sys.stdout.write(text)


@app.command()
def pull(ref: RefArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Pull the image from the workspace's registry into the local Docker engine."""
    image = _image(workspace, ref)
    image_id = image.pull()
    if output == Output.json:
        emit(output, {"id": image.id, "imageLocation": image.image_location, "imageId": image_id})
    else:
        typer.echo(f"{image.image_location} {image_id}")


@app.command()
def delete(ref: RefArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Delete an image version (refused while a service uses it)."""
    image = _image(workspace, ref)
    image.delete()
    if output == Output.json:
        emit(output, {"id": image.id, "deleted": True})
    else:
        typer.echo(f"deleted {image.id}")


@app.command()
def registry(
    address: Annotated[
        str | None, typer.Argument(help="host[:port][/prefix]; omit to show the current one.")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", "-u")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    unset: Annotated[bool, typer.Option("--unset", help="Remove the registry setting.")] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show or set the container registry images are pushed to (credentials kept as secrets)."""
    from dockyard import Image  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    if unset:
        Image.set_container_registry(ws, None)
    elif address:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else None
        Image.set_container_registry(ws, address, username, password)
    current = Image.get_container_registry(ws)
    emit(
        output,
        {"address": current.address if current else None,
         "username": current.username if current else None},
    )  # fmt: skip


@app.command()
def run(
    ref: RefArg,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", "-p", help="Host port for the scoring server (default: a free one)."
        ),
    ] = None,
    debugger_port: Annotated[
        int | None,
        typer.Option(
            "--debugger-port",
            help="Host port for the debugger (debugpy listens in the container; 5678 in the seed).",
        ),
    ] = None,
    debugger_wait: Annotated[
        float, typer.Option("--debugger-wait", help="Seconds the server waits for the IDE.")
    ] = 30.0,
    foreground: Annotated[
        bool,
        typer.Option("--foreground", help="Stay attached, print the output; Ctrl-C stops it."),
    ] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop and remove the container this command started.")
    ] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Run an image by hand, the seed's `docker run -p 8000:5001 -p 5678:5678`: published on
    127.0.0.1 only, detached unless --foreground; prints the scoring URI, how to stop it and,
    with --debugger-port, the VS Code launch.json entry."""
    from dockyard.webservice import follow_image, launch_config, run_image, stop_image  # lazy

    image = _image(workspace, ref)
    if stop:
        stopped = stop_image(image)
        emit(output, {"id": image.id, "stopped": stopped})
        return
    started = run_image(image, port, debugger_port, debugger_wait_seconds=debugger_wait)
    attach = launch_config(started)
    data: dict[str, Any] = {
        "id": image.id,
        "container": started.container,
        "scoringUri": started.scoring_uri,
        "swaggerUri": started.swagger_uri,
        "port": started.port,
        "debuggerPort": started.debugger_port,
        "stopCommand": started.stop_command,
        "launchConfig": attach,
    }
    if output == Output.json:
        print_json(data)
    else:
        typer.echo(f"image {image.id} runs in container {started.container}")
        typer.echo(f"scoring URI: {started.scoring_uri}")
        typer.echo(
            f"try it:      curl -X POST {started.scoring_uri} -H 'Content-Type: application/json' "
            "-d @sample.json"
        )
        typer.echo(
            f"stop it:     {started.stop_command}   (or `dockyard image run {image.id} --stop`)"
        )
        if attach is not None:
            typer.echo(
                f"debugger:    127.0.0.1:{started.debugger_port}; the server waits {debugger_wait:g} s "
                'for it before init(). VS Code launch.json (add it to "configurations"):'
            )
            typer.echo(json.dumps(attach, indent=2))
    if not foreground:
        return
    try:
        code = follow_image(image, _write_through)
    except KeyboardInterrupt:
        code = 130
    finally:
        stop_image(image)
    raise typer.Exit(code)


def _write_through(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def deploy(
    ref: RefArg,
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the new service.")],
    port: Annotated[int | None, typer.Option("--port", "-p", help="Host port.")] = None,
    cpu_cores: Annotated[float | None, typer.Option("--cpu-cores")] = None,
    memory_gb: Annotated[float | None, typer.Option("--memory-gb")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a service of that name.")
    ] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Deploy an image as a container service (Webservice.deploy_from_image), e.g. one made by
    `dockyard service commit`; waits until it is Healthy."""
    from dockyard import Webservice  # lazy: `dockyard --help` stays fast
    from dockyard.webservice import ContainerWebservice  # lazy: `dockyard --help` stays fast

    image = _image(workspace, ref)
    options: dict[str, Any] = {"cpu_cores": cpu_cores, "memory_gb": memory_gb}
    config = ContainerWebservice.deploy_configuration(
        port=port, **{k: v for k, v in options.items() if v is not None}
    )
    service = Webservice.deploy_from_image(
        image.workspace, name, image, config, overwrite=overwrite
    )
    service.wait_for_deployment()
    emit(
        output,
        {"name": service.name, "image": image.id, "state": service.state,
         "scoringUri": service.scoring_uri},
    )  # fmt: skip
