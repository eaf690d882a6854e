"""Conda and pip spec translation (build/conda.py): pure, table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.builders.conda import (
    CONDA_SYSTEM_PACKAGES,
    CONDA_TO_PYPI,
    conda_version_to_specifier,
    parse_conda_package,
    plan_install,
    python_mismatch,
)
from dockyard.builders.specs import EnvironmentSpec
from dockyard.errors import SpecError


def spec(**kw: object) -> EnvironmentSpec:
    return EnvironmentSpec(name="e", build_hash="h", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("conda", "name", "specifier"),
    [
        ("numpy", "numpy", ""),
        ("numpy=1.15", "numpy", "==1.15.*"),
        ("numpy=1.15.4", "numpy", "==1.15.4"),
        ("numpy 1.15.*", "numpy", "==1.15.*"),
        ("numpy 1.15", "numpy", "==1.15"),
        ("numpy>=1.2", "numpy", ">=1.2"),
        ("numpy >=1.8,<2", "numpy", ">=1.8,<2"),
        ("numpy >= 1.8", "numpy", ">=1.8"),
        ("numpy==1.15", "numpy", "==1.15"),
        ("numpy==1.15.4=py37_0", "numpy", "==1.15.4"),
        ("numpy=1.15.4=py37h7e9f1db_0", "numpy", "==1.15.4"),
        ("numpy 1.15.4 py37_0", "numpy", "==1.15.4"),
        ("numpy=1.15*", "numpy", "==1.15.*"),
        ("numpy=*", "numpy", ""),
        ("numpy!=1.15.*", "numpy", "!=1.15.*"),
        ("numpy~=1.15", "numpy", "~=1.15"),
        ("conda-forge::numpy=1.15", "numpy", "==1.15.*"),
        ("numpy[version='>=1.8,<2']", "numpy", ">=1.8,<2"),
        ("scikit-learn=0.19.1", "scikit-learn", "==0.19.1"),
        ("python=3.7", "python", "==3.7.*"),
    ],
)
def test_conda_match_specs(conda: str, name: str, specifier: str) -> None:
    assert parse_conda_package(conda) == (name, specifier)


def test_conda_or_versions_are_a_clear_error() -> None:
    with pytest.raises(SpecError, match=r"(?s)'\|'.*pin a single version"):
        conda_version_to_specifier("1.11.1|1.11.3", fuzzy=True)


def test_conda_version_that_pip_cannot_read_is_named() -> None:
    with pytest.raises(SpecError, match="1.0_beta"):
        parse_conda_package("foo=1.0_beta")


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("pytorch=1.4", "torch==1.4.*"),
        ("py-xgboost", "xgboost"),
        ("tensorflow-mkl>=2", "tensorflow>=2"),
        ("pillow=6.2.1", "pillow==6.2.1"),
        ("pyyaml", "pyyaml"),
        ("scikit-learn", "scikit-learn"),
    ],
)
def test_conda_names_map_to_pypi(conda: str, pip: str) -> None:
    plan = plan_install(spec(conda_packages=(conda,)))
    assert plan.requirements == [pip]


def test_mapping_table_is_lowercase_and_small() -> None:
    assert all(k == k.lower() for k in CONDA_TO_PYPI)
    assert {"mkl", "cudatoolkit", "libgcc"} <= CONDA_SYSTEM_PACKAGES


def test_python_installers_system_packages_and_runtime_are_not_installed() -> None:
    plan = plan_install(
        spec(
            conda_packages=("python=3.7", "pip", "setuptools=41", "mkl", "cudatoolkit=10.1", "six"),
            pip_packages=("azureml-defaults==1.0.83", "azureml-inference-server-http", "wheel"),
        )
    )
    assert plan.requirements == ["six"]
    assert plan.python == "==3.7.*"
    assert plan.provided_by_runtime == ["azureml-defaults==1.0.83", "azureml-inference-server-http"]
    assert any("mkl" in w and "dropped" in w for w in plan.warnings)
    assert any("cudatoolkit" in w for w in plan.warnings)
    assert any("azureml-defaults" in n and "runtime" in n for n in plan.notes)


def test_conda_azureml_defaults_is_provided_too() -> None:
    plan = plan_install(spec(conda_packages=("azureml-defaults",)))
    assert plan.empty and plan.provided_by_runtime == ["azureml-defaults"]


def test_channels_are_ignored_with_a_note() -> None:
    plan = plan_install(spec(channels=("conda-forge", "defaults"), conda_packages=("six",)))
    assert any("conda-forge" in n and "ignored" in n for n in plan.notes)


def test_spec_python_version_is_kept() -> None:
    assert plan_install(spec(python_version="3.11")).python == "3.11"


def test_pip_options_are_collected() -> None:
    plan = plan_install(
        spec(
            pip_options=(
                "--extra-index-url https://extra.example/simple",
                "--index-url=https://main.example/simple",
                "--find-links https://links.example/",
                "--trusted-host extra.example",
                "--pre",
                "--only-binary :all:",
            ),
            pip_packages=("six==1.16.0", "packaging ; python_version >= '3.8'"),
        )
    )
    assert plan.index_url == "https://main.example/simple"
    assert plan.extra_index_urls == ["https://extra.example/simple"]
    assert plan.find_links == ["https://links.example/"]
    assert plan.trusted_hosts == ["extra.example"]
    assert plan.pre and plan.only_binary == [":all:"]
    assert plan.requirements == ["six==1.16.0", "packaging ; python_version >= '3.8'"]
    assert plan.requirement_names() == ["six", "packaging"]


def test_requirements_file_from_included_files_nested() -> None:
    plan = plan_install(
        spec(
            pip_options=("-r requirements.txt",),
            included_files={
                "requirements.txt": "# comment\nsix  # inline\n-r sub/more.txt\n"
                "--extra-index-url https://x.example/simple\nazureml-defaults\n",
                "sub/more.txt": "packaging>=20 \\\n  ,<99\n-c constraints.txt\n",
                "sub/constraints.txt": "packaging<50\n",
            },
        )
    )
    assert plan.requirements == ["six", "packaging>=20 ,<99"]
    assert plan.constraints == ["packaging<50"]
    assert plan.extra_index_urls == ["https://x.example/simple"]
    assert plan.provided_by_runtime == ["azureml-defaults"]


def test_requirements_file_and_local_paths_from_base_dir(tmp_path: Path) -> None:
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "r.txt").write_text("./wheels/pkg-1.0-py3-none-any.whl\nsix\n")
    plan = plan_install(
        spec(pip_options=("--requirement reqs/r.txt", "-f ./wheels"), base_dir=tmp_path)
    )
    assert plan.requirements == [
        str(tmp_path / "reqs" / "wheels" / "pkg-1.0-py3-none-any.whl"),
        "six",
    ]
    assert plan.find_links == [str(tmp_path / "wheels")]


def test_missing_requirements_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"(?s)nope\.txt.*What to do"):
        plan_install(spec(pip_options=("-r nope.txt",), base_dir=tmp_path))


def test_relative_path_without_base_dir_is_an_error() -> None:
    with pytest.raises(SpecError, match="relative path"):
        plan_install(spec(pip_packages=("./pkg",)))


def test_unsupported_option_is_warned_and_per_line_options_noted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DY_TEST_HOST", "mirror.example")
    plan = plan_install(
        spec(
            pip_options=("--use-feature=fast-deps", "--extra-index-url https://${DY_TEST_HOST}/s"),
            pip_packages=("six==1.16.0 --hash=sha256:abc",),
        )
    )
    assert plan.requirements == ["six==1.16.0"]
    assert any("--use-feature" in w for w in plan.warnings)
    assert any("--hash" in n for n in plan.notes)
    assert plan.extra_index_urls == ["https://mirror.example/s"]


def test_editable_paths_resolve(tmp_path: Path) -> None:
    plan = plan_install(spec(pip_packages=("-e ./mylib",), base_dir=tmp_path))
    assert plan.editables == [str(tmp_path / "mylib")] and not plan.empty


@pytest.mark.parametrize(
    ("wanted", "ok"),
    [
        (None, True),
        ("3.11", True),
        ("3.11.7", True),
        ("3", True),
        ("3.7", False),
        (">=3.8", True),
        ("==3.7.*", False),
        ("<3.10", False),
    ],
)
def test_python_mismatch(wanted: str | None, ok: bool) -> None:
    warning = python_mismatch(wanted, "3.11.7")
    assert (warning is None) is ok
    if warning:
        assert "3.11.7" in warning and wanted in warning
