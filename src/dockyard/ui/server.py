"""Running the dashboard: a uvicorn server on 127.0.0.1, and the URL with its token printed."""

from __future__ import annotations

import socket
import sys
import webbrowser
from collections.abc import Callable

import uvicorn

from dockyard import Workspace
from dockyard.errors import UserError
from dockyard.server.serve import bind_socket
from dockyard.ui.access import WILDCARDS, new_token
from dockyard.ui.app import create_app

DEFAULT_PORT = 8765


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port`` 0: any free port)."""
    try:
        sock = bind_socket(host, port)  # the scoring server's
    except OSError as exc:
        raise UserError(
            f"The dashboard {exc}",
            hint="pick another port with `dockyard ui --port PORT` (0 picks a free one)",
        ) from None
    sock.set_inheritable(False)  # services the dashboard starts never hold its port
    return sock


def url_of(host: str, port: int, token: str) -> str:
    """The URL to open (on this machine: a wildcard address is reached at 127.0.0.1)."""
    host = "127.0.0.1" if host in WILDCARDS else host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    token: str | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard of ``ws`` until interrupted; prints the URL with the access token."""
    token = token or new_token()
    sock = listen(host, port)
    port = sock.getsockname()[1]
    url = url_of(host, port, token)
    say = say or (lambda line: print(line, flush=True))
    say(f"dockyard ui: the dashboard of workspace {ws.name!r} ({ws.path})")
    say(f"    {url}")
    say("Open that URL (it holds the access token). Press Ctrl+C to stop.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}, not only this machine: anyone who can reach it "
              "and has the token can use the dashboard", file=sys.stderr)  # fmt: skip
    app = create_app(ws, token, host, port)
    # an open tab holds its log stream: Ctrl+C stops after 3 s instead of waiting for it
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=3)  # fmt: skip
    server = uvicorn.Server(config)
    if open_browser:
        webbrowser.open(url)
    server.run(sockets=[sock])
