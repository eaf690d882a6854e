"""``dockyard service ...``: list, show, logs, run, reload, update, start, stop, delete, keys."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dockyard.cli.advice import cli_advice
from dockyard.cli.common import (
    DEFAULT_WAIT_SECONDS,
    Output,
    OutputOpt,
    TimeoutOpt,
    WorkspaceOpt,
    emit,
    err_console,
    load_workspace,
    note,
    print_json,
    set_context,
)

app = typer.Typer(
    help="Deployed web services: inspect, call, reload, update, delete.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Service name.")]


def _service(workspace: Path | None, name: str) -> Any:
    from dockyard import Webservice  # lazy: `dockyard --help` stays fast

    set_context(service=name)
    return Webservice(load_workspace(workspace), name)


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
    }


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
    service = _service(workspace, name)
    data = _hide_keys(_serialize(service), name)
    if output == Output.json:
        emit(output, data)
        return
    error = data.pop("error", None)
    emit(output, {k: v for k, v in data.items() if k != "deploymentConfig"})
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
    service = _service(workspace, name)
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
    service = _service(workspace, name)
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
    service = _service(workspace, name)
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

    service = _service(workspace, name)
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
    service = _service(workspace, name)
    service.start()
    service.wait_for_deployment(show_output=True, timeout_sec=timeout)
    _lifecycle(output, service, f"{name}: {service.state} at {service.scoring_uri}")


@app.command()
def stop(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Stop a service's processes (its records stay; `start` brings it back)."""
    service = _service(workspace, name)
    service.stop()
    _lifecycle(output, service, f"{name}: stopped")


@app.command()
def delete(name: NameArg, workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """Stop a service and remove it (its models stay registered)."""
    _service(workspace, name).delete()
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
    service = _service(workspace, name)
    if regen:
        service.regen_key(regen)
    primary, secondary = service.get_keys()
    emit(output, {"primaryKey": primary, "secondaryKey": secondary})


@app.command("replicas")
def replicas(
    target_rps: Annotated[
        float, typer.Option("--target-rps", help="Requests per second to serve.")
    ],
    request_seconds: Annotated[
        float, typer.Option("--request-seconds", help="Seconds one request takes.")
    ],
    max_concurrent: Annotated[
        int, typer.Option("--max-concurrent", help="Requests one replica serves at once.")
    ] = 1,
    target_utilization: Annotated[
        float, typer.Option("--target-utilization", help="0.7 or 70 (%).")
    ] = 0.7,
    output: OutputOpt = Output.table,
) -> None:
    """How many replicas a load needs (the seed guide's formula)."""
    from dockyard import replicas_needed  # lazy: `dockyard --help` stays fast

    count = replicas_needed(target_rps, request_seconds, max_concurrent, target_utilization)
    emit(
        output, {"replicas": count, "formula": "ceil(rps * seconds / utilization / max_concurrent)"}
    )


@app.command()
def capacity(
    name: NameArg,
    rps: Annotated[
        float | None,
        typer.Option("--rps", help="The request rate to plan for (requests per second)."),
    ] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds of load at most (up to 600).")
    ] = 10.0,
    max_requests: Annotated[
        int, typer.Option("--max-requests", help="Requests at most (the other bound).")
    ] = 2000,
    sample: Annotated[
        Path | None,
        typer.Option(
            "--sample",
            help="A JSON file with one request body. Default: the example of the service's "
            "swagger input.",
            dir_okay=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option("--allow-remote", help="Load a service that is not on this machine."),
    ] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Measure what a Healthy service serves (a bounded load test) and recommend
    autoscale_min_replicas, autoscale_max_replicas and autoscale_target_utilization for --rps.

    The load runs at replica_max_concurrent_requests times the replicas serving, for at most
    --duration seconds and --max-requests requests; the measured request time goes into the
    seed's formula (`dockyard service replicas`). Without --rps: what the current settings
    sustain. --output json prints every number used.
    """
    from dockyard.webservice import measure_capacity  # lazy: `dockyard --help` stays fast

    service = _service(workspace, name)
    with err_console.status(f"measuring {name}: at most {duration:g} s or {max_requests} requests"):
        report = measure_capacity(
            service,
            rps,
            duration_s=duration,
            max_requests=max_requests,
            sample=sample,
            allow_remote=allow_remote,
        )
    data = report.to_dict()
    if output == Output.json:
        emit(output, data)
        return
    _capacity_table(data)
    recommended = data["recommended"]
    if recommended["deploy_call"]:
        typer.echo(f"deploy with: {recommended['deploy_call']}")
    else:
        typer.echo(
            f"the current settings sustain about {recommended['sustained_rps']:.1f} rps "
            f"({recommended['sustained_rps_per_replica']:.1f} per replica); "
            f"plan for a rate with --rps R"
        )


def _capacity_table(data: dict[str, Any]) -> None:
    """The measurement and the recommendation for people: a short table of what was used."""
    load, measured, recommended = data["load"], data["measured"], data["recommended"]
    errors = ", ".join(f"{e['status']}: {e['count']}" for e in load["errors"]) or "none"
    run_time = measured["run_seconds"]
    rows = [
        ("sample", data["sample_source"]),
        ("load", f"{load['duration_seconds']:.1f} s at concurrency {load['concurrency']} "
                 f"({load['replicas']} replica(s) x {load['replica_max_concurrent_requests']})"),
        ("requests", f"{load['requests']} sent, {load['succeeded']} answered 200, "
                     f"{load['rejected_503']} answered 503, other errors: {errors}"),
        ("throughput", f"{measured['throughput_rps']:.1f} rps "
                       f"({measured['throughput_per_replica_rps']:.1f} per replica)"),
        ("request seconds", f"{measured['request_seconds']:.4f} mean; p50 "
                            f"{measured['latency_p50_seconds']:.4f}, p90 "
                            f"{measured['latency_p90_seconds']:.4f}, p99 "
                            f"{measured['latency_p99_seconds']:.4f}"),
        ("unloaded", f"{measured['unloaded_seconds']:.4f} s"),
        ("run() seconds", "-" if run_time is None else f"{run_time:.4f} (the server's own)"),
    ]  # fmt: skip
    rules = {rule.split(" = ", 1)[0]: rule.split(" = ", 1)[1] for rule in recommended["rules"]}
    if recommended["target_rps"] is not None:
        rows.append(("target rate", f"{recommended['target_rps']:g} rps"))
    for setting in ("autoscale_min_replicas", "autoscale_max_replicas"):
        if setting in rules:
            rows.append((setting, rules[setting]))
    rows.append(("autoscale_target_utilization", rules["autoscale_target_utilization"]))
    sustain = next(r for r in recommended["rules"] if r.startswith("the current settings sustain"))
    rows.append(("sustained now", sustain.removeprefix("the current settings sustain ")))
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    console = Console()
    with console.capture() as captured:
        console.print(table)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
