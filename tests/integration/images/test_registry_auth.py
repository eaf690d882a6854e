"""A registry that needs credentials (the seed's "registry authentication failure"): the push
fails at step ``push`` with a hint naming the call (and the CLI command) that stores them, and
applying that hint makes the same build push.

The registry is a real ``docker-registry`` with htpasswd (bcrypt) authentication that this test
starts on 127.0.0.1 and stops by its PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import require_engine

import dockyard
from dockyard import Model
from dockyard.assets.image import ContainerImage, Image
from dockyard.cli.advice import render_error
from dockyard.errors import ImageBuildError

with warnings.catch_warnings():  # deprecated in 3.11, gone in 3.13: bcrypt for htpasswd
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def auth_registry(tmp_path: Path, docker_client: Any) -> Iterator[str]:
    if shutil.which("docker-registry") is None:
        require_engine("registry", "docker-registry is not installed: run scripts/engines/install")
    folder = tmp_path / "auth-registry"
    folder.mkdir()
    salt = crypt.mksalt(crypt.METHOD_BLOWFISH)
    (folder / "htpasswd").write_text(f"alice:{crypt.crypt('s3cret', salt)}\n")
    port = _free_port()
    (folder / "config.yml").write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"auth:\n  htpasswd:\n    realm: dockyard-test\n    path: {folder / 'htpasswd'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = open(folder / "registry.log", "wb")  # noqa: SIM115 - closed after the process
    process = subprocess.Popen(
        ["docker-registry", "serve", str(folder / "config.yml")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code == 401:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (folder / "registry.log").read_text()
            assert time.monotonic() < deadline, "the test registry did not answer within 30 s"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_a_push_without_credentials_names_the_push_step_and_the_hint_works(
    ws: Any, project: Path, made: Any, auth_registry: str
) -> None:
    address = f"{auth_registry}/team-{uuid.uuid4().hex[:6]}"
    Image.set_container_registry(ws, address)
    model = Model.register(ws, model_path="model.json", model_name="summer")
    config = ContainerImage.image_configuration(entry_script="score.py", conda_file="myenv.yml")
    image = Image.create(ws, "authimg", [model], config)
    with pytest.raises(ImageBuildError) as caught:
        image.wait_for_creation()
    error = caught.value
    assert error.step == "push"
    assert "Pushing" in str(error) and auth_registry in str(error)
    assert "the registry needs credentials" in (error.hint or "")
    assert f'Image.set_container_registry(ws, "{auth_registry}", username=' in (error.hint or "")
    assert f"docker login {auth_registry}" in (error.hint or "")
    # the CLI says the same with its own command
    assert (
        f"`dockyard image registry {auth_registry} --username USER --password-stdin`"
        in render_error(error)
    )
    assert Image(ws, "authimg").creation_state == "Failed"
    report = dockyard.diagnose(ws, image="authimg:1")  # the build log read afterwards
    found = report.failed
    assert found is not None and found.step == "build log" and "[push]" in found.finding
    assert f'Image.set_container_registry(ws, "{auth_registry}", username=' in found.fix

    # the hint, applied: credentials kept as a workspace secret, then the build again
    Image.set_container_registry(ws, address, username="alice", password="s3cret")
    image = Image.create(ws, "authimg", [model], config)
    image.wait_for_creation()
    assert image.creation_state == "Succeeded"
    assert image.image_location.startswith(f"{address}/")
    assert "# pushed" in Path(image.build_log_path or "").read_text()

    # wrong credentials are told apart from missing ones
    Image.set_container_registry(ws, address, username="alice", password="wrong")
    (project / "score.py").write_text((project / "score.py").read_text() + "\n# v3\n")
    image = Image.create(ws, "authimg", [model], config)
    with pytest.raises(ImageBuildError) as caught:
        image.wait_for_creation()
    assert "refused the workspace's credentials" in (caught.value.hint or "")
