"""One diagnosis of failed installs for local environments (uv) and images (pip on the host).

The fixtures are real pip and uv output (trimmed) for the seed's own pins on Python 3.11: no
wheel exists for it, and the source build fails. The image build used to call that "a typo or a
version that does not exist".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.builders import wheelhouse
from dockyard.builders.conda import InstallPlan
from dockyard.builders.install_errors import bare_name, diagnose, requirement_lines
from dockyard.builders.uvtool import install_error
from dockyard.errors import ImageBuildError

SEED = "numpy==1.15.4\nscikit-learn==0.19.1\n"

# `pip wheel numpy==1.15.4 scikit-learn==0.19.1` (the image's Python is the host's: 3.11)
PIP_WHEEL_SOURCE_BUILD = """\
Looking in indexes: https://pypi.org/simple
Collecting numpy==1.15.4
  Downloading numpy-1.15.4.zip (4.5 MB)
  Installing build dependencies: started
  Installing build dependencies: finished with status 'done'
  Preparing metadata (pyproject.toml): started
  Preparing metadata (pyproject.toml): finished with status 'error'
  error: subprocess-exited-with-error

  × Preparing metadata (pyproject.toml) did not run successfully.
  │ exit code: 1
  ╰─> [28 lines of output]
      Running from numpy source directory.
      Traceback (most recent call last):
        File "/tmp/pip-wheel-x/numpy_1/numpy/distutils/misc_util.py", line 16, in <module>
          from distutils.msvccompiler import get_build_architecture
      ModuleNotFoundError: No module named 'distutils.msvccompiler'
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
error: metadata-generation-failed

× Encountered error while generating package metadata.
╰─> numpy

note: This is an issue with the package mentioned above, not pip.
hint: See above for details.
"""

# newer pip, scikit-learn alone
PIP_WHEEL_SKLEARN = """\
Collecting scikit-learn==0.19.1
  Downloading scikit-learn-0.19.1.tar.gz (9.5 MB)
  Getting requirements to build wheel: finished with status 'error'
  error: subprocess-exited-with-error

  × Getting requirements to build wheel did not run successfully.
  │ exit code: 1
  ╰─> [21 lines of output]
      Traceback (most recent call last):
        File "<string>", line 12, in <module>
      ModuleNotFoundError: No module named 'pkg_resources'
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
ERROR: Failed to build 'scikit-learn' when getting requirements to build wheel
"""

# `pip download --only-binary=:all: --python-version 3.12 ...` (the image's Python is not the host's)
PIP_DOWNLOAD_NO_WHEEL = """\
Looking in indexes: https://pypi.org/simple
ERROR: Could not find a version that satisfies the requirement numpy==1.15.4 (from versions: 1.26.0, 1.26.1, 1.26.2, 1.26.3, 1.26.4, 2.0.0, 2.0.1, 2.0.2, 2.1.0, 2.2.6)
ERROR: No matching distribution found for numpy==1.15.4
"""

PIP_NO_SUCH_VERSION = """\
ERROR: Could not find a version that satisfies the requirement six==99.0.0 (from versions: 0.9.0, 0.9.1, 1.0.0, 1.15.0, 1.16.0, 1.17.0)
ERROR: No matching distribution found for six==99.0.0
"""

PIP_NO_SUCH_PACKAGE = """\
ERROR: Could not find a version that satisfies the requirement nosuchpkg-xyz==1.0 (from versions: none)
ERROR: No matching distribution found for nosuchpkg-xyz==1.0
"""

PIP_OFFLINE = """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/six/
ERROR: Could not find a version that satisfies the requirement six==1.16.0 (from versions: none)
ERROR: No matching distribution found for six==1.16.0
"""

# uv (local environments) on the same pins
UV_SOURCE_BUILD = """\
Using Python 3.11.7 environment at: /x
Resolved 2 packages in 422ms
   Building scikit-learn==0.19.1
   Building numpy==1.15.4
error: Failed to build `scikit-learn==0.19.1`
  cause: The build backend returned an error
  cause: Call to `setuptools.build_meta:__legacy__.get_requires_for_build_wheel` failed (exit status: 1)

         [stderr]
         Traceback (most recent call last):
           File "<string>", line 12, in <module>
         ModuleNotFoundError: No module named 'pkg_resources'

