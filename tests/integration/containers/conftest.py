"""Fixtures of the container-tools tests (``service shell``/``exec``/``commit``, ``image run``):
those of the image tests (a real Docker engine, the base image, a workspace per test, its
services and images deleted at the end), and the Typer apps the commands run in."""

from __future__ import annotations

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
