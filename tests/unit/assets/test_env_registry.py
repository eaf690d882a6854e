"""Registering environments: versions, identical content, get/list, ws.environments."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard import CondaDependencies, Environment, Workspace
from dockyard.errors import EnvironmentNotFoundError, ValidationError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("envtest", path=str(tmp_path / "ws"))


def sklearn_env(name: str = "sk", numpy: str = "1.26") -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["scikit-learn==1.4.2", "azureml-defaults"],
        conda_packages=[f"numpy={numpy}"],
        python_version="3.11",
    )
    return env


def test_versions_count_up_and_identical_content_returns_the_existing_version(
    ws: Workspace,
) -> None:
    first = sklearn_env().register(ws)
    assert first.version == "1"
    again = sklearn_env().register(ws)  # identical content: same version, nothing added
    assert again.version == "1"
    changed = sklearn_env(numpy="1.25").register(ws)
    assert changed.version == "2"
    env = sklearn_env(numpy="1.25")
    env.environment_variables["MODE"] = "fast"  # a variable is content too
    assert env.register(ws).version == "3"
    assert env.register(ws).version == "3"
    # back to version 1's content: a new version, so "latest" is what was just registered
    assert sklearn_env().register(ws).version == "4"
    assert Environment.get(ws, "sk").full_hash() == first.full_hash()


def test_get_returns_the_registered_content(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("joblib==1.4.2\n")
    (tmp_path / "env.yml").write_text(
        "dependencies:\n  - python=3.11\n  - pip:\n    - -r base.txt\n    - requests\n"
    )
    env = Environment.from_conda_specification("withr", str(tmp_path / "env.yml"))
    env.docker.base_image = "python:3.11-slim"
    registered = env.register(ws)
    got = Environment.get(ws, "withr", version=1)
    assert got.version == "1" and got.name == "withr"
    assert got.created_time is not None
    assert got.build_hash() == env.build_hash() == registered.build_hash()
    assert got.full_hash() == env.full_hash()
    assert got.docker.base_image == "python:3.11-slim"
    # the -r file's content was recorded: editing or deleting it does not change version 1
    (tmp_path / "base.txt").unlink()
    assert Environment.get(ws, "withr", "1").to_spec().included_files == {
        "base.txt": "joblib==1.4.2\n"
    }


def test_get_errors_name_what_is_missing(ws: Workspace) -> None:
    with pytest.raises(EnvironmentNotFoundError, match="'nope' is not registered"):
        Environment.get(ws, "nope")
    sklearn_env().register(ws)
    with pytest.raises(EnvironmentNotFoundError, match=r"no version 7 .* versions 1"):
        Environment.get(ws, "sk", version=7)
    with pytest.raises(ValidationError, match="'abc'"):
        Environment.get(ws, "sk", version="abc")
    with pytest.raises(ValidationError, match="labels are not supported"):
        Environment.get(ws, "sk", label="prod")


def test_bad_names_are_refused_before_anything_is_written(ws: Workspace) -> None:
    for bad in ["", "-lead", "has space", "x" * 256, "a/b"]:
        with pytest.raises(ValidationError, match="not valid"):
            Environment(bad).register(ws)
    assert Environment.list(ws) == {}


def test_list_and_ws_environments_give_the_latest_version_by_name(ws: Workspace) -> None:
    sklearn_env("a").register(ws)
    sklearn_env("a", numpy="1.25").register(ws)
    sklearn_env("b").register(ws)
    listed = Environment.list(ws)
    assert {k: v.version for k, v in listed.items()} == {"a": "2", "b": "1"}
    view = ws.environments
    assert sorted(view) == ["a", "b"] and len(view) == 2
    assert view["a"].version == "2"
    assert "b" in view and "c" not in view
    with pytest.raises(KeyError):
        view["c"]


def test_list_versions_gives_every_version_by_name_then_version(ws: Workspace) -> None:
    assert Environment.list_versions(ws) == []
    sklearn_env("b").register(ws)
    sklearn_env("a").register(ws)
    sklearn_env("a", numpy="1.25").register(ws)
    every = Environment.list_versions(ws)
    assert [(e.name, e.version) for e in every] == [("a", "1"), ("a", "2"), ("b", "1")]
    assert all(isinstance(e, Environment) and e.created_time is not None for e in every)
    assert every[1].python.conda_dependencies.conda_packages == ["python=3.11", "numpy=1.25"]
    only_a = Environment.list_versions(ws, name="a")
    assert [(e.name, e.version) for e in only_a] == [("a", "1"), ("a", "2")]
    assert Environment.list_versions(ws, "c") == []


def test_package_name_of_a_conda_spec() -> None:
    assert CondaDependencies.package_name("conda-forge::NumPy=1.15") == "numpy"
    assert CondaDependencies.package_name("python=3.11") == "python"
    assert CondaDependencies.package_name("scikit-learn >=1.4,<2") == "scikit-learn"


REGISTER = """
import sys
from dockyard import CondaDependencies, Environment, Workspace
ws = Workspace.from_path(sys.argv[1])
env = Environment("race")
env.python.conda_dependencies = CondaDependencies.create(pip_packages=[sys.argv[2]])
print(env.register(ws).version)
"""


@pytest.mark.slow
def test_concurrent_registrations_get_distinct_versions_without_gaps(ws: Workspace) -> None:
    def run(packages: list[str]) -> list[str]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(REGISTER), str(ws.path), package],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for package in packages
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
        return [out.strip() for out, _ in outs]

    versions = run([f"pkg{i}==1.0" for i in range(6)])
    assert sorted(versions, key=int) == [str(v) for v in range(1, 7)]
    # six processes registering identical content at once: one new version, shared by all
    same = run(["same==1.0"] * 6)
    assert set(same) == {"7"}
