"""CondaDependencies: azureml.core's API, the seed's sample, and the YAML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockyard import CondaDependencies, Environment
from dockyard.errors import ValidationError


def roundtrip(cd: CondaDependencies, tmp_path: Path) -> CondaDependencies:
    path = tmp_path / "rt.yml"
    path.write_text(cd.serialize_to_string(), encoding="utf-8")
    return CondaDependencies(str(path))


def test_the_seeds_sample_writes_a_file_that_from_conda_specification_reads(workdir: Path) -> None:
    # The seed's ptvsd recipe, verbatim apart from the import line.
    myenv = CondaDependencies.create(
        conda_packages=["numpy==1.15.4", "scikit-learn==0.19.1", "pandas==0.23.4"],
        pip_packages=["azureml-defaults==1.0.17", "ptvsd"],
    )
    with open("myenv.yml", "w") as f:
        f.write(myenv.serialize_to_string())

    env = Environment.from_conda_specification(name="env", file_path="myenv.yml")
    cd = env.python.conda_dependencies
    assert cd is not None
    assert cd.conda_packages == ["numpy==1.15.4", "scikit-learn==0.19.1", "pandas==0.23.4"]
    assert cd.pip_packages == ["azureml-defaults==1.0.17", "ptvsd"]
    assert cd == myenv
    # It is a real conda environment file: plain YAML with the pip list last.
    data = yaml.safe_load(Path("myenv.yml").read_text())
    assert data["dependencies"][-1] == {"pip": ["azureml-defaults==1.0.17", "ptvsd"]}
    # azureml-defaults stays in the spec; the builder decides how to satisfy it.
    assert "azureml-defaults==1.0.17" in env.to_spec().pip_packages


@pytest.mark.parametrize(
    "cd",
    [
        CondaDependencies(),
        CondaDependencies.create(),
        CondaDependencies.create(
            pip_indexurl="https://mirror.example/simple",
            pip_packages=[
                "requests[socks]>=2.31; python_version >= '3.8'",
                "pkg @ https://h/p.whl",
            ],
            conda_packages=["numpy=1.15", "scipy 1.11.*", "conda-forge::pandas>=2,<3"],
            python_version="3.11",
        ),
        CondaDependencies(
            _underlying_structure={
                "name": "ünïcode-env",
                "channels": ["conda-forge", "defaults"],
                "dependencies": ["python=3.11.9", "numpy=1.26.4=py311h_0", {"pip": ["-r x.txt"]}],
                "variables": {"A": "1"},
            }
        ),
    ],
    ids=["default", "create-default", "create-everything", "from-dict"],
)
def test_serialize_to_string_parses_back_to_an_equal_object(
    cd: CondaDependencies, tmp_path: Path
) -> None:
    back = roundtrip(cd, tmp_path)
    assert back == cd
    assert back.as_dict() == cd.as_dict()
    assert back.serialize_to_string() == cd.serialize_to_string()


def test_create_follows_azure_defaults_and_argument_order() -> None:
    cd = CondaDependencies.create("https://mirror.example/simple", ["a==1"], ["b=2"], "3.10")
    assert cd.pip_packages == ["a==1"]
    assert cd.pip_options == [
        "--find-links https://mirror.example/simple",
        "--extra-index-url https://pypi.python.org/simple",
    ]
    assert cd.conda_packages == ["python=3.10", "b=2"]
    assert cd.get_python_version() == "3.10"
    # no pip_packages: azureml-defaults, as in azureml.core
    assert CondaDependencies.create().pip_packages == ["azureml-defaults"]
    # pin_sdk_version is accepted and keeps the user's pins untouched
    pinned = CondaDependencies.create(
        pip_packages=["azureml-defaults==1.0.17"], pin_sdk_version=True
    )
    assert pinned.pip_packages == ["azureml-defaults==1.0.17"]


def test_editing_packages_channels_and_options() -> None:
    cd = CondaDependencies.create(pip_packages=["numpy==1.0"])
    cd.add_pip_package("NumPy>=2")  # same project, other spelling: replaced
    cd.add_pip_package("pandas")
    assert cd.pip_packages == ["NumPy>=2", "pandas"]
    cd.remove_pip_package("numpy")
    assert cd.pip_packages == ["pandas"]

    cd.add_conda_package("scipy=1.10")
    cd.add_conda_package("scipy=1.11")  # replaced, not listed twice
    cd.add_conda_package("python=3.12")  # sets the Python version
    assert cd.conda_packages == ["python=3.12", "scipy=1.11"]
    cd.set_python_version("3.11")
    assert cd.get_python_version() == "3.11"
    cd.remove_conda_package("scipy")
    assert cd.conda_packages == ["python=3.11"]
    with pytest.raises(ValidationError, match="python must not be removed"):
        cd.remove_conda_package("python=3.11")

    cd.add_channel("conda-forge")
    cd.add_channel("conda-forge")
    cd.add_channel("bioconda")
    assert cd.channels == cd.conda_channels == ["conda-forge", "bioconda"]
    cd.remove_channel("bioconda")
    assert cd.channels == ["conda-forge"]

    cd.set_pip_option("--index-url https://a.example/simple")
    cd.set_pip_option("--index-url https://b.example/simple")  # same flag: replaced
    cd.set_pip_option("--extra-index-url https://c.example/simple")
    assert cd.pip_options == [
        "--index-url https://b.example/simple",
        "--extra-index-url https://c.example/simple",
    ]
    assert cd.pip_packages == ["pandas"]
    cd.remove_pip_option("--index-url")
    assert cd.pip_options == ["--extra-index-url https://c.example/simple"]


@pytest.mark.parametrize(
    ("call", "arg", "needle"),
    [
        ("add_pip_package", "numpy==", "numpy=="),
        ("add_pip_package", "numpy=1.15", "numpy=1.15"),
        ("add_pip_package", "--pre", "--pre"),
        ("add_conda_package", "numpy>>1", "numpy>>1"),
        ("add_conda_package", "", "''"),
        ("set_pip_option", "numpy", "numpy"),
        ("set_pip_option", "--bogus-flag", "--bogus-flag"),
        ("set_python_version", "3.11 !!", "3.11 !!"),
    ],
)
def test_bad_programmatic_input_is_a_validation_error_naming_it(
    call: str, arg: str, needle: str
) -> None:
    cd = CondaDependencies()
    with pytest.raises(ValidationError) as info:
        getattr(cd, call)(arg)
    assert needle in str(info.value)
    assert "What to do" in str(info.value) or call == "set_pip_option"


@pytest.mark.parametrize(
    "spec",
    [
        "numpy",
        "numpy=1.15",
        "numpy==1.15.4",
        "numpy 1.15.*",
        "numpy>=1.15,<2",
        "numpy=1.15.4=py37_0",
        "numpy 1.15.4 py37_0",
        "python=3.11",
        "conda-forge::numpy",
        "numpy[version='>=1.15']",
        "r-base=4.3",
        "libgcc-ng>=12",
        "_libgcc_mutex=0.1=main",
    ],
)
def test_conda_spellings_are_valid_conda(spec: str) -> None:
    cd = CondaDependencies()
    cd.add_conda_package(spec)
    assert spec in cd.conda_packages or spec.startswith("python")


def test_save_and_save_to_file(tmp_path: Path) -> None:
    cd = CondaDependencies.create(pip_packages=["x==1"])
    target = tmp_path / "env.yml"
    assert cd.save(str(target)) == str(target)
    assert CondaDependencies(str(target)) == cd
    relative = cd.save_to_file(str(tmp_path))
    assert relative == ".dockyard/auto_conda_dependencies.yml"
    assert CondaDependencies(str(tmp_path / relative)) == cd
    assert cd.save_to_file(str(tmp_path), "sub/c.yml") == "sub/c.yml"
    with pytest.raises(ValidationError, match="is a folder"):
        cd.save(str(tmp_path))
    with pytest.raises(ValidationError, match="does not exist"):
        cd.save(str(tmp_path / "missing" / "env.yml"))
