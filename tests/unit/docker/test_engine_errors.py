"""Engine-level behaviour that needs no engine: connection errors, build-log parsing, states."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.builders.base_image import default_base_image_name
from dockyard.builders.docker_builder import _failure, _follow, _StepTracker, image_reference
from dockyard.errors import EngineUnavailableError, ImageBuildError, ValidationError
from dockyard.targets.docker_engine import ContainerState, connect

pytest.importorskip("docker")


def test_unreachable_engine_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailableError) as caught:
        connect(timeout=5)
    text = str(caught.value)
    assert "unix:///nonexistent/docker.sock" in text
    assert "dockerd" in text and "DOCKER_HOST" in text
    assert "What to do" in text


def _stream(*lines: str, error: str | None = None) -> list[dict[str, object]]:
    items: list[dict[str, object]] = [{"stream": line + "\n"} for line in lines]
    if error:
        items.append({"errorDetail": {"code": 1, "message": error}, "error": error})
    return items


def test_build_log_names_the_failing_step(tmp_path: Path) -> None:
    state = _StepTracker()
    seen: list[str] = []
    stream = _stream(
        "Step 1/9 : FROM base AS builder",
        " ---> 123",
        "Step 2/9 : COPY dockyard/pip/ /tmp/dockyard/pip/",
        " ---> Using cache",
        "Step 3/9 : RUN python3 -m pip install -r req.txt",
        "ERROR: No matching distribution found for nope==1",
        error="The command '/bin/sh -c python3 -m pip install -r req.txt' returned a non-zero code: 1",
    )
    assert _follow(stream, state, seen.append) is None
    assert state.cached == 1 and state.total == 9
    error = _failure(state, tmp_path / "build.log")
    assert isinstance(error, ImageBuildError)
    assert error.step == "Step 3/9 : RUN python3 -m pip install -r req.txt"
    assert error.log_tail is not None and "No matching distribution" in error.log_tail
    assert "Python package" in str(error) and str(tmp_path / "build.log") in str(error)
    assert seen[-1].startswith("ERROR: The command")


def test_missing_base_image_hint(tmp_path: Path) -> None:
    state = _StepTracker()
    _follow(
        _stream("Step 1/9 : FROM nope:1 AS builder", error="pull access denied for nope"),
        state,
        lambda _line: None,
    )
    assert "base-image bootstrap" in str(_failure(state, tmp_path / "b.log"))


def test_split_stream_chunks_are_joined() -> None:
    state = _StepTracker()
    items = [{"stream": "Step 1/2 : FR"}, {"stream": "OM x\n ---> Using"}, {"stream": " cache\n"}]
    _follow(items, state, lambda _line: None)
    assert state.step == "Step 1/2 : FROM x" and state.cached == 1


def test_oom_state_is_explained() -> None:
    state = ContainerState(
        id="c", name="svc", status="exited", running=False, exit_code=137, oom_killed=True,
        restart_count=0, health=None, error="", memory_limit=512 * 1024**2, nano_cpus=10**9,
        host_port=None,
    )  # fmt: skip
    assert "out of memory" in state.describe() and "0.5 GiB" in state.describe()


def test_names() -> None:
    assert image_reference("myimg", 1, "127.0.0.1:5000/") == "127.0.0.1:5000/myimg:1"
    assert image_reference("myimg", 2) == "myimg:2"
    assert default_base_image_name("3.11") == "dockyard/python:3.11-bookworm"
    with pytest.raises(ValidationError, match="3.11"):
        default_base_image_name("3.7")
