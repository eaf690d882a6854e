"""The dashboard in a real headless Chromium (``dockyard ui`` started by its command, services on
the local target): a deployed service is seen Healthy, its log follows while a request is sent,
the test form sends the swagger's sample and shows the prediction, a crash-looping service
shows its traceback; every page is photographed at desktop and 390 px width, without sideways
scrolling."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard import CondaDependencies, Environment, Model, Webservice, Workspace
from tests.browser.conftest import CRASHING, SCORE, Dashboard, deploy
from tests.browser.helpers import open_page, screenshots, wait_text, wait_value

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_healthy_service_its_live_log_and_the_test_form(
    ws: Workspace,
    model: Model,
    tmp_path: Path,
    services: list[str],
    dashboard: Dashboard,
    browser: Any,
    screenshots_dir: Path,
) -> None:
    from selenium.webdriver.common.by import By  # the browser tests only

    service = deploy(ws, model, tmp_path / "src", "forecast", SCORE, services, auth_enabled=True)
    browser.get(dashboard.url)  # the token: then a cookie, and the URL without it
    assert "token=" not in browser.current_url
    open_page(browser, dashboard.base, "#/services")
    assert wait_text(browser, '[data-service="forecast"]', "Healthy")
    screenshots(browser, screenshots_dir, "services")

    open_page(browser, dashboard.base, "#/services/forecast")
    wait_text(browser, "#state", "Healthy")
    wait_text(browser, "#log", "forecast model loaded")
    wait_text(browser, "#log-status", "following")

    # the log follows: a request sent from elsewhere shows up without reloading the page
    assert service.run({"data": {"city": "Busan", "days": 1}}) == {
        "city": "Busan", "forecast": ["sunny"]}  # fmt: skip
    wait_text(browser, "#log", "forecasting for Busan", timeout=15)
    at_end = "const l = document.getElementById('log'); return [l.scrollTop, l.clientHeight, l.scrollHeight]"
    top, height, full = browser.execute_script(at_end)
    assert top + height >= full - 4, (
        f"the log does not show its newest lines: {top}, {height}, {full}"
    )

    # the test form: the swagger's sample input, sent, and the prediction shown
    assert '"city": "Seoul"' in wait_value(browser, "#score-input", "Seoul")
    browser.find_element(By.ID, "score-send").click()
    result = wait_text(browser, "#score-result", "sunny")
    assert '"forecast": [' in result and '"Seoul"' in result
    wait_text(browser, "#log", "forecasting for Seoul", timeout=15)
    # the metrics panel (dockyard.webservice.metrics), refreshed every 5 s
    wait_text(browser, "#metrics-now", "replicas 1", timeout=15)

    # keys only on request
    assert service.get_keys()[0] not in browser.find_element(By.TAG_NAME, "body").text
    browser.find_element(By.ID, "keys-reveal").click()
    wait_text(browser, "#keys", service.get_keys()[0])
    wait_text(browser, "#events", "Healthy")
    screenshots(browser, screenshots_dir, "service")

    open_page(browser, dashboard.base, "#/models")
    wait_text(browser, '[data-model="weather:1"]', "team: forecast")
    screenshots(browser, screenshots_dir, "models")
    env = Environment("forecast-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy==2.4.6"])
    env.register(ws)
    open_page(browser, dashboard.base, "#/environments")
    wait_text(browser, '[data-environment="forecast-env:1"]', "numpy==2.4.6")
    screenshots(browser, screenshots_dir, "environments")
    open_page(browser, dashboard.base, "#/images")
    screenshots(browser, screenshots_dir, "images")


def test_a_crash_looping_service_shows_its_traceback(
    ws: Workspace,
    model: Model,
    tmp_path: Path,
    services: list[str],
    dashboard: Dashboard,
    browser: Any,
    screenshots_dir: Path,
) -> None:
    deploy(ws, model, tmp_path / "broken", "broken", CRASHING, services, wait=False)
    deadline = time.monotonic() + 120
    while Webservice(ws, "broken").state != "CrashLoopBackOff":
        assert time.monotonic() < deadline, Webservice(ws, "broken").state
        time.sleep(0.5)

    browser.get(dashboard.url)
    open_page(browser, dashboard.base, "#/services/broken")
    wait_text(browser, "#state", "CrashLoopBackOff")
    error = wait_text(
        browser, "#service-error", "RuntimeError: the forecast settings file is missing"
    )
    assert "Traceback (most recent call last)" in error and "load_settings" in error
    wait_text(browser, "#events", "CrashLoopBackOff")
    screenshots(browser, screenshots_dir, "crashloop")


def test_reload_diagnose_and_delete_with_confirmation(
    ws: Workspace,
    model: Model,
    tmp_path: Path,
    services: list[str],
    dashboard: Dashboard,
    browser: Any,
    screenshots_dir: Path,
) -> None:
    from selenium.webdriver.common.by import By  # the browser tests only

    folder = tmp_path / "tidy"
    deploy(ws, model, folder, "tidy", SCORE, services)
    browser.get(dashboard.url)
    open_page(browser, dashboard.base, "#/services/tidy")
    wait_text(browser, "#state", "Healthy")

    # reload picks up an edited score.py (the SDK's reload: the old version serves meanwhile)
    (folder / "score.py").write_text(SCORE.replace("forecast model loaded", "forecast model v2"))
    browser.find_element(By.ID, "action-reload").click()
    wait_text(browser, "#action-notice", "reloading tidy")
    wait_text(browser, "#log", "forecast model v2", timeout=60)
    wait_text(browser, "#events", "reload")

    browser.find_element(By.ID, "action-diagnose").click()
    diagnosis = wait_text(browser, "#diagnosis", "overload", timeout=60)
    assert "✓ state" in diagnosis and "✗" not in diagnosis
    screenshots(browser, screenshots_dir, "service-diagnosed")

    # delete asks for the name first; a wrong one deletes nothing
    browser.find_element(By.ID, "action-delete").click()
    typed = browser.find_element(By.ID, "delete-confirm")
    typed.send_keys("tid")
    browser.find_element(By.ID, "delete-yes").click()
    wait_text(browser, "#action-notice", "Deleting 'tidy' was not confirmed")
    assert Webservice(ws, "tidy").state == "Healthy"
    typed.send_keys("y")
    browser.find_element(By.ID, "delete-yes").click()
    wait_text(browser, "main", "No service yet")
    assert "tidy" not in ws.webservices


def test_the_bundled_sample_scored_from_the_test_form(
    ws: Workspace,
    tmp_path: Path,
    services: list[str],
    dashboard: Dashboard,
    browser: Any,
    screenshots_dir: Path,
) -> None:
    """samples/diabetes (its run() has no schema, so the form starts from ``{}``): the seed's
    test_sample typed into the form gives the same two predictions as ``service.run``."""
    from selenium.webdriver.common.by import By  # the browser tests only

    sample = Path(__file__).resolve().parents[2] / "samples" / "diabetes"
    spec = importlib.util.spec_from_file_location("diabetes_train", sample / "train.py")
    assert spec and spec.loader
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    model = Model.register(ws, model_path=str(train.train(tmp_path / "outputs")),
                           model_name="diabetes", tags={"sample": "true"})  # fmt: skip
    src = tmp_path / "diabetes"
    shutil.copytree(sample, src, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
    service = deploy(ws, model, src, "diabetes-demo", (src / "score.py").read_text(), services)
    test_sample = json.dumps(
        {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}
    )
    expected = service.run(test_sample)

    browser.get(dashboard.url)
    open_page(browser, dashboard.base, "#/services/diabetes-demo")
    wait_text(browser, "#state", "Healthy")
    assert wait_value(browser, "#score-input", "{}") == "{}"  # no @input_schema: no sample
    form = browser.find_element(By.ID, "score-input")
    form.clear()
    form.send_keys(test_sample)
    browser.find_element(By.ID, "score-send").click()
    result = wait_text(browser, "#score-result", "]")
    assert json.loads(result) == expected and len(expected) == 2
    screenshots(browser, screenshots_dir, "sample-scored")


def test_the_charts_draw_the_services_history(
    ws: Workspace,
    model: Model,
    tmp_path: Path,
    services: list[str],
    dashboard: Dashboard,
    browser: Any,
    screenshots_dir: Path,
) -> None:
    """Requests for about half a minute (the history has one sample every 10 s): the four
    charts draw lines, errors included."""
    from selenium.webdriver.common.by import By  # the browser tests only

    service = deploy(ws, model, tmp_path / "busy", "busy", SCORE, services)
    stop = threading.Event()

    def traffic() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            days = "x" if i % 5 == 0 else 1  # every fifth request fails in run(): a 5xx
            with contextlib.suppress(Exception):
                service.run({"data": {"city": "Jeju", "days": days}})
            time.sleep(0.05)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        browser.get(dashboard.url)
        open_page(browser, dashboard.base, "#/services/busy")
        deadline = time.monotonic() + 60
        charts: list[Any] = []
        while time.monotonic() < deadline:
            charts = browser.find_elements(By.CSS_SELECTOR, "#metrics [data-chart] svg")
            lines = browser.find_elements(By.CSS_SELECTOR, "#metrics [data-chart] polyline")
            if len(charts) == 4 and len(lines) >= 6:  # rate, p50, p99, 4xx, 5xx, 503, replicas
                break
            time.sleep(0.5)
        titles = [
            c.get_attribute("data-chart")
            for c in browser.find_elements(By.CSS_SELECTOR, "#metrics [data-chart]")
        ]
        assert titles == ["Request rate", "Latency", "Errors", "Replicas"], titles
        assert len(charts) == 4, browser.find_element(By.ID, "metrics").text
    finally:
        stop.set()
        sender.join()
    errors = wait_text(browser, "#metrics-now", "5xx")
    assert "5xx 0.00/s" not in errors, errors
    screenshots(browser, screenshots_dir, "service-charts")
