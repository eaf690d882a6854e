"""ensure_environment's cache logic with the uv build replaced by a fake (no network, fast)."""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.builders import envs
from dockyard.builders.envs import ENV_MARKER, ensure_environment
from dockyard.builders.specs import EnvironmentSpec
from dockyard.errors import SpecError


def make_spec(**kw: Any) -> EnvironmentSpec:
    kw.setdefault("build_hash", "0123abcd")
    return EnvironmentSpec(name="e", pip_packages=("six",), **kw)


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    builds: list[Path] = []

    def build(spec, plan, tmp, cache_dir, log_path, warnings, say):  # type: ignore[no-untyped-def]
        builds.append(tmp)
        time.sleep(0.3)
        (tmp / "bin").mkdir()
        os.symlink(sys.executable, tmp / "bin" / "python")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("log\n")
        marker = {"python_version": platform.python_version(), "packages": {"six": "1"}}
        (tmp / ENV_MARKER).write_text(json.dumps({**marker, "warnings": warnings}))

    monkeypatch.setattr(envs, "_build_venv", build)
    monkeypatch.setattr(envs, "_refresh_runtime", lambda prefix, marker, *a: marker)
    return builds


def test_hash_keyed_paths_and_reuse(tmp_path: Path, fake_build: list[Path]) -> None:
    first = ensure_environment(make_spec(), tmp_path)
    assert first.kind == "venv" and not first.reused
    assert first.prefix == tmp_path / "0123abcd"
    assert first.python == tmp_path / "0123abcd" / "bin" / "python"
    assert first.log_path == tmp_path / "logs" / "0123abcd.log"
    assert first.packages == {"six": "1"}
    second = ensure_environment(make_spec(), tmp_path)
    assert second.reused and len(fake_build) == 1
    other = ensure_environment(make_spec(build_hash="ffff0000"), tmp_path)
    assert other.prefix == tmp_path / "ffff0000" and len(fake_build) == 2


def test_concurrent_threads_build_once(tmp_path: Path, fake_build: list[Path]) -> None:
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_environment(make_spec(), tmp_path)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_build) == 1
    assert sorted(r.reused for r in results) == [False, True, True, True]
    assert len({r.python for r in results}) == 1


def test_broken_env_is_rebuilt(tmp_path: Path, fake_build: list[Path]) -> None:
    env = ensure_environment(make_spec(), tmp_path)
    assert env.prefix is not None
    (env.prefix / "bin" / "python").unlink()  # e.g. the base Python was removed
    again = ensure_environment(make_spec(), tmp_path)
    assert not again.reused and len(fake_build) == 2


def test_no_packages_uses_dockyards_interpreter(tmp_path: Path, fake_build: list[Path]) -> None:
    messages: list[str] = []
    spec = EnvironmentSpec(
        name="e",
        build_hash="x",
        conda_packages=("python=3.7", "pip"),
        pip_packages=("azureml-defaults",),
    )
    env = ensure_environment(spec, tmp_path, progress=messages.append)
    assert env.kind == "dockyard" and env.python == Path(sys.executable) and not fake_build
    assert "uvicorn" in env.packages
    assert any("Python ==3.7.*" in m for m in messages)  # the version warning
    assert any("azureml-defaults" in m for m in messages)
    assert env.server_command("--port", "1") == [
        sys.executable,
        "-m",
        "dockyard.server",
        "--port",
        "1",
    ]
    assert not list(tmp_path.iterdir())


def test_user_managed_builds_nothing(tmp_path: Path, fake_build: list[Path]) -> None:
    env = ensure_environment(make_spec(user_managed=True), tmp_path)
    assert env.kind == "user-managed" and env.python == Path(sys.executable) and not fake_build
    env = ensure_environment(
        make_spec(user_managed=True, interpreter_path=sys.executable), tmp_path
    )
    assert env.kind == "user-managed" and env.runtime_dir is None  # dockyard is importable there


def test_user_managed_missing_interpreter(tmp_path: Path) -> None:
    from dockyard.errors import EnvironmentBuildError

    with pytest.raises(EnvironmentBuildError, match="interpreter_path"):
        ensure_environment(make_spec(user_managed=True, interpreter_path="/no/python9"), tmp_path)


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden"])
def test_unsafe_build_hash_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SpecError, match="build hash"):
        ensure_environment(make_spec(build_hash=bad), tmp_path)
