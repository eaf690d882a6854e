"""``dockyard base-image bootstrap``: build a Python base image from Debian packages.

No public registry is needed (see docs/images.md, "Base image"). The image becomes the
workspace's default base image (:meth:`dockyard.Image.bootstrap_base_image`), so that images
built afterwards use it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dockyard.cli.common import Output, OutputOpt, WorkspaceOpt, emit, load_workspace, note

app = typer.Typer(help="The Python base image images are built on.", no_args_is_help=True)


@app.command()
def bootstrap(
    python: Annotated[str, typer.Option("--python", help="Python major.minor (3.11: bookworm).")] = "3.11",
    name: Annotated[str | None, typer.Option("--name", help="Image name (default dockyard/python:<v>-<suite>).")] = None,
    mirror: Annotated[str | None, typer.Option("--mirror", help="Debian mirror URL.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the image exists.")] = False,
    workspace: WorkspaceOpt = None,
    output: OutputOpt = Output.table,
) -> None:  # fmt: skip
    """Build (or reuse) the base image with debootstrap + docker import, and make it the
    workspace's default."""
    from dockyard import Image  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    result = Image.bootstrap_base_image(
        ws, python_version=python, name=name, mirror=mirror, force=force, set_as_default=True,
        log=note,
    )  # fmt: skip
    emit(
        output,
        {"name": result.name, "image_id": result.image_id, "python": result.python_version,
         "suite": result.suite, "created": result.created, "seconds": round(result.seconds, 1),
         "workspace_default": True},
    )  # fmt: skip


@app.command()
def show(workspace: WorkspaceOpt = None, output: OutputOpt = Output.table) -> None:
    """The workspace's default base image."""
    from dockyard import Image  # lazy: `dockyard --help` stays fast

    ws = load_workspace(workspace)
    chosen = Image.default_base_image(ws)
    emit(
        output,
        {"base_image": chosen or Image.DOCKYARD_BASE_IMAGE, "workspace_setting": bool(chosen)},
    )
