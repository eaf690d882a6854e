"""``dockyard service ...``: list, show, logs, run, reload, update, start, stop, delete, keys;
shell, exec, commit, metrics, debug-config, replicas and capacity live in modules of their own."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli import service_capacity, service_container, service_debug, service_metrics
from dockyard.cli.advice import cli_advice
from dockyard.cli.common import (
    DEFAULT_WAIT_SECONDS,
    Output,
    OutputOpt,
    TimeoutOpt,
    WorkspaceOpt,
    emit,
    err_console,
    load_service,
    load_workspace,
    note,
    print_json,
)

app = typer.Typer(
    help="Deployed web services: inspect, call, reload, update, delete.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Service name.")]
# capacity planning lives in its own module; registered here, under `dockyard service`
app.command("replicas")(service_capacity.replicas)
app.command("capacity")(service_capacity.capacity)
# the debugger's launch.json entry lives in its own module too
app.command("debug-config")(service_debug.debug_config)
# working inside a service (the seed's docker exec / commit), and its numbers
app.command("shell")(service_container.shell)
app.command("exec")(service_container.exec_)
app.command("commit")(service_container.commit)
app.command("metrics")(service_metrics.metrics)


def _serialize(service: Any) -> dict[str, Any]:
    """``service.serialize()``, its time in ISO 8601 as every other object's."""
    data = dict(service.serialize())
    created = data.get("createdTime")
    if isinstance(created, str):
        with contextlib.suppress(ValueError):
            data["createdTime"] = datetime.fromisoformat(created).isoformat()
    return data


def _row(service: Any) -> dict[str, Any]:
    data = _serialize(service)
    return {
        "name": data["name"],
        "computeType": data["computeType"],
        "state": data["state"],
        "scoringUri": data["scoringUri"],
        "restartCount": data["restartCount"],
        "models": data["models"],
        "debugger": _debugger_text(data.get("debugger")),
    }


def _debugger_text(info: dict[str, Any] | None) -> str:
    """How `service list`/`show` say whether the debugger (debugpy) is on."""
    if not info:
        return "off"
    return f"ON 127.0.0.1:{info['port']} (one worker)"


def _status(service: Any) -> dict[str, Any]:
    """What a lifecycle command (start, reload, update) reports: the service's state now."""
    data = _serialize(service)
    return {
        "name": data["name"],
        "computeType": data["computeType"],
        "state": data["state"],
        "scoringUri": data["scoringUri"],
        "port": data["port"],
        "models": data["models"],
        "error": data.get("error"),
    }


