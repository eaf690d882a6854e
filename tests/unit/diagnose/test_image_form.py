"""``dockyard.diagnose(ws, image=...)`` on recorded builds: the image records and their build
logs are written through the store (the log text is what the builder keeps), and the finding
names the known failure, its lines and the fix. No engine is needed: the diagnosis only reads."""

from __future__ import annotations

from pathlib import Path

import pytest

import dockyard
from dockyard import Workspace
from dockyard.diagnosis.image_log import scan
from dockyard.store import images as image_store

HEAD = """\
# dockyard image build of dockyard-ws-1234/forecast:1, 2026-01-01T12:00:00+00:00
note: azureml-defaults is provided by the server runtime
"""

BUILDER_STEPS = """\
# docker build -t dockyard-ws-1234/forecast:1 /tmp/dockyard-context-x
Step 1/21 : FROM dockyard-base:py3.11 AS builder
 ---> 4a1b2c3d
Step 2/21 : RUN python3 -m venv --without-pip /opt/venv
 ---> Using cache
Step 3/21 : COPY dockyard-build/runtime/ /tmp/dockyard-build/runtime/
 ---> Using cache
Step 4/21 : RUN python3 -m pip install --no-index --find-links /tmp/dockyard-build/runtime --target /opt/dockyard-runtime /tmp/dockyard-build/runtime/dockyard_server.whl
 ---> Using cache
Step 5/21 : FROM dockyard-base:py3.11
 ---> 4a1b2c3d
Step 6/21 : RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash azureml && mkdir -p /var/azureml-app
 ---> Using cache
"""

LOGS = {
    "base-image": HEAD
    + """\
# docker build -t dockyard-ws-1234/forecast:1 /tmp/dockyard-context-x
Step 1/21 : FROM myregistry.example/missing-base:1 AS builder
ERROR: pull access denied for myregistry.example/missing-base, repository does not exist or may require 'docker login': denied: requested access to the resource is denied
ERROR: [Step 1/21 : FROM myregistry.example/missing-base:1 AS builder] The image build failed
""",
    "no-wheel": HEAD
    + """\
Python dependencies: resolving on the host for Python 3.11
$ python -m pip download --only-binary=:all: --python-version 3.11 --dest wheels -r requirements.txt
Collecting numpy==1.15.4 (from -r requirements.txt (line 1))
ERROR: Could not find a version that satisfies the requirement numpy==1.15.4 (from versions: 1.23.2, 1.24.4, 1.26.4)
ERROR: No matching distribution found for numpy==1.15.4
ERROR: [resolve Python dependencies (pip on the host)] Cannot install 'numpy==1.15.4'
""",
    "conflict": HEAD
    + """\
Python dependencies: resolving on the host for Python 3.11
$ python -m pip download --only-binary=:all: --python-version 3.11 --dest wheels -r requirements.txt
Collecting packaging==24.0 (from -r requirements.txt (line 1))
ERROR: Cannot install packaging==24.0 and packaging>=25 because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested packaging==24.0
    The user requested packaging>=25

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/
""",
    "tls": HEAD
    + """\
Python dependencies: resolving on the host for Python 3.11
$ python -m pip download --only-binary=:all: --python-version 3.11 --dest wheels -r requirements.txt
WARNING: Retrying (Retry(total=4)) after connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)'))': /simple/six/
Could not fetch URL https://pypi.org/simple/six/: There was a problem confirming the ssl certificate
ERROR: Could not find a version that satisfies the requirement six (from versions: none)
ERROR: No matching distribution found for six
""",
    "steps": HEAD
    + BUILDER_STEPS
    + """\
Step 7/21 : RUN apt-get update && apt-get -y install vimm
 ---> Running in 0f9e8d7c
Reading package lists...
E: Unable to locate package vimm
ERROR: The command '/bin/sh -c apt-get update && apt-get -y install vimm' returned a non-zero code: 100
""",
    "push": HEAD
    + BUILDER_STEPS
    + """\
Step 21/21 : CMD ["python", "-m", "dockyard.server"]
Successfully built 9a8b7c6d
# built dockyard-ws-1234/forecast:1 (9a8b7c6d) in 3.1 s, 18/21 cached
# docker push 127.0.0.1:5000/forecast:1
The push refers to repository [127.0.0.1:5000/forecast]
ERROR: unauthorized: authentication required
""",
}


