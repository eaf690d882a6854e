"""What the browser tests do with a page: wait for what a user sees, take screenshots at
desktop and phone width (asserting no horizontal scrolling), read the page's text."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.browser.conftest import DESKTOP, PHONE


def wait_text(driver: Any, css: str, text: str, timeout: float = 30.0) -> str:
    """Wait until the element ``css`` holds ``text``; returns its text."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
    )  # the browser tests only
    from selenium.webdriver.common.by import By  # the browser tests only

    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        try:
            seen = driver.find_element(By.CSS_SELECTOR, css).text
        except (NoSuchElementException, StaleElementReferenceException):
            seen = "(no element)"
        if text in seen:
            return seen
        time.sleep(0.1)
    body = driver.find_element(By.TAG_NAME, "body").text
    raise AssertionError(f"{css} never showed {text!r} in {timeout} s; it showed:\n{seen[-2000:]}\n"
                         f"--- the page:\n{body[-3000:]}")  # fmt: skip


def wait_value(driver: Any, css: str, text: str, timeout: float = 30.0) -> str:
    from selenium.webdriver.common.by import By  # the browser tests only

    deadline = time.monotonic() + timeout
    value = ""
    while time.monotonic() < deadline:
        value = driver.find_element(By.CSS_SELECTOR, css).get_attribute("value") or ""
        if text in value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{css} never held {text!r}; it held {value!r}")


def open_page(driver: Any, base: str, hash_: str) -> None:
    """Go to ``base/#hash`` and wait until the page says it drew that route."""
    driver.get(f"{base}/{hash_}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if driver.execute_script("return document.getElementById('main').dataset.ready") == hash_:
            return
        time.sleep(0.05)
    raise AssertionError(f"the page {hash_} was never drawn")


def screenshots(driver: Any, folder: Path, name: str) -> list[Path]:
    """PNGs of the current page at desktop and at phone (390 px) width; at phone width the page
    must not scroll sideways. Each PNG holds the whole page (the window is made as tall as the
    page); the window is back at desktop size afterwards."""
    taken = []
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(width, height)
        time.sleep(0.3)  # the layout settles
        inner, scroll = driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]"
        )
        if label == "phone":
            assert inner == PHONE[0], f"the window is {inner} px wide, not {PHONE[0]}"
        assert scroll <= inner, f"{name} at {label} width scrolls sideways: {scroll} > {inner} px"
        path = folder / f"{name}-{label}.png"
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(height, full), 6000))  # the whole page
        time.sleep(0.2)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(path))
        taken.append(path)
    driver.set_window_size(*DESKTOP)
    print(f"[browser] {' '.join(str(p) for p in taken)}")
    return taken
