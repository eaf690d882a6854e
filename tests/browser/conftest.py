"""Fixtures of the dashboard tests: a workspace with a model and a deployed sample service,
``dockyard ui`` started by its real command (a child process on 127.0.0.1), and a real headless
Chromium driven by selenium (Debian's ``chromium`` and ``chromium-driver``, installed by
``scripts/engines/browser`` when missing; as root it runs with ``--no-sandbox``).

Screenshots go to one folder in pytest's temporary directory; its path is printed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice, Workspace
from tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "scripts" / "engines" / "browser"
DESKTOP = (1280, 900)
PHONE = (390, 844)

SCORE = """\
import json
from inference_schema.schema_decorators import input_schema
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType

def init():
    print("forecast model loaded")

@input_schema("data", StandardPythonParameterType({"city": "Seoul", "days": 3}))
def run(data):
    print(f"forecasting for {data['city']}")
    return {"city": data["city"], "forecast": ["sunny"] * int(data["days"])}
"""

CRASHING = """\
def init():
    settings = load_settings()

def load_settings():
    raise RuntimeError("the forecast settings file is missing")

def run(data):
    return data
"""


def _browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """(chromium, chromedriver), installed from Debian packages first if missing."""
    paths = _browser_paths()
    if paths is None:
        done = subprocess.run([str(INSTALL)], capture_output=True, text=True, check=False)
        paths = _browser_paths()
        if paths is None:
            require_engine("chromium", f"{INSTALL} failed:\n{done.stdout}\n{done.stderr}")
    assert paths is not None
    return paths


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard-screenshots")
    print(f"\n[browser] screenshots in {folder}")
    return folder


@pytest.fixture
def browser(chromium_paths: tuple[str, str]) -> Iterator[Any]:
    try:
        from selenium import webdriver  # the browser tests only
        from selenium.webdriver.chrome.service import Service  # the browser tests only
    except ImportError as exc:
        require_engine("selenium", f"{exc}; install the test extra (pip install selenium)")
        raise

    chromium, driver = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--hide-scrollbars", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):  # fmt: skip
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    session.set_page_load_timeout(30)
    try:
        yield session
    finally:
        session.quit()


@dataclass
class Dashboard:
    base: str  # http://127.0.0.1:PORT
    token: str
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"


def start_dashboard(ws: Workspace) -> Dashboard:
    """``dockyard ui --port 0 --no-browser`` on ``ws``, once it printed its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "ui", "--port", "0", "--no-browser",
         "--workspace", str(ws.path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if found:
            return Dashboard(found.group(1), found.group(2), process)
    process.kill()
    raise AssertionError("dockyard ui printed no URL:\n" + "".join(seen))


def stop(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("dashboard-tests", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def model(ws: Workspace, tmp_path: Path) -> Model:
    path = tmp_path / "weather-model.txt"
    path.write_text("sunny\n")
    return Model.register(ws, model_path=str(path), model_name="weather", tags={"team": "forecast"})


@pytest.fixture
def dashboard(ws: Workspace) -> Iterator[Dashboard]:
    board = start_dashboard(ws)
    try:
        yield board
    finally:
        stop(board.process)


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()


def deploy(ws: Workspace, model: Model, folder: Path, name: str, score: str, services: list[str],
           wait: bool = True, **config: Any) -> Webservice:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "score.py").write_text(score)
    services.append(name)
    inference = InferenceConfig(entry_script="score.py", source_directory=str(folder))
    deployment = LocalWebservice.deploy_configuration(**config)
    service = Model.deploy(ws, name, [model], inference, deployment, overwrite=True)
    if wait:
        service.wait_for_deployment()
    return service
