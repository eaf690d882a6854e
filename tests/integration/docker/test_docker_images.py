"""Image builds on a real Docker engine: serve, cache reuse, secrets kept out, failures, registry."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from dockyard.builders.docker_builder import build_image, image_reference, push_image
from dockyard.builders.dockerfile import APP_ROOT, ImageSpec
from dockyard.builders.specs import EnvironmentSpec, ModelFileSpec, ModelSpec
from dockyard.builders.wheelhouse import RESOLVE_STEP, host_ca_bundle
from dockyard.errors import ImageBuildError
from dockyard.targets.docker_engine import (
    container_logs,
    inspect_container,
    published_port,
    run_container,
    stop_container,
)
from dockyard.targets.docker_images import pull_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCORE = """\
import json

def init():
    print("init called")

def run(raw_data):
    return {"echo": json.loads(raw_data), "version": VERSION}

VERSION = 1
"""


def _server_committed() -> bool:
    """True once the scoring server (helper S1) has a ``python -m dockyard.server`` entry point."""
    from dockyard.builders.runtime import package_root

    return (package_root() / "server" / "__main__.py").is_file()


def _project(root: Path, score: str = SCORE) -> tuple[Path, Path]:
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "score.py").write_text(score)
    (src / "helper.py").write_text("X = 1\n")
    return src / "score.py", src


def _model(root: Path, name: str = "tiny", version: int = 3) -> ModelSpec:
    blob = root / "blobs" / "model.txt"
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(b"weights\n")
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    file = ModelFileSpec(relative_path="model.txt", blob_path=blob, sha256=digest, size=8)
    return ModelSpec(name=name, version=version, files=(file,))


def _name(prefix: str) -> str:
    return f"dockyard-test-{prefix}-{uuid.uuid4().hex[:8]}"


def _get(url: str, timeout: float = 60.0) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _steps(log: str) -> list[tuple[str, bool]]:
    """``(step line, answered from cache)`` for every ``Step n/m`` of a build log."""
    out: list[tuple[str, bool]] = []
    for line in log.splitlines():
        if line.startswith("Step "):
            out.append((line, False))
        elif line.strip() == "---> Using cache" and out:
            out[-1] = (out[-1][0], True)
    return out


def test_build_run_and_serve(
    docker_client: Any, base_image: str, wheel_cache: Path, tmp_path: Path, cleanup: Any
) -> None:
    script, src = _project(tmp_path)
    tag = f"{_name('serve')}:1"
    cleanup["images"].append(tag)
    spec = ImageSpec(entry_script=script, source_directory=src, models=(_model(tmp_path),))
    result = build_image(
        docker_client, spec, tag, log_path=tmp_path / "build.log", cache_dir=wheel_cache
    )
    print(f"first build: {result.seconds:.1f} s, {(result.size - result.base_size) / 1e6:.1f} MB")
    assert "Successfully built" in (tmp_path / "build.log").read_text()

    config = docker_client.images.get(tag).attrs["Config"]
    assert config["User"] == "dockyard"
    assert config["WorkingDir"] == APP_ROOT
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["AZUREML_MODEL_DIR"] == "azureml-models/tiny/3"  # Azure ML v1: relative
    assert env["AZUREML_ENTRY_SCRIPT"] == "src/score.py"
    assert config["Labels"]["dockyard.models"] == "tiny:3"
    assert "/health/ready" in " ".join(config["Healthcheck"]["Test"])

    name = _name("serve")
    cleanup["containers"].append(name)
    command = None
    if not _server_committed():  # placeholder until the scoring server lands
        command = ["python", "-m", "http.server", "5001", "--bind", "0.0.0.0"]
    container = run_container(docker_client, tag, name=name, command=command, memory_gb=0.5)
    port = published_port(container)
    assert port is not None
    status, _ = _get(f"http://127.0.0.1:{port}/")
    assert status == 200, container_logs(docker_client, name)
    bindings = container.attrs["HostConfig"]["PortBindings"]["5001/tcp"]
    assert bindings[0]["HostIp"] == "127.0.0.1"

    if command is None:  # the real server: score, logs, and the HEALTHCHECK on readiness
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/score",
            data=b'{"a": 1}',
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            assert json.loads(response.read()) == {"echo": {"a": 1}, "version": 1}
        assert "init called" in container_logs(docker_client, name)
        deadline = time.monotonic() + 40
        while inspect_container(docker_client, name).health != "healthy":
            assert time.monotonic() < deadline, inspect_container(docker_client, name)
            time.sleep(0.5)

    code, out = container.exec_run(["sh", "-c", "id -u; cat $AZUREML_MODEL_DIR/model.txt"])
    assert code == 0, out
    uid, model = out.decode().split()
    assert uid != "0"
    assert model == "weights"
    code, out = container.exec_run(["sh", "-c", "ls /root/.cache/pip ~/.cache/pip 2>&1; echo"])
    assert b"No such file" in out or out.strip() == b""
    stop_container(docker_client, name, remove=True)


def test_score_only_rebuild_reuses_every_earlier_layer(
    docker_client: Any, base_image: str, wheel_cache: Path, tmp_path: Path, cleanup: Any
) -> None:
    script, src = _project(tmp_path)
    tag = f"{_name('cache')}:1"
    cleanup["images"].append(tag)
    spec = ImageSpec(entry_script=script, source_directory=src, models=(_model(tmp_path),))
    first = build_image(
        docker_client, spec, tag, log_path=tmp_path / "1.log", cache_dir=wheel_cache
    )
    script.write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    started = time.monotonic()
    second = build_image(
        docker_client, spec, tag, log_path=tmp_path / "2.log", cache_dir=wheel_cache
    )
    total = time.monotonic() - started
    print(f"score.py-only rebuild: {total:.1f} s (engine {second.seconds:.1f} s)")

    steps = _steps((tmp_path / "2.log").read_text())
    source_at = next(i for i, (line, _) in enumerate(steps) if "app/source/" in line)
    for line, cached in steps[:source_at]:
        assert cached or " FROM " in f" {line.split(' : ', 1)[1]}", f"not cached: {line}"
    assert not steps[source_at][1], "the source layer must be rebuilt"
    old = [layer["Id"] for layer in docker_client.images.get(first.image_id).history()]
    new = [layer["Id"] for layer in docker_client.images.get(second.image_id).history()]
    assert first.image_id != second.image_id
    # Every layer of the old image below the source COPY is in the new image's history.
    shared = [i for i in old if i in new and i != "<missing>"]
    assert len(shared) >= len(steps[:source_at]) // 2


def _layer_files(docker_client: Any, image: str, skip: set[str]) -> dict[str, bytes]:
    """Files of the image's own layers (not its base's), read from ``docker save``."""
    raw = b"".join(docker_client.images.get(image).save(named=False))
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer_path in manifest[0]["Layers"]:
            data = outer.extractfile(layer_path).read()  # type: ignore[union-attr]
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            if digest in skip:
                continue
            with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                for member in layer.getmembers():
                    if member.isfile():
                        files[member.name] = layer.extractfile(member).read()  # type: ignore[union-attr]
    return files


def _pypi_reachable() -> bool:
    bundle = host_ca_bundle()
    import ssl

    context = ssl.create_default_context(cafile=str(bundle) if bundle else None)
    try:
        urllib.request.urlopen("https://pypi.org/simple/six/", timeout=10, context=context)
    except OSError:
        return False
    return True


def _env(tmp_path: Path, *packages: str) -> EnvironmentSpec:
    return EnvironmentSpec(
        name="env", pip_packages=packages, build_hash="h" * 16, base_dir=tmp_path
    )


def test_network_build_keeps_the_ca_bundle_out_of_the_image(
    docker_client: Any, base_image: str, wheel_cache: Path, tmp_path: Path, cleanup: Any
) -> None:
    bundle = host_ca_bundle()
    if bundle is None or not _pypi_reachable():
        pytest.skip("pip's index is not reachable from this machine")
    script, src = _project(tmp_path)
    tag = f"{_name('ca')}:1"
    cleanup["images"].append(tag)
    spec = ImageSpec(
        entry_script=script,
        source_directory=src,
        environment=_env(tmp_path, "six"),
        python_deps="network",
    )
    build_image(docker_client, spec, tag, log_path=tmp_path / "b.log", cache_dir=wheel_cache)
    image = docker_client.images.get(tag)
    out = docker_client.containers.run(
        tag, ["python", "-c", "import six; print(six.__name__)"], remove=True
    )
    assert out.strip() == b"six"

    base_layers = set(docker_client.images.get(base_image).attrs["RootFS"]["Layers"])
    own = _layer_files(docker_client, tag, base_layers)
    ca = bundle.read_bytes()
    assert own, "the image's own layers hold files"
    for path, content in own.items():
        assert content != ca, f"the CA bundle is in the image at {path}"
        assert not path.endswith(("ca.crt", "pip.conf")), path
    history = " ".join(str(h.get("CreatedBy", "")) for h in image.history())
    for word in ("ca.crt", "pip.conf", "PIP_CONFIG_FILE", "BEGIN CERTIFICATE", "PIP_CERT"):
        assert word not in history
    config = image.attrs["Config"]
    text = json.dumps([config.get("Env"), config.get("Labels")])
    assert "ca.crt" not in text and "BEGIN CERTIFICATE" not in text and "PIP_" not in text
    assert all("|" not in str(h.get("CreatedBy", ""))[:3] for h in image.history())  # no ARGs


@pytest.mark.parametrize("mode", ["network", "wheelhouse"])
def test_broken_pip_dependency_names_the_step(
    mode: str, docker_client: Any, base_image: str, wheel_cache: Path, tmp_path: Path, cleanup: Any
) -> None:
    if mode == "network" and not _pypi_reachable():
        pytest.skip("pip's index is not reachable from this machine")
    script, src = _project(tmp_path)
    tag = f"{_name('broken')}:1"
    cleanup["images"].append(tag)
    spec = ImageSpec(
        entry_script=script,
        source_directory=src,
        environment=_env(tmp_path, "dockyard-no-such-package-7f3a==0.0.1"),
        python_deps=mode,  # type: ignore[arg-type]
    )
    log = tmp_path / "logs" / "build.log"
    with pytest.raises(ImageBuildError) as caught:
        build_image(docker_client, spec, tag, log_path=log, cache_dir=wheel_cache)
    error = caught.value
    if mode == "network":
        assert error.step is not None and error.step.startswith("Step ")
        assert "pip" in error.step and "install" in error.step
    else:
        assert error.step == RESOLVE_STEP
    assert error.log_tail and "dockyard-no-such-package-7f3a" in error.log_tail
    assert str(log) in str(error)
    full = log.read_text()
    assert "dockyard-no-such-package-7f3a" in full
    assert len(full.splitlines()) >= len(error.log_tail.splitlines())


def test_push_remove_and_pull_back(
    docker_client: Any,
    base_image: str,
    registry: str,
    wheel_cache: Path,
    tmp_path: Path,
    cleanup: Any,
) -> None:
    script, src = _project(tmp_path)
    name = _name("push")
    reference = image_reference(f"dockyard-tests/{name}", 1, registry)
    cleanup["images"].append(reference)
    spec = ImageSpec(entry_script=script, source_directory=src)
    built = build_image(
        docker_client, spec, reference, log_path=tmp_path / "b.log", cache_dir=wheel_cache
    )
    digest = push_image(docker_client, reference, log_path=tmp_path / "b.log")
    assert digest.startswith("sha256:")
    assert "# pushed" in (tmp_path / "b.log").read_text()
    docker_client.images.remove(reference)
    import docker.errors

    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(reference)
    pulled = pull_image(docker_client, reference)
    assert pulled == built.image_id


def test_generated_context_builds_with_the_docker_cli_and_runs_by_hand(
    docker_client: Any, base_image: str, wheel_cache: Path, tmp_path: Path, cleanup: Any
) -> None:
    """``generate_dockerfile=True``: the folder alone builds with ``docker build`` (the user's
    CI), extra Dockerfile steps included, and ``docker run -p 127.0.0.1:PORT:5001`` serves it."""
    import shutil
    import subprocess

    from dockyard.builders.dockerfile import write_build_context

    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    script, src = _project(tmp_path)
    spec = ImageSpec(
        entry_script=script,
        source_directory=src,
        extra_dockerfile_steps="RUN echo from-steps > /etc/dockyard-steps && id -u >> /etc/dockyard-steps",
    )
    context = write_build_context(spec, tmp_path / "generated", cache_dir=wheel_cache)
    tag = f"{_name('cli')}:1"
    cleanup["images"].append(tag)
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    done = subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(context.path)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = docker_client.containers.run(tag, ["cat", "/etc/dockyard-steps"], remove=True)
    assert out.decode().split() == ["from-steps", "0"]  # steps run as root

    name = _name("cli")
    cleanup["containers"].append(name)
    argv = ["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::5001", tag]
    if not _server_committed():
        argv += ["python", "-m", "http.server", "5001"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    port = published_port(docker_client.containers.get(name))
    status, _ = _get(f"http://127.0.0.1:{port}/")
    assert status == 200