def _hide_keys(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Keys given in a deployment config are shown only by `dockyard service keys`."""
    config = dict(data.get("deploymentConfig") or {})
    for key in ("primary_key", "secondary_key", "primaryKey", "secondaryKey"):
        if config.get(key):
            config[key] = f"(hidden: `dockyard service keys {name}`)"
    if config:
        data["deploymentConfig"] = config
    return data


@app.command("list")
def list_(workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """List the workspace's services with their state and scoring URI."""
    from dockyard import Webservice  # lazy: `dockyard --help` stays fast

    services = Webservice.list(load_workspace(workspace))
    emit(output, [_row(s) for s in services], title="services")


@app.command()
def show(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Everything about one service, including why it is not Healthy."""
    service = load_service(workspace, name)
    data = _hide_keys(_serialize(service), name)
    if output == Output.json:
        emit(output, data)
        return
    error = data.pop("error", None)
    data["debugger"] = _debugger_text(data.get("debugger"))
    emit(output, {k: v for k, v in data.items() if k != "deploymentConfig"})
    if data["debugger"] != "off":
        note(
            f"The debugger is on: the service waits for an IDE at start and runs one worker; "
            f"`dockyard service debug-config {name}` prints the launch.json entry"
        )
    if error:
        typer.echo("error:")
        typer.echo(str(error).rstrip("\n"))


@app.command()
def logs(
    name: NameArg,
    workspace: WorkspaceOpt = None,
    num_lines: Annotated[int, typer.Option("--num-lines", "-n", help="Lines to show.")] = 5000,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            "-r",
            help="Only the log lines of this request (its traceback included); "
            "`dockyard service run` prints the id of a failed request.",
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    output: OutputOpt = Output.table,
) -> None:
    """The service's log: start-up banner, requests, print() output, tracebacks.

    With --output json: {"name", "requestId", "logs"}; with --follow too, one {"line"} object per
    line (JSON Lines).
    """
    service = load_service(workspace, name)
    if request_id is not None:
        text = service.get_logs(num_lines=num_lines, request_id=request_id)
    else:
        text = service.get_logs(num_lines=num_lines)
    if not text.strip():
        _say_why_empty(service, request_id)
    elif request_id is not None and text.startswith("[dockyard] no log line"):
        text = cli_advice(text)  # the SDK's note names its own attribute; say the CLI's words
    if output == Output.json and not follow:
        print_json({"name": name, "requestId": request_id, "logs": text})
        return
    write = _line_writer(output)
    write(text)
    if not follow:
        return
    try:
        for more in service.follow_logs(text):
            write(more)
    except KeyboardInterrupt:
        return


def _line_writer(output: Output) -> Any:
    def plain(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def lines(text: str) -> None:
        for line in text.splitlines():
            sys.stdout.write(json.dumps({"line": line}) + "\n")
        sys.stdout.flush()

    return lines if output == Output.json else plain


def _say_why_empty(service: Any, request_id: str | None) -> None:
    """No log lines: say why on stderr (a service that failed before its server ran has none)."""
    state = service.state
    if request_id is not None:
        note(
            f"No log lines of request {request_id} in the last lines of {service.name!r} "
            f"(state {state}); the whole log: `dockyard service logs {service.name}`"
        )
        return
    error = service.error
    if error:
        note(f"Service {service.name!r} has no log lines: it is {state} before its server ran.")
        note(cli_advice(str(error)).rstrip("\n"))
    else:
        note(f"Service {service.name!r} has no log lines yet (state {state}).")


@app.command()
def run(
    name: NameArg,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="Request body (JSON text). Default: read stdin."),
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input-file", "-i", help="Read the body from a file.", exists=True, dir_okay=False
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Send one scoring request and print the answer.

    The answer is printed as the service returned it (JSON text); --output json prints it as one
    JSON document (a text answer becomes a JSON string). A failed request prints its request id
    and the command that shows its log lines.
    """
    from dockyard import WebserviceError  # lazy: `dockyard --help` stays fast

    if input_file is not None:
        body = input_file.read_text()
    elif data is not None:
        body = data
    else:
        body = sys.stdin.read()
    service = load_service(workspace, name)
    try:
        result = service.run(body)
    except WebserviceError as exc:
        request_id = getattr(exc, "request_id", None)
        if request_id:
            exc.add_note(f"Request id: {request_id}")  # shown unless the message has it
            if "request_id" not in (exc.hint or ""):
                exc.cli_hint = (  # type: ignore[attr-defined]
                    f"`dockyard service logs {name} --request-id {request_id}` prints that "
                    "request's log lines and traceback"
                )
        raise
    if output == Output.json:
        print_json(result)
    else:
        typer.echo(json.dumps(result) if not isinstance(result, str) else result)


def _lifecycle(output: Output, service: Any, text: str) -> None:
    if output == Output.json:
        emit(output, _status(service))
    else:
        typer.echo(text)


@app.command()
def reload(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Pick up edits to score.py and the source directory (local services)."""
    service = load_service(workspace, name)
    with err_console.status(f"reloading {name}"):
        service.reload()
    _lifecycle(output, service, f"{name}: {service.state}")


@app.command()
def update(
    name: NameArg,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model id name:version (repeat for several)."),
    ] = None,
    ic: Annotated[Path | None, typer.Option("--ic", help="v1 inferenceconfig.json")] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Roll out new models or a new inference config without downtime."""
    from dockyard import InferenceConfig  # lazy: `dockyard --help` stays fast

    service = load_service(workspace, name)
    inference_config = (
        InferenceConfig.from_file(str(ic), workspace=service.workspace) if ic else None
    )
    with err_console.status(f"updating {name}"):
        service.update(models=model or None, inference_config=inference_config)
    _lifecycle(output, service, f"{name}: {service.state}")


@app.command()
def start(
    name: NameArg,
    workspace: WorkspaceOpt = None,
    timeout: TimeoutOpt = DEFAULT_WAIT_SECONDS,
    output: OutputOpt = Output.table,
) -> None:
    """Start a stopped service (e.g. after a reboot) from its recorded deployment."""
    service = load_service(workspace, name)
    service.start()
    service.wait_for_deployment(show_output=True, timeout_sec=timeout)
    _lifecycle(output, service, f"{name}: {service.state} at {service.scoring_uri}")


@app.command()
def stop(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Stop a service's processes (its records stay; `start` brings it back)."""
    service = load_service(workspace, name)
    service.stop()
    _lifecycle(output, service, f"{name}: stopped")


@app.command()
def delete(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Stop a service and remove it (its models stay registered)."""
    load_service(workspace, name).delete()
    if output == Output.json:
        emit(output, {"name": name, "deleted": True})
    else:
        typer.echo(f"{name}: deleted")


@app.command()
def keys(
    name: NameArg,
    regen: Annotated[
        str | None, typer.Option("--regen", help="Regenerate the Primary or Secondary key.")
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show a service's keys (only here: they never appear in logs), or regenerate one."""
    service = load_service(workspace, name)
    if regen:
        service.regen_key(regen)
    primary, secondary = service.get_keys()
    emit(output, {"primaryKey": primary, "secondaryKey": secondary})