hint: This error likely indicates that `scikit-learn@0.19.1` depends on `pkg_resources`
"""


def _image_error(
    output: str, requirements: str = SEED, *, binary_only: bool = False
) -> ImageBuildError:
    return wheelhouse.resolve_error(
        output.splitlines(), requirements, "3.11", 1, binary_only=binary_only
    )


@pytest.mark.parametrize(
    ("output", "binary_only", "named", "why"),
    [
        (PIP_WHEEL_SOURCE_BUILD, False, "numpy==1.15.4", "distutils.msvccompiler"),
        (PIP_WHEEL_SKLEARN, False, "scikit-learn==0.19.1", "pkg_resources"),
        (PIP_DOWNLOAD_NO_WHEEL, True, "numpy==1.15.4", "1.26.0 ... 2.2.6"),
    ],
)
def test_an_image_pin_without_a_wheel_says_so_not_typo(
    output: str, binary_only: bool, named: str, why: str
) -> None:
    error = _image_error(output, binary_only=binary_only)
    text = str(error)
    assert "typo" not in text and "does not exist" not in text
    assert error.message.startswith(f"Cannot install {named!r}")
    assert "the image's Python 3.11" in error.message
    assert "no wheel" in error.message
    assert why in error.message  # the real reason: the build's exception, or the wheels there are
    if not binary_only:
        assert "building it from source failed" in error.message
    assert "pick versions that have wheels for the image's Python 3.11" in (error.hint or "")
    assert error.details["requirements"] == [named]
    assert error.step == wheelhouse.RESOLVE_STEP


def test_local_and_image_share_the_diagnosis() -> None:
    """The same failure reads the same on both targets (only whose Python differs)."""
    plan = InstallPlan(requirements=["numpy==1.15.4", "scikit-learn==0.19.1"])
    local = install_error(UV_SOURCE_BUILD.splitlines(keepends=True), plan, None)
    image = _image_error(PIP_WHEEL_SKLEARN)
    for error in (local, image):
        assert error.message.startswith("Cannot install 'scikit-learn==0.19.1': Failed to build")
        assert "on this platform, and building it from source failed: ModuleNotFoundError" in (
            error.message
        )
        assert error.details["requirements"] == ["scikit-learn==0.19.1"]
        assert "pick versions that have wheels for" in (error.hint or "")


def test_a_version_or_package_that_does_not_exist_is_named_as_such() -> None:
    version = _image_error(PIP_NO_SUCH_VERSION, "six==99.0.0\n")
    assert "there is no version six==99.0.0 (versions available: 0.9.0 ... 1.17.0)" in str(version)
    assert "python -m pip index versions six" in (version.hint or "")
    package = _image_error(
        PIP_NO_SUCH_PACKAGE, "--index-url https://x/simple\nnosuchpkg-xyz==1.0\n"
    )
    assert "no package named 'nosuchpkg-xyz'" in package.message
    assert "spelling" in (package.hint or "")
    assert package.details["requirements"] == ["nosuchpkg-xyz==1.0"]


def test_pip_cannot_reach_its_index() -> None:
    error = _image_error(PIP_OFFLINE, "six==1.16.0\n")
    assert "HTTPS_PROXY" in (error.hint or "") and "find-links" in (error.hint or "")


def test_requirement_helpers() -> None:
    assert requirement_lines("--index-url x\n# c\nsix==1 # pin\n\nScikit_Learn[x]>=1\n") == [
        "six==1",
        "Scikit_Learn[x]>=1",
    ]
    assert bare_name("Scikit_Learn[alldeps]>=0.19 ; python_version>'3'") == "scikit-learn"
    found = diagnose(["garbage\n"], ["six"], "3.11")
    assert found.message == "Installing the environment's packages failed: garbage"


@pytest.mark.slow
def test_real_resolution_of_the_seed_pin_for_another_python(tmp_path: Path) -> None:
    """pip on the host, asked for wheels for Python 3.12 (the download path): numpy 1.15.4 has none."""
    with pytest.raises(ImageBuildError) as info:
        wheelhouse.resolve_wheelhouse(
            "numpy==1.15.4\n", tmp_path / "wheels", python_version="3.12", cache_dir=tmp_path / "c"
        )
    text = str(info.value)
    if "cannot be reached" in text:
        pytest.skip("no package index reachable from this machine")
    assert "typo" not in text
    assert (
        "Cannot install 'numpy==1.15.4': no wheel of numpy==1.15.4 fits the image's Python 3.12"
        in text
    )


def test_network_mode_build_gets_the_same_diagnosis(tmp_path: Path) -> None:
    """python_deps="network": pip runs in the build; its failure reads the same."""
    from dockyard.builders.docker_builder import _failure, _follow, _StepTracker

    state = _StepTracker()
    step = (
        "Step 5/12 : RUN PIP_CONFIG_FILE=/tmp/dockyard/pip/pip.conf python3 -m pip install -r r.txt"
    )
    stream: list[dict[str, object]] = [
        {"stream": line + "\n"} for line in [step, *PIP_WHEEL_SOURCE_BUILD.splitlines()]
    ]
    stream.append({"error": "The command '/bin/sh -c ...' returned a non-zero code: 1"})
    _follow(stream, state, lambda _line: None)
    error = _failure(state, tmp_path / "build.log")
    assert "Cannot install 'numpy': Failed to build 'numpy' (no wheel fits the image's Python" in (
        error.message
    )
    assert "typo" not in str(error)
    assert "pick versions that have wheels for the image's Python" in (error.hint or "")