def record_build(ws: Workspace, tmp_path: Path, log: str, state: str, **spec: object) -> str:
    """An image version whose build ended in ``state`` with ``log`` as its build log."""
    record = image_store.add_version(ws.store, "forecast", model_ids=["summer:1"])
    path = tmp_path / f"build-{record.version}.log"
    path.write_text(log)
    image_store.update(
        ws.store, record.id, state=state, build_log_path=str(path),
        error=None if state == image_store.SUCCEEDED else "the build failed", spec=dict(spec),
    )  # fmt: skip
    return f"forecast:{record.version}"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("images-diagnosed", path=str(tmp_path / "ws"))


@pytest.mark.parametrize(
    ("cause", "finding", "fix"),
    [
        ("base-image", "the base image myregistry.example/missing-base:1 is missing: pull access denied",
         "`dockyard base-image bootstrap`"),
        ("no-wheel", "no wheel of a package fits the image's Python 3.11: Cannot install 'numpy==1.15.4': "
         "no wheel of numpy==1.15.4 fits the image's Python 3.11 on this platform (versions with one: "
         "1.23.2, 1.24.4, 1.26.4)", "pick versions that have wheels for the image's Python 3.11"),
        ("conflict", "the requirements conflict", "relax or drop one of the conflicting pins"),
        ("tls", "a package index's certificate is not trusted", "set 'cert' in pip.conf"),
        ("steps", "a line of Dockerfile.steps (/work/project/Dockerfile.steps) failed: "
         "`RUN apt-get update && apt-get -y install vimm`: The command", "fix or remove that line in "
         "Dockerfile.steps (/work/project/Dockerfile.steps)"),
        ("push", "the registry refused 127.0.0.1:5000/forecast:1: unauthorized: authentication required",
         "`docker login 127.0.0.1:5000`"),
    ],
)  # fmt: skip
def test_a_failed_build_log_names_the_known_failure(
    ws: Workspace, tmp_path: Path, cause: str, finding: str, fix: str
) -> None:
    ref = record_build(
        ws, tmp_path, LOGS[cause], image_store.FAILED,
        image_config={"dockerFile": "/work/project/Dockerfile.steps"},
    )  # fmt: skip
    report = dockyard.diagnose(ws, image=ref)
    assert report.step("image").status == "passed"
    assert "image forecast:1 is recorded: Failed" in report.step("image").finding
    failed = report.failed
    assert failed is not None and failed.step == "build log"
    assert failed.finding.endswith(f"[{cause}]")
    assert finding in failed.finding
    assert fix in failed.fix and failed.fix.endswith(
        "then build again (`dockyard image create ...`, Image.create)"
    )
    assert f"(the full log: {tmp_path / 'build-1.log'})" in failed.evidence


def test_the_evidence_is_the_failing_steps_own_lines(ws: Workspace, tmp_path: Path) -> None:
    failed = dockyard.diagnose(ws, image=record_build(ws, tmp_path, LOGS["steps"], "Failed")).failed
    assert failed is not None
    assert failed.evidence.startswith("Step 7/21 : RUN apt-get update && apt-get -y install vimm")
    assert "E: Unable to locate package vimm" in failed.evidence
    assert "Step 6/21" not in failed.evidence
    assert "a line of Dockerfile.steps failed" in failed.finding  # no steps file recorded


