"""The images page on a real failed build (a real Docker engine): the build log with the failing
``Step N/M`` line highlighted and scrolled to, the error, and the diagnosis's finding."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard import Model, Workspace
from dockyard.assets.image import ContainerImage, Image, ImageCreationError
from tests.browser.conftest import Dashboard
from tests.browser.helpers import open_page, screenshots, wait_text
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    docker_client,
)

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def failed_image(
    ws: Workspace,
    model: Model,
    tmp_path: Path,
    base_image: str,  # noqa: F811
) -> Iterator[Image]:
    src = tmp_path / "image-src"
    src.mkdir()
    (src / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    steps = src / "Dockerfile.steps"
    steps.write_text('RUN echo "installing the forecast fonts" && exit 3\n')
    config = ContainerImage.image_configuration(
        entry_script=str(src / "score.py"), docker_file=str(steps)
    )
    image = Image.create(ws, "fonts", [model], config)
    with pytest.raises(ImageCreationError):
        image.wait_for_creation()
    yield image
    with contextlib.suppress(Exception):
        image.delete()


def test_a_failed_build_shows_its_failing_step(
    failed_image: Image, dashboard: Dashboard, browser: Any, screenshots_dir: Path
) -> None:
    browser.get(dashboard.url)
    open_page(browser, dashboard.base, "#/images")
    wait_text(browser, '[data-image="fonts:1"]', "Failed")
    screenshots(browser, screenshots_dir, "images-failed")

    open_page(browser, dashboard.base, "#/images/fonts/1")
    step = wait_text(browser, "#failing-step", "Step ")
    assert step.endswith(': RUN echo "installing the forecast fonts" && exit 3'), step
    marked = wait_text(browser, "#build-log .fail", "installing the forecast fonts")
    assert marked == step
    wait_text(browser, "#image-error", "returned a non-zero code: 3")
    # dockyard.diagnose(ws, image=...)'s finding and fix are shown (its wording is the
    # diagnosis's own, tested in tests/unit/diagnose)
    wait_text(browser, "#image-diagnosis", "Fix: ")
    # the highlighted step is scrolled into the log's view
    visible = browser.execute_script(
        "const log = document.getElementById('build-log'), fail = log.querySelector('.fail');"
        "return fail.offsetTop >= log.scrollTop && fail.offsetTop < log.scrollTop + log.clientHeight;"
    )
    assert visible
    screenshots(browser, screenshots_dir, "image-build-log")
