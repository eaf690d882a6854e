"""Fixtures of the container-tools tests (``service shell``/``exec``/``commit``, ``image run``):
those of the image tests (a real Docker engine, the base image, a workspace per test, its
services and images deleted at the end), and the Typer apps the commands run in."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import typer

from dockyard.cli import image as image_cli
from dockyard.cli import service_container
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    cleanup,
    docker_client,
    registry,
    wheel_cache,
)
from tests.integration.images.conftest import (  # noqa: F401 - fixtures used by name
    made,
    project,
    test_sample,
    ws,
)


def service_app() -> typer.Typer:
    """``dockyard service`` with the commands of cli/service_container.py, as cli/service.py
    registers them."""
    app = typer.Typer()
    app.command("shell")(service_container.shell)
    app.command("exec")(service_container.exec_)
    app.command("commit")(service_container.commit)
    return app


def image_app() -> typer.Typer:
    return image_cli.app


REPO = Path(__file__).resolve().parents[3]
#: The commands of cli/service_container.py in a process of their own (for a real terminal).
SHELL_APP = """
import typer
from dockyard.cli import service_container
app = typer.Typer()
app.command("shell")(service_container.shell)
app.command("exec")(service_container.exec_)
app()
"""


def on_terminal(
    args: list[str], typed: bytes, timeout: float = 90, path: str | None = None
) -> tuple[int, str]:
    """Run the service commands with ``args`` on a new pseudo-terminal, type ``typed``, and
    return the exit code and everything the terminal showed (``path``: its PATH)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "SHELL": "/bin/sh", "PYTHONPATH": str(REPO), "TERM": "dumb"}
    if path is not None:
        env["PATH"] = path
    proc = subprocess.Popen(
        [sys.executable, "-c", SHELL_APP, *args],
        stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True,
    )  # fmt: skip
    os.close(follower)
    os.write(leader, typed)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: every process on it ended
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    try:
        proc.wait(timeout=30)
    finally:
        os.close(leader)
    return proc.returncode, seen.decode(errors="replace")
