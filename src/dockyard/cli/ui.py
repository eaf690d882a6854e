"""``dockyard ui``: the local web dashboard (models, environments, images, services)."""

from __future__ import annotations

from typing import Annotated

import typer

from dockyard.cli.common import WorkspaceOpt, load_workspace


def ui(
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port to listen on (0: any free port).", min=0)
    ] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (this machine only by default).")
    ] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser; just print the URL.")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Open a web dashboard of the workspace: models, environments, images, services (state,
    events, live logs, charts, a test form, keys, diagnose). Prints the URL with its access
    token, like Jupyter."""
    from dockyard.ui import serve  # lazy: `dockyard --help` stays fast

    serve(load_workspace(workspace), host=host, port=port, open_browser=not no_browser)
