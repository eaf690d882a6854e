"""Fixtures of the local-target tests (real server processes on 127.0.0.1): a workspace in the
test's folder, and the services a test deploys, each deleted when the test ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard import Webservice, Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("local-tests", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[str]]:
    """Append the name of every service the test deploys: each is deleted at its end (best
    effort: one that is gone already is skipped)."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()
