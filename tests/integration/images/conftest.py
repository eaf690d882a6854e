"""Fixtures for the image and container-service tests (real Docker engine, real registry).

The engine, registry and base-image fixtures are those of ``tests/integration/docker`` (started
when missing, stopped at the end only if this session started them). Each test gets its own
workspace; the services and images it creates are deleted at the end, by name.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    cleanup,
    docker_client,
    registry,
    wheel_cache,
)

SCORE = """\
import json, os

model = None

def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.json")) as f:
        model = json.load(f)
    print("init done, factor", model["factor"])

def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return {"version": VERSION, "result": [sum(r) * model["factor"] for r in rows]}

VERSION = 1
"""

ENV_YML = """\
name: myenv
dependencies:
  - python=3.11
  - pip:
      - azureml-defaults
"""

test_sample = json.dumps(
    {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}
)


@pytest.fixture
def ws(tmp_path: Path, base_image: str, wheel_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    from dockyard import Workspace

    # One DOCKYARD_HOME for the session: resolved wheelhouses and the server wheel are reused.
    monkeypatch.setenv("DOCKYARD_HOME", str(wheel_cache.parent / "dockyard-home"))
    monkeypatch.delenv("DOCKYARD_CONTAINER_REGISTRY", raising=False)
    return Workspace.create(f"img-{uuid.uuid4().hex[:8]}", path=str(tmp_path / "ws"))


@pytest.fixture
def project(workdir: Path) -> Path:
    """The seed's files in the current folder: score.py, myenv.yml and a model file."""
    (workdir / "score.py").write_text(SCORE)
    (workdir / "myenv.yml").write_text(ENV_YML)
    (workdir / "model.json").write_text(json.dumps({"factor": 2}))
    return workdir


@pytest.fixture
def made(ws: Any) -> Iterator[dict[str, list[Any]]]:
    """Services and images to delete after the test (services first: they use the images)."""
    from dockyard.assets.image import Image

    things: dict[str, list[Any]] = {"services": [], "images": []}
    yield things
    for name in things["services"]:
        with contextlib.suppress(Exception):
            ws.webservices[name].delete()
    for image in Image.list(ws):
        with contextlib.suppress(Exception):
            image.delete()
