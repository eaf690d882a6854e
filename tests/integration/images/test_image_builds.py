"""Image builds through the user API: a broken dependency, a score.py-only rebuild, packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dockyard import InferenceConfig, Model
from dockyard.assets.image import ContainerImage, Image, ImageCreationError
from dockyard.builders.wheelhouse import RESOLVE_STEP
from dockyard.errors import WebserviceException

from .conftest import SCORE

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_broken_pip_dependency_fails_the_image_and_keeps_the_log(
    ws: Any, project: Path, made: Any
) -> None:
    Path("myenv.yml").write_text(
        "name: broken\ndependencies:\n  - python=3.11\n  - pip:\n"
        "      - dockyard-no-such-package-7f3a==0.0.1\n"
    )
    model = Model.register(ws, model_path="model.json", model_name="summer")
    config = ContainerImage.image_configuration(entry_script="score.py", conda_file="myenv.yml")
    image = Image.create(ws, "broken", [model], config)
    with pytest.raises(ImageCreationError) as caught:
        image.wait_for_creation()
    error = caught.value
    assert isinstance(error, WebserviceException)  # v1 code catching it still works
    assert error.step == RESOLVE_STEP
    assert "dockyard-no-such-package-7f3a" in str(error)
    assert "dockyard image logs broken:1" in str(error)
    assert image.creation_state == "Failed" and "dockyard-no-such-package-7f3a" in (
        image.error or ""
    )
    log = Path(image.image_build_log_uri[len("file://") :]).read_text()
    assert "dockyard-no-such-package-7f3a" in log

    done = subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", "image", "logs", "broken:1", "-w", str(ws.path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == log
    shown = subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", "image", "show", "broken", "-w", str(ws.path),
         "-o", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert '"creationState": "Failed"' in shown.stdout


def _steps(log: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for line in log.splitlines():
        if line.startswith("Step "):
            out.append((line, False))
        elif line.strip() == "---> Using cache" and out:
            out[-1] = (out[-1][0], True)
    return out


def test_score_only_rebuild_reuses_every_earlier_layer(ws: Any, project: Path, made: Any) -> None:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    config = ContainerImage.image_configuration(entry_script="score.py", conda_file="myenv.yml")
    first = Image.create(ws, "rebuilt", [model], config)
    first.wait_for_creation()
    Path("score.py").write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
    second = Image.create(ws, "rebuilt", [model], config)
    second.wait_for_creation()
    assert second.version == 2
    steps = _steps(Path(second.build_log_path or "").read_text())
    source_at = next(i for i, (line, _) in enumerate(steps) if "app/source/" in line)
    for line, cached in steps[:source_at]:
        assert cached or line.split(" : ", 1)[1].startswith("FROM "), f"not cached: {line}"
    assert not steps[source_at][1]
    assert second._record.spec["cached_steps"] >= source_at - 2  # the two FROM lines


def test_model_package_builds_or_writes_a_dockerfile(
    ws: Any, project: Path, made: Any, tmp_path: Path
) -> None:
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    built = Model.package(ws, [model], inference, image_name="pkg")
    built.wait_for_creation(show_output=False)
    assert built.location and built.location.endswith("/pkg:1")
    assert built.pull()
    assert "Successfully built" in built.get_logs()

    files = Model.package(ws, [model], inference, generate_dockerfile=True)
    files.wait_for_creation()
    assert files.location is None
    out = files.save(tmp_path / "ctx")
    assert (out / "Dockerfile").is_file()
    assert (out / "app" / "source" / "score.py").is_file()
    assert (out / "app" / "models" / "azureml-models" / "summer" / "1" / "model.json").is_file()


def test_bootstrap_base_image_reuses_the_image_and_makes_it_the_default(
    ws: Any, base_image: str
) -> None:
    lines: list[str] = []
    result = Image.bootstrap_base_image(ws, name=base_image, log=lines.append)
    assert (result.name, result.created) == (base_image, False)
    assert any("reusing it" in line for line in lines)
    assert Image.default_base_image(ws) == base_image
    other = Image.bootstrap_base_image(ws, name=base_image, set_as_default=False)
    assert other.image_id == result.image_id
