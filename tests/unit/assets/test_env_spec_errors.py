"""Every bad spec file gets a SpecError naming the file, the line, the input and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard import CondaDependencies, Environment
from dockyard.errors import SpecError, UserError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError) as info:
        fn(*args)
    assert isinstance(info.value, UserError)
    text = str(info.value)
    assert "What to do:" in text, text
    return text


@pytest.mark.parametrize(
    ("content", "line", "needles"),
    [
        # malformed YAML: an unclosed flow list
        ("name: x\ndependencies: [numpy,\n  - pip\n", 3, ["not valid YAML"]),
        # malformed YAML: a tab-indented key
        ("name: x\ndependencies:\n\t- numpy\n", 3, ["not valid YAML"]),
        # unknown top-level key (a typo)
        ("name: x\ndependancies:\n  - numpy\n", 2, ["'dependancies'", "unknown top-level key"]),
        # a malformed conda spec
        ("dependencies:\n  - python=3.11\n  - numpy>>1.2\n", 3, ["'numpy>>1.2'", "conda"]),
        # a malformed pip requirement under pip:
        (
            "dependencies:\n  - python=3.11\n  - pip:\n    - requests\n    - pandas==\n",
            5,
            ["'pandas=='", "pip requirement"],
        ),
        # conda's '=' in the pip list: the hint explains '=='
        ("dependencies:\n  - pip:\n    - numpy=1.15\n", 3, ["'numpy=1.15'", "numpy==1.15"]),
        # an unknown pip option
        ("dependencies:\n  - pip:\n    - --bogus\n", 3, ["--bogus", "not a pip option"]),
        # a number where a package name belongs
        ("dependencies:\n  - 3.11\n", 2, ["'3.11'", "quote"]),
        # dependencies not a list
        ("dependencies: numpy\n", 1, ["'dependencies' must be a list"]),
        # a mapping other than pip:
        ("dependencies:\n  - conda: [numpy]\n", 2, ["may only be 'pip:'", "'conda'"]),
    ],
    ids=[
        "yaml-unclosed",
        "yaml-tab",
        "unknown-key",
        "bad-conda",
        "bad-pip",
        "conda-eq-in-pip",
        "bad-option",
        "number",
        "deps-not-list",
        "other-mapping",
    ],
)
def test_bad_conda_files_name_file_line_and_input(
    tmp_path: Path, content: str, line: int, needles: list[str]
) -> None:
    path = write(tmp_path / "myenv.yml", content)
    text = error_of(Environment.from_conda_specification, "env", str(path))
    assert f"{path}, line {line}" in text, text
    for needle in needles:
        assert needle in text, text
    # CondaDependencies(file) reports the same error
    assert error_of(CondaDependencies, str(path)) == text


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "list.yml", "- numpy\n- scipy\n")
    text = error_of(CondaDependencies, str(path))
    assert str(path) in text and "mapping" in text


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    text = error_of(Environment.from_conda_specification, "env", str(tmp_path / "nope.yml"))
    assert "nope.yml" in text and "does not exist" in text


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9==1.0\n")
    text = error_of(Environment.from_pip_requirements, "env", str(path))
    assert "latin1.txt" in text and "UTF-8" in text


def test_bad_requirements_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "requirements.txt",
        "# pinned for the model\nnumpy==1.26.4\n\nscikit-learn>=1.3 \\\n  ,<2\npandas>=\n",
    )
    text = error_of(Environment.from_pip_requirements, "env", str(path))
    assert f"{path}, line 6" in text and "'pandas>='" in text


def test_bad_line_inside_an_r_included_file(tmp_path: Path) -> None:
    write(tmp_path / "base.txt", "numpy\nnot a requirement!\n")
    path = write(tmp_path / "requirements.txt", "-r base.txt\nscipy\n")
    text = error_of(Environment.from_pip_requirements, "env", str(path))
    assert f"{tmp_path / 'base.txt'}, line 2" in text and "'not a requirement!'" in text


def test_missing_r_file_names_the_option_and_the_path(tmp_path: Path) -> None:
    path = write(tmp_path / "env.yml", "dependencies:\n  - pip:\n    - -r extra/reqs.txt\n")
    text = error_of(Environment.from_conda_specification, "env", str(path))
    assert "'-r extra/reqs.txt'" in text
    assert str(tmp_path / "extra" / "reqs.txt") in text


def test_valid_files_with_every_spelling_load(tmp_path: Path) -> None:
    write(tmp_path / "more.txt", "--extra-index-url https://mirror.example/simple\nrequests\n")
    path = write(
        tmp_path / "env.yml",
        """# a comment
name: full
channels:
  - conda-forge
dependencies:
  - python=3.11
  - numpy=1.15
  - scipy 1.11.*
  - pandas>=2,<3
  - libblas=3.9.0=20_linux64_openblas
  - pip
  - pip:
      - -r more.txt
      - --index-url https://pypi.org/simple
      - scikit-learn==1.4.2  # pinned
      - torch @ https://download.example/torch-2.3-cp311-linux_x86_64.whl
      - ./wheels/local_pkg-0.1-py3-none-any.whl
      - git+https://github.com/org/repo@v1#egg=repo
      - requests[socks]>=2.31; python_version >= "3.8"
variables:
  MODE: fast
prefix: /opt/env
""",
    )
    env = Environment.from_conda_specification("full", str(path))
    spec = env.to_spec()
    assert spec.python_version == "3.11"
    assert spec.included_files == {
        "more.txt": "--extra-index-url https://mirror.example/simple\nrequests\n"
    }
    assert "-r more.txt" in spec.pip_options
    assert spec.base_dir == tmp_path.resolve()