def test_a_succeeded_build_passes_and_an_unknown_image_is_named(
    ws: Workspace, tmp_path: Path
) -> None:
    ok = dockyard.diagnose(ws, image=record_build(ws, tmp_path, HEAD + BUILDER_STEPS, "Succeeded"))
    assert ok.ok and ok.step("build log").finding.startswith("the build succeeded")
    assert "`dockyard image logs forecast:1`" in ok.step("build log").finding

    missing = dockyard.diagnose(ws, image="weather:3")
    assert missing.failed is not None and missing.failed.step == "image"
    assert "image 'weather:3' is not in workspace 'images-diagnosed' (images: forecast)" in (
        missing.failed.finding
    )
    assert missing.step("build log").status == "skipped"


def test_a_build_still_running_is_not_a_failure(ws: Workspace, tmp_path: Path) -> None:
    record = image_store.add_version(ws.store, "forecast", model_ids=[])
    report = dockyard.diagnose(ws, image=f"forecast:{record.version}")
    assert report.ok
    assert report.step("build log").status == "skipped"
    assert "the build is NotStarted: nothing failed yet" in report.step("build log").finding


def test_the_latest_version_is_diagnosed_without_one(ws: Workspace, tmp_path: Path) -> None:
    record_build(ws, tmp_path, HEAD + BUILDER_STEPS, "Succeeded")
    record_build(ws, tmp_path, LOGS["push"], "Failed")
    report = dockyard.diagnose(ws, image="forecast")
    assert report.subject == "image forecast"
    assert "forecast:2" in report.step("image").finding and report.failed is not None


def test_pip_inside_the_build_is_read_too() -> None:
    log = (
        HEAD
        + """\
# docker build -t dockyard-ws-1234/forecast:1 /tmp/dockyard-context-x
Step 1/23 : FROM dockyard-base:py3.11 AS builder
Step 2/23 : RUN python3 -m venv --without-pip /opt/venv
Step 3/23 : COPY dockyard-build/pip/ /tmp/dockyard-build/pip/
Step 4/23 : RUN PIP_CONFIG_FILE=/tmp/dockyard-build/pip/pip.conf python3 -m pip install -r /tmp/dockyard-build/requirements/requirements.txt
 ---> Running in 5a4b3c2d
ERROR: Could not find a version that satisfies the requirement six==99.0 (from versions: 1.16.0, 1.17.0)
ERROR: No matching distribution found for six==99.0
ERROR: The command '/bin/sh -c PIP_CONFIG_FILE=... python3 -m pip install ...' returned a non-zero code: 1
"""
    )
    found = scan(log)
    assert found is not None and found.cause == "no-version"
    assert "there is no version six==99.0 (versions available: 1.16.0, 1.17.0)" in found.finding
    assert found.finding.startswith("the build step 'RUN PIP_CONFIG_FILE=")
    assert "pin a version that exists" in found.fix


def test_scan_finds_nothing_in_a_clean_log() -> None:
    assert scan(HEAD + BUILDER_STEPS + "Successfully built 9a8b7c6d\n") is None


def test_the_cli_scans_an_image_and_exits_1(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from dockyard.cli.main import main

    record_build(ws, tmp_path, LOGS["base-image"], "Failed")
    code = main(["diagnose", "--image", "forecast:1", "--workspace", str(ws.path), "-o", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["failedStep"] == "build log"
    assert data["steps"][1]["finding"].endswith("[base-image]")


def test_a_later_step_failing_after_a_clean_resolution_is_not_blamed_on_pip() -> None:
    log = (
        HEAD
        + "Python dependencies: resolving on the host for Python 3.11\n"
        + "$ python -m pip download --only-binary=:all: --python-version 3.11 --dest wheels -r requirements.txt\n"
        + "Saved ./wheels/six-1.16.0-py2.py3-none-any.whl\n"
        + BUILDER_STEPS
        + "Step 9/21 : RUN apt-get update && apt-get -y install vimm\n"
        + " ---> Running in 1a2b3c4d\n"
        + "E: Unable to locate package vimm\n"
        + "ERROR: The command '/bin/sh -c apt-get update && apt-get -y install vimm' returned a non-zero code: 100\n"
    )
    found = scan(log)
    assert found is not None
    assert not found.finding.startswith("resolving the Python packages"), found.finding
    assert "apt-get -y install vimm" in found.finding
