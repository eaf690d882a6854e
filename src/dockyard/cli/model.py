"""``dockyard model ...``: register, list, show, download, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import (
    DEFAULT_WAIT_SECONDS,
    Output,
    OutputOpt,
    TimeoutOpt,
    WorkspaceOpt,
    emit,
    human_size,
    load_workspace,
    note,
    set_context,
)
from dockyard.errors import ValidationError

app = typer.Typer(
    help="The model registry: register, list, show, download, delete; deploy models as a service.",
    no_args_is_help=True,
)

RefArg = Annotated[str, typer.Argument(help="Model NAME or NAME:VERSION (default: latest).")]
VersionOpt = Annotated[int | None, typer.Option("--version", "-v", help="Model version.")]
#: ``--debugger`` without ``--debugger-port``: debugpy's usual port.
DEBUGGER_DEFAULT_PORT = 5678
COLUMNS = ["id", "framework", "size", "fileCount", "tags", "createdTime"]


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(f"Invalid --{what} {item!r}: expected KEY=VALUE.")
        result[key] = value
    return result


def _filters(items: list[str] | None) -> list[Any]:
    return [item.split("=", 1) if "=" in item else item for item in items or []]


def _ref(ref: str, version: int | None) -> tuple[str, int | None]:
    name, sep, ver = ref.rpartition(":")
    if sep and ver.isdigit():
        return name, int(ver)
    return ref, version


def _model(ref: str, version: int | None, workspace: Path | None) -> Any:
    """The model a command names (NAME, NAME:VERSION or NAME --version V) in its workspace."""
    from dockyard import Model  # lazy: `dockyard --help` stays fast

    name, ver = _ref(ref, version)
    return Model(load_workspace(workspace), name, version=ver)


def row(model: Any, *, files: bool = False) -> dict[str, Any]:
    """The JSON shape of a model (documented in docs/workspace.md; names as Model.serialize())."""
    data = {
        "id": model.id,
        "name": model.name,
        "version": model.version,
        "description": model.description,
        "tags": model.tags,
        "properties": model.properties,
        "framework": model.model_framework,
        "frameworkVersion": model.model_framework_version,
        "createdTime": model.created_time.isoformat(),
        "root": model.root,
        "isFolder": model.is_folder,
        "size": model.size,
        "fileCount": model.file_count,
    }
    if files:
        data["files"] = [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in model.files]
    return data


def _human(data: Any) -> dict[str, Any]:
    """Sizes as people read them; each file on its own line (JSON keeps the bytes)."""
    shown = dict(data)
    shown["size"] = human_size(shown.get("size"))
    if "files" in shown:
        shown["files"] = "\n".join(
            f"{f['path']} ({human_size(f['size'])}, sha256 {f['sha256']})" for f in shown["files"]
        )
    return shown


@app.command()
def register(
    path: Annotated[
        Path, typer.Argument(help="Model file or folder (a folder keeps its name and tree).")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="Model name.")],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="KEY=VALUE, repeatable.")
    ] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--property", "-p", help="KEY=VALUE, repeatable.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    framework: Annotated[str | None, typer.Option("--framework")] = None,
    framework_version: Annotated[str | None, typer.Option("--framework-version")] = None,
    child_path: Annotated[
        list[str] | None,
        typer.Option("--child-path", help="Only these paths inside the folder, repeatable."),
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Register a file or folder as the next version of model NAME."""
    from dockyard import Model  # lazy: `dockyard --help` stays fast

    model = Model.register(
        load_workspace(workspace), str(path), name, tags=_pairs(tag, "tag"),
        properties=_pairs(prop, "property"), description=description, model_framework=framework,
        model_framework_version=framework_version, child_paths=child_path,
    )  # fmt: skip
    emit(output, row(model), human=_human)


@app.command("list")
def list_(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this model name.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="KEY or KEY=VALUE, repeatable.")
    ] = None,
    prop: Annotated[
        list[str] | None, typer.Option("--property", "-p", help="KEY or KEY=VALUE.")
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Only the latest version of each name.")
    ] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List registered models (newest version first), filtered like Model.list."""
    from dockyard import Model  # lazy: `dockyard --help` stays fast

    models = Model.list(
        load_workspace(workspace),
        name=name,
        tags=_filters(tag),
        properties=_filters(prop),
        latest=latest,
    )
    emit(output, [row(m) for m in models], columns=COLUMNS, title="models", human=_human)


@app.command()
def show(
    ref: RefArg,
    version: VersionOpt = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show one model version with its files."""

    model = _model(ref, version, workspace)
    emit(output, row(model, files=True), human=_human)


@app.command()
def download(
    ref: RefArg,
    version: VersionOpt = None,
    target: Annotated[Path, typer.Option("--target", "-t", help="Folder to download into.")] = Path(
        "."
    ),
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Overwrite files that exist.")
    ] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Download a model's files (verified: a damaged stored file stops the download)."""

    model = _model(ref, version, workspace)
    path = model.download(target, exist_ok=exist_ok)
    emit(output, {"id": model.id, "path": path})


