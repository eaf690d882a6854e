"""Build hash and full hash: stable, canonical, and sensitive to exactly what they should be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dockyard import CondaDependencies, Environment

SPEC = """name: hashed
channels:
  - conda-forge
dependencies:
  - python=3.11
  - numpy=1.26
  - scipy
  - pip:
      - requests==2.31.0
      - -r extra.txt
"""
# The same content with top-level keys and package lists in another order.
SPEC_REORDERED = """dependencies:
  - pip:
      - -r extra.txt
      - requests==2.31.0
  - scipy
  - numpy=1.26
  - python=3.11
channels: [conda-forge]
name: hashed
"""


def make(
    tmp_path: Path, text: str, name: str = "env.yml", extra: str = "pandas==2.2.2\n"
) -> Environment:
    folder = tmp_path / name.replace(".", "_")
    folder.mkdir(exist_ok=True)
    (folder / "extra.txt").write_text(extra, encoding="utf-8")
    (folder / name).write_text(text, encoding="utf-8")
    return Environment.from_conda_specification("e", str(folder / name))


def test_same_spec_in_another_key_order_has_the_same_build_and_full_hash(tmp_path: Path) -> None:
    a = make(tmp_path, SPEC, "a.yml")
    b = make(tmp_path, SPEC_REORDERED, "b.yml")
    assert a.build_hash() == b.build_hash()
    assert a.full_hash() == b.full_hash()
    assert len(a.build_hash()) == 64 and int(a.build_hash(), 16) >= 0


def test_one_package_changed_changes_the_build_hash(tmp_path: Path) -> None:
    base = make(tmp_path, SPEC, "a.yml")
    for old, new in [
        ("numpy=1.26", "numpy=1.25"),
        ("requests==2.31.0", "requests==2.32.0"),
        ("python=3.11", "python=3.12"),
        ("conda-forge", "defaults"),
    ]:
        changed = make(tmp_path, SPEC.replace(old, new), f"{new.split('=')[0]}.yml")
        assert changed.build_hash() != base.build_hash(), (old, new)
        assert changed.full_hash() != base.full_hash(), (old, new)


def test_content_of_an_r_file_is_part_of_the_build_hash(tmp_path: Path) -> None:
    a = make(tmp_path, SPEC, "a.yml", extra="pandas==2.2.2\n")
    b = make(tmp_path, SPEC, "b.yml", extra="pandas==2.2.3\n")
    assert a.build_hash() != b.build_hash()


def test_one_variable_changed_keeps_the_build_hash_and_changes_the_full_hash(
    tmp_path: Path,
) -> None:
    a = make(tmp_path, SPEC, "a.yml")
    b = make(tmp_path, SPEC, "a.yml")
    a.environment_variables = {"MODE": "fast", "LEVEL": "1"}
    b.environment_variables = {"LEVEL": "1", "MODE": "fast"}  # order does not matter
    assert a.full_hash() == b.full_hash()
    b.environment_variables["MODE"] = "slow"
    assert a.build_hash() == b.build_hash()
    assert a.full_hash() != b.full_hash()


def test_docker_settings_are_part_of_the_build_hash() -> None:
    a, b, c = Environment("a"), Environment("b"), Environment("c")
    assert a.build_hash() == b.build_hash()  # the name is not content
    b.docker.base_image = "python:3.11-slim"
    c.docker.base_dockerfile = "FROM python:3.11-slim\nRUN echo hi\n"
    assert len({a.build_hash(), b.build_hash(), c.build_hash()}) == 3
    a.inferencing_stack_version = "latest"  # accepted, builds nothing different
    assert a.build_hash() == Environment("x").build_hash()


def test_hashes_survive_serialization_and_saving(tmp_path: Path) -> None:
    env = make(tmp_path, SPEC)
    env.environment_variables["A"] = "1"
    assert Environment.deserialize(env.serialize()).full_hash() == env.full_hash()
    env.save_to_directory(tmp_path / "saved")
    loaded = Environment.load_from_directory(tmp_path / "saved")
    assert loaded.full_hash() == env.full_hash()
    assert env.clone("other").full_hash() == env.full_hash()


def test_a_saved_environment_keeps_the_r_content_it_was_saved_with(tmp_path: Path) -> None:
    env = make(tmp_path, SPEC)
    saved = Environment.deserialize(env.serialize())
    before = saved.build_hash()
    (tmp_path / "env_yml" / "extra.txt").write_text("pandas==1.0\n", encoding="utf-8")
    assert saved.build_hash() == before  # recorded content, not the edited file
    assert env.build_hash() != before  # a live environment re-reads its files


HASH_SCRIPT = """
from dockyard import CondaDependencies, Environment
env = Environment("golden")
env.python.conda_dependencies = CondaDependencies.create(
    pip_packages=["requests==2.31.0", "azureml-defaults"],
    conda_packages=["numpy=1.26"],
    python_version="3.11",
)
env.docker.base_image = "python:3.11-slim"
env.environment_variables = {"B": "2", "A": "1"}
print(env.build_hash(), env.full_hash())
"""

# Pinned: a change here means every cached environment and image layer is rebuilt. If the hashed
# payload changes on purpose, bump HASH_FORMAT in dockyard/assets/_env_parts.py and update these.
GOLDEN_BUILD = "08fcc9e377ab5313123a823be418d1663ab7440e5685a40afba9a41ad40e5a14"
GOLDEN_FULL = "b62973a35597392a5f30e3ea0f624ce5f2b8927a40f089659596e8425f8c2a99"


def test_hashes_are_the_same_in_other_processes_and_hash_seeds(tmp_path: Path) -> None:
    results = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", HASH_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=tmp_path,
        )
        results.add(out.stdout.strip())
    assert len(results) == 1
    build, full = results.pop().split()
    assert (build, full) == (GOLDEN_BUILD, GOLDEN_FULL)


def test_to_spec_translates_everything(tmp_path: Path) -> None:
    env = make(tmp_path, SPEC)
    env.environment_variables = {"N": 3}  # type: ignore[dict-item]
    env.docker.base_image = "python:3.11-slim"
    spec = env.to_spec()
    assert spec.name == "e"
    assert spec.python_version == "3.11"
    assert spec.conda_packages == ("numpy=1.26", "scipy")
    assert spec.pip_packages == ("requests==2.31.0",)
    assert spec.pip_options == ("-r extra.txt",)
    assert spec.channels == ("conda-forge",)
    assert spec.included_files == {"extra.txt": "pandas==2.2.2\n"}
    assert spec.environment_variables == {"N": "3"}
    assert spec.base_image == "python:3.11-slim"
    assert spec.build_hash == env.build_hash()
    assert spec.user_managed is False


def test_pip_requirements_environment(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# comment\nnumpy==1.26.4\n--extra-index-url https://mirror.example/simple\n",
        encoding="utf-8",
    )
    env = Environment.from_pip_requirements("reqs", str(tmp_path / "requirements.txt"))
    cd = env.python.conda_dependencies
    assert isinstance(cd, CondaDependencies)
    assert cd.pip_packages == ["numpy==1.26.4"]
    assert cd.pip_options == ["--extra-index-url https://mirror.example/simple"]
    assert cd.conda_packages == ["pip"]
    assert env.to_spec().pip_packages == ("numpy==1.26.4",)
