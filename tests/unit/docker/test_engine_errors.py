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


# --- Docker's errors are translated in targets/ only ----------------------------------------------
SRC = Path(__file__).resolve().parents[3] / "src" / "dockyard"


def test_only_the_targets_import_the_docker_sdk() -> None:
    import ast

    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "targets":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            found += [
                f"{path.relative_to(SRC)}:{node.lineno}"
                for n in names
                if n.split(".")[0] == "docker"
            ]
    assert not found, "the Docker SDK imported outside targets/:\n" + "\n".join(found)


class _Images:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def get(self, reference: str) -> object:
        raise self.error

    def pull(self, repository: str, tag: str, auth_config: object = None) -> object:
        raise self.error

    def remove(self, reference: str) -> None:
        raise self.error


class _Api:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def build(self, **kwargs: object) -> object:
        yield {"stream": "Step 1/2 : FROM base\n"}
        raise self.error

    def push(self, repository: str, **kwargs: object) -> object:
        raise self.error


class _Client:
    """A client whose every call fails with ``error``, as the engine would."""

    def __init__(self, error: Exception) -> None:
        self.images = _Images(error)
        self.api = _Api(error)


def _api_error(status: int, text: str) -> Exception:
    import docker.errors
    import requests

    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(text, response=response, explanation=text)


def test_image_lookups_say_missing_or_unreachable() -> None:
    import docker.errors

    from dockyard.targets import docker_images as engine

    assert engine.get_image(_Client(docker.errors.ImageNotFound("no such image")), "x:1") is None
    assert engine.get_image(_Client(_api_error(400, "invalid reference format")), "X") is None
    broken = _Client(_api_error(500, "the engine broke"))
    with pytest.raises(EngineUnavailableError, match="looking up image x:1: .*the engine broke"):
        engine.get_image(broken, "x:1")
    assert engine.has_image(broken, "x:1") is False
    assert engine.image_labels(broken, "x:1") == {} and engine.image_size(broken, "x:1") == 0
    assert engine.remove_image(_Client(_api_error(409, "image is in use")), "x:1") is False


def test_pull_and_push_failures_name_the_image_and_the_step() -> None:
    import docker.errors

    from dockyard.errors import ImageNotFoundError
    from dockyard.targets import docker_images as engine

    with pytest.raises(ImageNotFoundError, match="registry has no image 127.0.0.1:5000/a:1"):
        engine.pull_image(_Client(docker.errors.NotFound("manifest unknown")), "127.0.0.1:5000/a:1")
    with pytest.raises(ImageBuildError) as pulled:
        engine.pull_image(_Client(_api_error(500, "connection refused")), "127.0.0.1:5000/a:1")
    assert pulled.value.step == "pull" and "logged in" in str(pulled.value)
    with pytest.raises(ImageBuildError) as pushed:
        list(engine.push_stream(_Client(ConnectionError("refused")), "127.0.0.1:9/a:1"))
    assert pushed.value.step == "push" and "127.0.0.1:9/a:1" in str(pushed.value)


def test_a_build_the_engine_refuses_reads_like_a_failed_step(tmp_path: Path) -> None:
    from dockyard.targets import docker_images as engine

    refused = _Client(_api_error(500, "Cannot locate specified Dockerfile: Dockerfile"))
    state = _StepTracker()
    stream = engine.build_stream(refused, str(tmp_path), "x:1")
    assert _follow(stream, state, lambda _line: None) is None
    error = _failure(state, tmp_path / "build.log")
    assert error.step == "Step 1/2 : FROM base"
    assert "Cannot locate specified Dockerfile" in str(error)
