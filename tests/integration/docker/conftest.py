"""Engines for the Docker tests: a real dockerd, a real registry on 127.0.0.1, a real base image.

Session fixtures, started once and only when a test asks for them:

* ``docker_client``: connects to the engine (``DOCKER_HOST`` honoured). When none answers, runs
  ``scripts/engines/install`` (Debian packages, as root) and ``scripts/engines/dockerd start``,
  and stops at the end, by PID, only a dockerd it started itself.
* ``registry``: ``scripts/engines/registry start`` (Debian's docker-registry on 127.0.0.1, free
  port), stopped at the end only if this session started it.
* ``base_image``: :func:`dockyard.builders.base_image.bootstrap_base_image` (debootstrap + docker
  import, about 40 s the first time; reused when present).

A missing or unstartable engine skips the tests locally and fails them with ``CI=true``.
Containers and images the tests make are removed at the end by name, never by pattern.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[3]
ENGINES = REPO / "scripts" / "engines"


def _script(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENGINES / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    pytest.importorskip("docker")
    from dockyard.errors import EngineUnavailableError
    from dockyard.targets.docker_engine import connect

    started = False
    try:
        client = connect()
    except EngineUnavailableError as first:
        if os.environ.get("DOCKER_HOST"):
            require_engine("docker", f"{first} (DOCKER_HOST is set: not starting a local one)")
        if os.geteuid() != 0:
            require_engine("docker", f"{first} (not root: cannot start dockerd here)")
        if shutil.which("dockerd") is None:
            done = _script("install")
            if done.returncode != 0:
                require_engine("docker", f"scripts/engines/install failed: {done.stderr[-2000:]}")
        done = _script("dockerd", "start")
        if done.returncode != 0:
            require_engine("docker", f"scripts/engines/dockerd start failed: {done.stderr[-2000:]}")
        started = done.stdout.strip().startswith("started")
        client = connect()
    yield client
    client.close()
    if started:
        _script("dockerd", "stop")


@pytest.fixture(scope="session")
def registry(docker_client: Any) -> Iterator[str]:
    """``127.0.0.1:PORT`` of a running registry."""
    if shutil.which("docker-registry") is None:
        done = _script("install")
        if done.returncode != 0:
            require_engine("registry", f"scripts/engines/install failed: {done.stderr[-2000:]}")
    done = _script("registry", "start", timeout=120)
    if done.returncode != 0:
        require_engine("registry", f"scripts/engines/registry start failed: {done.stderr[-2000:]}")
    word, *rest = done.stdout.split()
    address = rest[-1]
    yield address
    if word == "started":
        _script("registry", "stop")


@pytest.fixture(scope="session")
def base_image(docker_client: Any) -> str:
    from dockyard.builders.base_image import bootstrap_base_image
    from dockyard.errors import ImageBuildError

    try:
        return bootstrap_base_image(docker_client).name
    except ImageBuildError as exc:
        require_engine("docker base image", str(exc))
        raise


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheelhouse cache for the session (each test has its own DOCKYARD_HOME)."""
    return tmp_path_factory.mktemp("wheel-cache")


@pytest.fixture
def cleanup(docker_client: Any) -> Iterator[dict[str, list[str]]]:
    """Register containers and images (by exact name) to remove after the test."""
    made: dict[str, list[str]] = {"containers": [], "images": []}
    yield made
    for name in made["containers"]:
        with contextlib.suppress(Exception):
            docker_client.containers.get(name).remove(force=True)
    for name in made["images"]:
        with contextlib.suppress(Exception):
            docker_client.images.remove(name, force=True)
