"""InferenceConfig: Azure's path rules, absolute storage, the legacy forms, inferenceconfig.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard import CondaDependencies, Environment, InferenceConfig
from dockyard.errors import ValidationError

SCORE = "def init():\n    pass\n\n\ndef run(data):\n    return data\n"


@pytest.fixture
def project(workdir: Path) -> Path:
    """cwd/ with score.py, src/score.py, src/pkg/helper_score.py, myenv.yml, Dockerfile.steps."""
    (workdir / "score.py").write_text(SCORE)
    (workdir / "src" / "pkg").mkdir(parents=True)
    (workdir / "src" / "score.py").write_text(SCORE)
    (workdir / "src" / "pkg" / "helper_score.py").write_text(SCORE)
    CondaDependencies.create(pip_packages=["azureml-defaults", "numpy"]).save("myenv.yml")
    (workdir / "src" / "env.yml").write_text("dependencies:\n  - pip:\n    - scipy\n")
    (workdir / "Dockerfile.steps").write_text("RUN apt-get update && apt-get -y install vim\n")
    return workdir


def test_entry_script_is_relative_to_source_directory_and_stored_absolute(
    project: Path, tmp_path: Path
) -> None:
    env = Environment("env")
    ic = InferenceConfig(
        entry_script="pkg/helper_score.py", source_directory="src", environment=env
    )
    assert ic.source_directory == str((project / "src").resolve())
    assert ic.entry_script == str((project / "src" / "pkg" / "helper_score.py").resolve())
    assert ic.entry_script_relative == "pkg/helper_score.py"
    assert ic.environment is env
    # later, from another folder, the paths still point at the files
    os.chdir(tmp_path)
    assert Path(ic.entry_script).is_file() and Path(ic.source_directory).is_dir()


def test_without_source_directory_the_script_is_relative_to_the_cwd(project: Path) -> None:
    ic = InferenceConfig("score.py")
    assert ic.entry_script == str((project / "score.py").resolve())
    assert ic.source_directory is None
    assert ic.entry_script_relative == "score.py"
    assert ic.environment is None


def test_the_seeds_execution_script_spelling(project: Path) -> None:
    ic = InferenceConfig(runtime="python", execution_script="score.py", conda_file="myenv.yml")
    assert ic.entry_script == str((project / "score.py").resolve())
    with pytest.raises(ValidationError, match="not both"):
        InferenceConfig(entry_script="score.py", execution_script="score.py")


def test_legacy_form_turns_conda_file_into_an_environment(project: Path) -> None:
    ic = InferenceConfig(
        entry_script="score.py",
        runtime="python",
        conda_file="myenv.yml",
        extra_docker_file_steps="Dockerfile.steps",
        description="legacy",
        base_image="python:3.11-slim",
        enable_gpu=False,
    )
    assert ic.conda_file == str((project / "myenv.yml").resolve())
    assert ic.extra_docker_file_steps == str((project / "Dockerfile.steps").resolve())
    assert isinstance(ic.environment, Environment)
    cd = ic.environment.python.conda_dependencies
    assert cd is not None and cd.pip_packages == ["azureml-defaults", "numpy"]
    assert ic.environment.docker.base_image == "python:3.11-slim"
    assert ic.environment.name == "myenv"


def test_legacy_conda_file_is_relative_to_source_directory(project: Path) -> None:
    ic = InferenceConfig("score.py", "python", "env.yml", source_directory="src")
    assert ic.conda_file == str((project / "src" / "env.yml").resolve())
    assert ic.environment is not None
    cd = ic.environment.python.conda_dependencies
    assert cd is not None and cd.pip_packages == ["scipy"]


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"entry_script": "missing.py"}, ["'missing.py'", "does not exist", "current folder"]),
        (
            {"entry_script": "score.py", "source_directory": "nowhere"},
            ["'nowhere'", "does not exist"],
        ),
        (
            {"entry_script": "score.py", "source_directory": "src/pkg"},
            ["'score.py'", "src/pkg/score.py", "relative to source_directory"],
        ),
        ({"entry_script": "../score.py", "source_directory": "src"}, ["outside source_directory"]),
        ({"entry_script": "Dockerfile.steps"}, ["'Dockerfile.steps'", "importable"]),
        ({"entry_script": "score.py", "conda_file": "nope.yml"}, ["conda_file", "'nope.yml'"]),
        (
            {"entry_script": "score.py", "extra_docker_file_steps": "Dockerfile.nope"},
            ["extra_docker_file_steps", "'Dockerfile.nope'"],
        ),
        ({"entry_script": "score.py", "runtime": "spark-py"}, ["'spark-py'", "not supported"]),
        (
            {
                "entry_script": "score.py",
                "conda_file": "myenv.yml",
                "environment": Environment("e"),
            },
            ["conda_file", "environment"],
        ),
        ({}, ["needs an entry_script"]),
    ],
)
def test_bad_inputs_are_clear_errors(
    project: Path, kwargs: dict[str, object], needles: list[str]
) -> None:
    with pytest.raises(ValidationError) as info:
        InferenceConfig(**kwargs)  # type: ignore[arg-type]
    text = str(info.value)
    assert "What to do:" in text
    for needle in needles:
        assert needle in text, text


def test_a_script_with_a_syntax_error_is_reported_with_its_line(project: Path) -> None:
    (project / "broken.py").write_text("def init():\n    pass\n\ndef run(data)\n    return 1\n")
    with pytest.raises(ValidationError, match=r"broken\.py, line 4: syntax error"):
        InferenceConfig("broken.py")


def test_serialize_and_deserialize_round_trip(project: Path, tmp_path: Path) -> None:
    env = Environment.from_conda_specification("env", "myenv.yml")
    env.environment_variables["MODE"] = "fast"
    ic = InferenceConfig("score.py", source_directory="src", environment=env, description="d")
    data = json.loads(json.dumps(ic.serialize()))
    assert data["entryScript"] == ic.entry_script and data["sourceDirectory"] == ic.source_directory
    os.chdir(tmp_path)
    back = InferenceConfig.deserialize(data)
    assert back.entry_script == ic.entry_script and back.description == "d"
    assert back.environment is not None
    assert back.environment.full_hash() == env.full_hash()

    legacy = InferenceConfig(str(project / "score.py"), "python", str(project / "myenv.yml"))
    again = InferenceConfig.deserialize(None, json.loads(json.dumps(legacy.serialize())))
    assert again.conda_file == legacy.conda_file and again.environment is not None


def test_from_file_reads_a_v1_inferenceconfig_json(project: Path, tmp_path: Path) -> None:
    (project / "inferenceconfig.json").write_text(
        json.dumps(
            {
                "entryScript": "score.py",
                "runtime": "python",
                "condaFile": "myenv.yml",
                "extraDockerfileSteps": None,
                "sourceDirectory": None,
                "enableGpu": False,
                "baseImage": None,
                "baseImageRegistry": None,
            }
        )
    )
    os.chdir(tmp_path)  # relative paths resolve against the file's folder
    ic = InferenceConfig.from_file(project / "inferenceconfig.json")
    assert ic.entry_script == str((project / "score.py").resolve())
    assert ic.conda_file == str((project / "myenv.yml").resolve())
    assert ic.environment is not None


def test_from_file_errors_name_the_file(project: Path) -> None:
    bad = project / "bad.json"
    bad.write_text('{"entryScript": "score.py",}')
    with pytest.raises(ValidationError, match=r"bad\.json, line 1: not valid JSON"):
        InferenceConfig.from_file(bad)
    typo = project / "typo.json"
    typo.write_text('{"entryScirpt": "score.py"}')
    with pytest.raises(ValidationError, match="entryScirpt"):
        InferenceConfig.from_file(typo)
    ref = project / "ref.json"
    ref.write_text('{"entryScript": "score.py", "environment": {"name": "myenv", "version": "2"}}')
    with pytest.raises(ValidationError, match="no workspace was given"):
        InferenceConfig.from_file(ref)
