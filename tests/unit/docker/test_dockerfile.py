"""The Dockerfile and build context, rendered without an engine."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dockyard.builders.dockerfile import (
    APP_ROOT,
    ImageSpec,
    image_labels,
    render_dockerfile,
    write_build_context,
)
from dockyard.builders.specs import EnvironmentSpec, ModelFileSpec, ModelSpec
from dockyard.builders.wheelhouse import (
    check_network_requirements,
    requirements_for,
    wheelhouse_key,
)
from dockyard.errors import ValidationError


def _model(root: Path, name: str, version: int) -> ModelSpec:
    blob = root / f"{name}-{version}.bin"
    blob.write_bytes(name.encode())
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    file = ModelFileSpec(relative_path="w/model.bin", blob_path=blob, sha256=digest, size=len(name))
    return ModelSpec(name=name, version=version, files=(file,))


def _project(root: Path) -> tuple[Path, Path]:
    src = root / "proj"
    src.mkdir()
    (src / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    wheel = root / "dockyard_server-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    return src, wheel


def _render(**overrides: object) -> str:
    args: dict[str, object] = {
        "base_image": "base:1",
        "network": False,
        "user_wheels": ("six-1.0-py3-none-any.whl",),
        "runtime_wheel": "dockyard_server-0.1.0-py3-none-any.whl",
        "has_models": True,
        "steps": "RUN apt-get update && apt-get -y install vim",
        "environment": {"AZUREML_MODEL_DIR": "/m", "AZUREML_ENTRY_SCRIPT": "s.py", "A": "b"},
        "labels": {"dockyard.models": "m:1"},
        "command": ["python", "-m", "dockyard.server"],
    }
    args.update(overrides)
    return render_dockerfile(**args)  # type: ignore[arg-type]


def test_layers_are_ordered_for_the_cache() -> None:
    text = _render()
    final = text[text.rindex("\nFROM base:1\n") :]
    order = [
        "RUN useradd",
        "RUN apt-get update && apt-get -y install vim",
        "COPY --from=builder /opt/venv",
        "COPY --from=builder /opt/dockyard-runtime",
        "USER dockyard",
        "COPY app/models/",
        "COPY --chown=dockyard:dockyard app/source/",
        "\nLABEL ",
        "\nCMD ",
    ]
    positions = [final.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert text.count("FROM ") == 2 and "FROM base:1 AS builder" in text
    assert "HEALTHCHECK" in final and "/health/ready" in final and "curl" not in final
    assert "--no-cache-dir" in text and "--no-index" in text
    # Model- and source-dependent settings come after those layers; the rest before.
    assert final.index('A="b"') < final.index("COPY app/models/")
    assert final.index("AZUREML_MODEL_DIR") > final.index("app/source/")


def test_network_mode_uses_pip_config_only_in_the_builder() -> None:
    text = _render(network=True)
    builder, final = text.split("\nFROM base:1\n")
    assert "PIP_CONFIG_FILE=/tmp/dockyard/pip/pip.conf" in builder
    assert "pip.conf" not in final and "/tmp/dockyard" not in final


@pytest.mark.parametrize("word", ["FROM python:3.11", "USER root", 'CMD ["x"]'])
def test_extra_steps_cannot_replace_the_frame(tmp_path: Path, word: str) -> None:
    src, wheel = _project(tmp_path)
    spec = ImageSpec(
        entry_script=src / "score.py",
        runtime_wheel=wheel,
        extra_dockerfile_steps=f"RUN true\n{word}\n",
        python_deps="network",
    )
    with pytest.raises(ValidationError, match="not allowed"):
        write_build_context(spec, tmp_path / "ctx")


def test_context_layout_one_model(tmp_path: Path) -> None:
    src, wheel = _project(tmp_path)
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
    spec = ImageSpec(
        entry_script=src / "score.py",
        source_directory=src,
        models=(_model(tmp_path, "mymodel", 2),),
        runtime_wheel=wheel,
        python_deps="network",
        ca_bundle=ca,
        labels={"team": "ml"},
    )
    ctx = write_build_context(spec, tmp_path / "ctx")
    root = ctx.path
    assert (root / "Dockerfile").is_file()
    assert (root / "app/source/proj/score.py").is_file()
    assert (root / "app/models/azureml-models/mymodel/2/w/model.bin").read_bytes() == b"mymodel"
    assert (root / "dockyard/pip/ca.crt").read_text() == ca.read_text()
    assert "cert = /tmp/dockyard/pip/ca.crt" in (root / "dockyard/pip/pip.conf").read_text()
    assert (root / "dockyard/runtime" / wheel.name).is_file()
    # Azure ML v1's values, relative to the app root (the server's working directory)
    assert ctx.environment["AZUREML_MODEL_DIR"] == "azureml-models/mymodel/2"
    assert ctx.environment["AML_APP_ROOT"] == APP_ROOT
    assert ctx.environment["AZUREML_ENTRY_SCRIPT"] == "proj/score.py"
    assert ctx.environment["AZUREML_SOURCE_DIRECTORY"] == "proj"
    # no --entry-script: the server reads AZUREML_ENTRY_SCRIPT, so the script sees it unchanged
    assert ctx.command == ["python", "-m", "dockyard.server", "--host", "0.0.0.0", "--port", "5001"]
    assert ctx.labels["dockyard.models"] == "mymodel:2" and ctx.labels["team"] == "ml"
    final = (root / "Dockerfile").read_text().split("# ---- the image")[1]
    assert "ca.crt" not in final and "pip.conf" not in final


def test_context_layout_several_models_and_lone_script(tmp_path: Path) -> None:
    src, wheel = _project(tmp_path)
    spec = ImageSpec(
        entry_script=src / "score.py",
        models=(_model(tmp_path, "a", 1), _model(tmp_path, "b", 4)),
        runtime_wheel=wheel,
        python_deps="network",
    )
    ctx = write_build_context(spec, tmp_path / "ctx")
    assert ctx.environment["AZUREML_MODEL_DIR"] == "azureml-models"
    assert ctx.environment["AZUREML_ENTRY_SCRIPT"] == "score.py"
    assert "AZUREML_SOURCE_DIRECTORY" not in ctx.environment
    assert (ctx.path / "app/source/score.py").is_file()
    assert ctx.labels["dockyard.models"] == "a:1,b:4"


def test_labels_carry_environment_hash_and_version(tmp_path: Path) -> None:
    env = EnvironmentSpec(name="env", version="3", build_hash="abc123", pip_packages=())
    spec = ImageSpec(entry_script=tmp_path / "score.py", environment=env)
    labels = image_labels(spec, "score.py", "w.whl")
    assert labels["dockyard.environment"] == "env:3"
    assert labels["dockyard.environment.build-hash"] == "abc123"
    assert labels["dockyard.version"]


def test_requirements_from_conda_spec() -> None:
    env = EnvironmentSpec(
        name="e",
        conda_packages=("numpy=1.15", "python=3.11"),
        pip_packages=("azureml-defaults==1.0.45", "six"),
        pip_options=("--extra-index-url https://example.invalid/simple",),
        build_hash="x",
    )
    notes: list[str] = []
    requirements, _ = requirements_for(env, "3.11", notes)
    lines = requirements.splitlines()
    assert "numpy==1.15.*" in lines and "six" in lines
    assert "--extra-index-url https://example.invalid/simple" in lines
    assert not any("azureml-defaults" in line for line in lines)
    assert any("azureml-defaults" in note for note in notes)
    assert requirements_for(None, "3.11", []) == ("", "")


def test_network_mode_refuses_host_paths() -> None:
    check_network_requirements("six\n--extra-index-url https://x/simple\n")
    with pytest.raises(ValidationError, match="wheelhouse"):
        check_network_requirements("/home/me/dist/pkg-1.0-py3-none-any.whl\n")


def test_wheelhouse_key_follows_local_files(tmp_path: Path) -> None:
    wheel = tmp_path / "x-1.0-py3-none-any.whl"
    wheel.write_bytes(b"1")
    first = wheelhouse_key(f"{wheel}\n", "", "3.11")
    assert wheelhouse_key(f"{wheel}\n", "", "3.11") == first
    assert wheelhouse_key(f"{wheel}\n", "", "3.12") != first
    wheel.write_bytes(b"22")
    assert wheelhouse_key(f"{wheel}\n", "", "3.11") != first
