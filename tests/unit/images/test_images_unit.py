"""Images and the container target without an engine: configuration checks, versions, settings,
the clear error for an unreachable engine, and the target's pure helpers."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from dockyard import Model, Workspace
from dockyard.assets.image import ContainerImage, Image, ImageCreationError
from dockyard.errors import EngineUnavailableError, ValidationError, WebserviceException
from dockyard.ops import images as repo
from dockyard.ops.images import settings
from dockyard.store import images as image_rows
from dockyard.targets._docker_parts import crash_text, with_port
from dockyard.webservice.container import AciWebservice


@pytest.fixture
def ws(tmp_path: Path, workdir: Path) -> Workspace:
    (workdir / "score.py").write_text("def init():\n    pass\ndef run(d):\n    return d\n")
    (workdir / "myenv.yml").write_text("name: e\ndependencies:\n  - python=3.11\n")
    (workdir / "model.txt").write_text("w")
    return Workspace.create("unit-images", path=str(tmp_path / "ws"))


def test_image_configuration_checks_files_now(ws: Workspace) -> None:
    config = ContainerImage.image_configuration(
        runtime="python", execution_script="score.py", conda_file="myenv.yml"
    )
    assert config.inference_config.entry_script.endswith("score.py")
    assert config.inference_config.environment is not None
    with pytest.raises(ValidationError, match="nope.yml"):
        ContainerImage.image_configuration(entry_script="score.py", conda_file="nope.yml")
    with pytest.raises(ValidationError, match="Dependency"):
        ContainerImage.image_configuration(entry_script="score.py", dependencies=["missing.csv"])
    with pytest.raises(ValidationError, match="enable_gpu"):
        ContainerImage.image_configuration(entry_script="score.py", enable_gpu=True)


def test_dependencies_are_staged_beside_the_script(ws: Workspace, tmp_path: Path) -> None:
    Path("lookup.csv").write_text("a,b\n")
    config = ContainerImage.image_configuration(
        entry_script="score.py", dependencies=["lookup.csv"]
    )
    staged = config.staged_inference_config(tmp_path / "stage")
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == ["lookup.csv", "score.py"]
    assert staged.entry_script_relative == "score.py"


@pytest.mark.parametrize("name", ["ab", "MyImg", "-img", "img-", "x" * 33, "my img"])
def test_image_names_follow_azure_rules(name: str) -> None:
    with pytest.raises(ValidationError):
        repo.check_name(name)


def test_versions_are_assigned_atomically(ws: Workspace) -> None:
    got: list[int] = []

    def add() -> None:
        got.append(image_rows.add_version(ws.store, "racer").version)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(1, 9))
    assert ws.images["racer"].version == 8
    assert [i.version for i in Image.list(ws, image_name="racer")] == list(range(8, 0, -1))
    assert list(ws.images) == ["racer"] and len(ws.images) == 1


def test_a_build_whose_process_died_is_failed(ws: Workspace) -> None:
    record = image_rows.add_version(ws.store, "orphan", build_log_path=str(ws.path / "x.log"))
    import socket

    image_rows.update(ws.store, record.id, state=image_rows.RUNNING,
                      spec={"builder": {"pid": 2**22 + 12345, "host": socket.gethostname()}})  # fmt: skip
    image = Image(ws, "orphan")
    assert image.creation_state == "Failed"
    with pytest.raises(ImageCreationError) as caught:
        image.wait_for_creation()
    assert isinstance(caught.value, WebserviceException)
    assert "ended before the build finished" in str(caught.value)


def test_registry_settings_keep_the_password_in_the_secrets(ws: Workspace) -> None:
    settings.set_registry(ws, "127.0.0.1:5000/team", "bot", "s3cret")
    assert settings.registry(ws) == settings.RegistrySettings("127.0.0.1:5000/team", "bot")
    assert "s3cret" not in (ws.path / "settings.json").read_text()
    assert settings.auth_config(ws, settings.registry(ws)) == {
        "username": "bot",
        "password": "s3cret",
    }
    settings.set_default_base_image(ws, "dockyard/python:3.11-bookworm")
    data = json.loads((ws.path / "settings.json").read_text())
    assert data["images"]["base_image"] == "dockyard/python:3.11-bookworm"
    settings.set_registry(ws, None)
    assert settings.registry(ws) is None
    with pytest.raises(ValidationError):
        settings.set_registry(ws, "https://registry.example.com")


def test_an_unreachable_engine_is_a_clear_error(ws: Workspace, monkeypatch: Any) -> None:
    pytest.importorskip("docker")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    model = Model.register(ws, model_path="model.txt", model_name="m1")
    config = ContainerImage.image_configuration(entry_script="score.py")
    with pytest.raises(EngineUnavailableError) as caught:
        Image.create(ws, "noengine", [model], config)
    text = str(caught.value)
    assert "tcp://127.0.0.1:9" in text and "start a Docker engine" in text
    assert repo.get(ws, "noengine") is None  # nothing recorded
    from dockyard import InferenceConfig

    with pytest.raises(EngineUnavailableError):
        Model.deploy(ws, "noengine", [model], InferenceConfig(entry_script="score.py"),
                     AciWebservice.deploy_configuration())  # fmt: skip


def test_deploy_configuration_defaults_and_validation() -> None:
    config = AciWebservice.deploy_configuration()
    assert (config.cpu_cores, config.memory_gb, config.auth_enabled) == (0.1, 0.5, False)
    config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, location="eastus")
    assert (config.cpu_cores, config.memory_gb, config.target) == (1, 1, "docker")
    with pytest.raises(ValidationError, match="memory_gb"):
        AciWebservice.deploy_configuration(memory_gb=0)


def test_server_command_port_and_traceback_helpers() -> None:
    cmd = ["python", "-m", "dockyard.server", "--entry-script", "s.py", "--port", "5001"]
    assert with_port(cmd, 5002)[-2:] == ["--port", "5002"]
    assert with_port(["python"], 5003) == ["python", "--port", "5003"]
    logs = "banner\nTraceback (most recent call last):\n  File x\nValueError: boom\nexit\n"
    assert crash_text(logs).startswith("Traceback") and "boom" in crash_text(logs)
    assert crash_text("a\nb\n", lines=1) == "b"


def test_model_deploy_refuses_a_taken_container_name(ws: Workspace) -> None:
    from dockyard.ops import records

    records.save(ws, records.ServiceRecord(
        name="taken", target="docker", state="Healthy", error=None, spec={}, runtime={},
        model_ids=[], restart_count=0))  # fmt: skip
    from dockyard.errors import ConflictError
    from dockyard.ops import services
    from dockyard.ops.specs import ServicePlan

    settings = AciWebservice.deploy_configuration().to_settings()
    with pytest.raises(ConflictError, match="overwrite=True"):
        services.deploy(ws, "taken", ServicePlan(model_ids=(), inference={}), settings)
    assert os.environ.get("DOCKER_HOST") is None or True


def test_public_settings_calls_set_and_read_the_registry_and_base_image(ws: Workspace) -> None:
    assert Image.get_container_registry(ws) is None
    configured = Image.set_container_registry(ws, "127.0.0.1:5000/team/", "bot", "s3cret")
    assert configured is not None and configured.address == "127.0.0.1:5000/team"
    assert Image.get_container_registry(ws) == configured and configured.username == "bot"
    assert "s3cret" not in (ws.path / "settings.json").read_text()
    assert Image.set_container_registry(ws, None) is None
    assert Image.get_container_registry(ws) is None
    assert "container-registry-password" not in {
        item["name"] for item in ws.get_default_keyvault().list_secrets()
    }
    with pytest.raises(ValidationError, match="no scheme"):
        Image.set_container_registry(ws, "https://registry.example.com")

    assert Image.default_base_image(ws) is None
    assert Image.DOCKYARD_BASE_IMAGE == "dockyard/python:3.11-bookworm"
    Image.set_default_base_image(ws, "corp/python:3.11")
    assert Image.default_base_image(ws) == "corp/python:3.11"
    Image.set_default_base_image(ws, None)
    assert Image.default_base_image(ws) is None


def test_a_missing_model_fails_image_create_before_anything_is_recorded(ws: Workspace) -> None:
    from dockyard.errors import ModelNotFoundError

    config = ContainerImage.image_configuration(entry_script="score.py")
    with pytest.raises(ModelNotFoundError) as caught:
        Image.create(ws, "nomodel", ["ghost:3"], config)
    assert "Model 'ghost:3' not found in workspace 'unit-images'" in str(caught.value)
    assert "dockyard model list" in str(caught.value)
    assert repo.get(ws, "nomodel") is None


def test_model_specs_come_from_the_store_by_id(ws: Workspace) -> None:
    from dockyard.errors import ModelNotFoundError
    from dockyard.ops import models

    model = Model.register(ws, model_path="model.txt", model_name="m1")
    (spec,) = models.specs(ws, ["m1:1"])
    assert spec == model.to_spec()
    assert spec.files[0].blob_path.read_bytes() == b"w"
    with pytest.raises(ModelNotFoundError, match=r"existing versions: \[1\]"):
        models.spec(ws, "m1:2")
    with pytest.raises(ValidationError, match="name:version"):
        models.spec(ws, "m1")


def test_an_image_plan_is_plain_and_its_content_hash_follows_what_goes_in(
    ws: Workspace, workdir: Path
) -> None:
    from dockyard import InferenceConfig
    from dockyard.assets.image_config import image_plan
    from dockyard.ops.images.build import base_image, content_hash

    model = Model.register(ws, model_path="model.txt", model_name="m1")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    plan = image_plan(ws, [model], inference)
    assert plan.model_ids == ("m1:1",) and plan.spec.models[0].name == "m1"
    assert plan.entry_script_relative == "score.py" and plan.spec.base_image is None
    key = content_hash(ws, plan)
    assert content_hash(ws, image_plan(ws, ["m1:1"], inference)) == key  # ids or Model objects
    assert base_image(ws, plan) is None
    Image.set_default_base_image(ws, "corp/python:3.11")
    assert base_image(ws, plan) == "corp/python:3.11"
    assert content_hash(ws, plan) != key  # another base image is another image
    Image.set_default_base_image(ws, None)
    (workdir / "score.py").write_text("def init():\n    pass\ndef run(d):\n    return 2\n")
    assert content_hash(ws, image_plan(ws, [model], inference)) != key
