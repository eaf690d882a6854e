"""``dockyard env``: register, list and show environments.

A thin skin over :class:`dockyard.Environment`; the JSON keys of ``--output json`` (camelCase,
as everywhere in the CLI) are documented in docs/environments.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, emit, load_workspace

app = typer.Typer(
    help="Register, list and show Python environments (conda YAML or pip requirements).",
    no_args_is_help=True,
)

_LIST_COLUMNS = ("name", "version", "python", "packages", "createdTime")


def describe(env: Any, *, full: bool = True) -> dict[str, Any]:
    """The JSON shape of one environment (see docs/environments.md); the CLI camelCases the keys."""
    from dockyard import CondaDependencies  # lazy: `dockyard --help` stays fast

    conda = env.python.conda_dependencies
    created = env.created_time
    data: dict[str, Any] = {
        "name": env.name,
        "version": int(env.version) if env.version else None,
        "python_version": conda.get_python_version() if conda else None,
        "conda_packages": [
            p for p in conda.conda_packages if CondaDependencies.package_name(p) != "python"
        ]
        if conda
        else [],
        "pip_packages": conda.pip_packages if conda else [],
        "pip_options": conda.pip_options if conda else [],
        "channels": conda.conda_channels if conda else [],
        "included_files": sorted(conda.included_files()) if conda else [],
        "base_image": env.docker.base_image,
        "base_dockerfile": env.docker.base_dockerfile,
        "environment_variables": dict(env.environment_variables or {}),
        "user_managed": bool(env.python.user_managed_dependencies),
        "build_hash": env.build_hash(),
        "full_hash": env.full_hash(),
        "createdTime": created.isoformat() if hasattr(created, "isoformat") else created,
    }
    if full:
        data["conda_yaml"] = conda.serialize_to_string() if conda else None
    return data


def _row(env: Any) -> dict[str, Any]:
    data = describe(env, full=False)
    return {
        "name": data["name"],
        "version": data["version"],
        "python": data["python_version"],
        "packages": len(data["conda_packages"]) + len(data["pip_packages"]),
        "createdTime": data["createdTime"],
    }


def _load(name: str, file: Path, kind: str | None) -> Any:
    from dockyard import Environment  # lazy: `dockyard --help` stays fast

    kind = kind or ("conda" if file.suffix.lower() in (".yml", ".yaml") else "pip")
    if kind == "conda":
        return Environment.from_conda_specification(name=name, file_path=str(file))
    return Environment.from_pip_requirements(name=name, file_path=str(file))


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    from dockyard.errors import ValidationError  # lazy: `dockyard --help` stays fast

    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(
                f"--env-var {pair!r} is not KEY=VALUE.", hint="e.g. --env-var MODE=fast"
            )
        result[key] = value
    return result


@app.command("register")
def register(
    name: Annotated[str, typer.Option("--name", "-n", help="Environment name.")],
    file: Annotated[
        Path,
        typer.Option(
            "--file", "-f", help="conda YAML (.yml/.yaml) or pip requirements (.txt) file."
        ),
    ],
    kind: Annotated[
        str | None,
        typer.Option("--format", help="conda or pip (default: by the file's extension)."),
    ] = None,
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="Base image for container builds.")
    ] = None,
    env_var: Annotated[
        list[str] | None,
        typer.Option("--env-var", "-e", help="KEY=VALUE environment variable (repeatable)."),
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Register a spec file as the next version of NAME (identical content: same version)."""
    from dockyard.errors import ValidationError  # lazy: `dockyard --help` stays fast

    if kind not in (None, "conda", "pip"):
        raise ValidationError(f"--format {kind!r} is not conda or pip.", hint="--format conda")
    env = _load(name, file, kind)
    env.environment_variables = _parse_vars(env_var or [])
    if base_image:
        env.docker.base_image = base_image
    ws = load_workspace(workspace)
    registered = env.register(ws)
    emit(output, describe(registered))


@app.command("list")
def list_(
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Every version, not only the latest.")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Only this name (all its versions).")
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """List registered environments (the latest version of each name)."""
    from dockyard import Environment  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    if all_versions or name:
        envs = Environment.list_versions(ws, name)
    else:
        envs = list(Environment.list(ws).values())
    if output == Output.json:
        emit(output, [describe(e, full=False) for e in envs])
    else:
        emit(output, [_row(e) for e in envs], columns=_LIST_COLUMNS, title="environments")


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Environment name.")],
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Version (default: latest).")
    ] = None,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Show one environment version: packages, image, variables, hashes, conda YAML."""
    from dockyard import Environment  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    env = Environment.get(ws, name, version)
    emit(output, describe(env))