@app.command()
def delete(
    ref: RefArg,
    version: VersionOpt = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Delete one model version (NAME:VERSION); refused while a service uses it."""
    if _ref(ref, version)[1] is None:
        raise ValidationError(
            f"Model {ref!r}: say which version to delete.",
            hint=f"Use `dockyard model delete {ref}:VERSION`.",
        )
    model = _model(ref, version, workspace)
    model.delete()
    emit(output, {"id": model.id, "deleted": True})


@app.command()
def deploy(
    name: Annotated[
        str, typer.Option("--name", "-n", help="Service name (3-32 chars, a-z 0-9 -).")
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="Model NAME:VERSION or NAME (latest); repeat for several."
        ),
    ] = None,
    ic: Annotated[
        Path | None, typer.Option("--ic", "--inference-config", help="v1 inferenceconfig.json")
    ] = None,
    dc: Annotated[
        Path | None, typer.Option("--dc", "--deploy-config", help="v1 deploymentconfig.json")
    ] = None,
    entry_script: Annotated[
        Path | None, typer.Option("--entry-script", help="score.py (instead of --ic).")
    ] = None,
    source_directory: Annotated[
        Path | None, typer.Option("--source-directory", help="Folder with the entry script.")
    ] = None,
    conda_file: Annotated[
        Path | None, typer.Option("--conda-file", help="Environment file (conda YAML).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Local port (default: a free one).", min=1, max=65535),
    ] = None,
    compute_target: Annotated[
        str | None,
        typer.Option(
            "--compute-target",
            help="Ray cluster to deploy to (a --dc file with computeType aks; default: the "
            "workspace's cluster, or a new local one).",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a service of that name.")
    ] = False,
    debugger: Annotated[
        bool,
        typer.Option(
            "--debugger",
            help="Start the service with the debugger (debugpy) listening on 127.0.0.1:5678 "
            "for an IDE to attach; one worker. Not the same as debug (error details).",
        ),
    ] = False,
    debugger_port: Annotated[
        int | None,
        typer.Option(
            "--debugger-port",
            help="The debugger's port on 127.0.0.1 (implies --debugger; default 5678).",
            min=1,
            max=65535,
        ),
    ] = None,
    debugger_wait: Annotated[
        float | None,
        typer.Option(
            "--debugger-wait",
            help="Seconds the service waits for the IDE before it starts without one (default 30).",
            min=0,
        ),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return before the service is Healthy.")
    ] = False,
    timeout: TimeoutOpt = DEFAULT_WAIT_SECONDS,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Deploy models as a web service (local by default; v1 --ic/--dc files accepted;
    computeType aks in the --dc file deploys to a Ray cluster)."""
    from dockyard import (
        InferenceConfig,
        LocalWebservice,
        Model,
    )  # lazy: `dockyard --help` stays fast
    from dockyard.webservice import config_from_file  # lazy: `dockyard --help` stays fast

    set_context(service=name)
    ws = load_workspace(workspace)
    models = []
    for ref in model or []:
        model_name, ver = _ref(ref, None)
        models.append(Model(ws, model_name, version=ver))
    if ic is not None:
        inference_config = InferenceConfig.from_file(str(ic), workspace=ws)
    elif entry_script is not None:
        inference_config = InferenceConfig(
            entry_script=str(entry_script),
            source_directory=str(source_directory) if source_directory else None,
            conda_file=str(conda_file) if conda_file else None,
        )
    else:
        raise ValidationError(
            "Say which entry script to run.",
            hint="Pass --ic inferenceconfig.json, or --entry-script score.py [--source-directory DIR].",
        )
    config = config_from_file(dc) if dc is not None else LocalWebservice.deploy_configuration()
    if port is not None:
        config.port = port
    if debugger or debugger_port is not None or debugger_wait is not None:
        port = debugger_port or config.debugger or DEBUGGER_DEFAULT_PORT
        config = config.with_debugger(port, debugger_wait)
    service = Model.deploy(
        ws, name, models, inference_config, config,
        deployment_target=compute_target, overwrite=overwrite,
    )  # fmt: skip
    if not no_wait:
        service.wait_for_deployment(show_output=True, timeout_sec=timeout)  # progress: stderr
    result = {
        "name": service.name,
        "state": service.state,
        "scoringUri": service.scoring_uri,
        "port": service.port,
    }
    if service.debugger:
        result["debuggerPort"] = service.debugger["port"]
        note(
            f"The debugger listens on 127.0.0.1:{service.debugger['port']} (one worker); "
            f"`dockyard service debug-config {service.name}` prints the launch.json entry"
        )
    emit(output, result)
