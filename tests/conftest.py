"""Shared test set-up.

* Every test gets its own ``DOCKYARD_HOME`` and working directory, so no test touches the user's
  ``~/.dockyard`` or another test's files.
* ``require_engine(name, reason)`` skips a test when an engine (Docker, PostgreSQL, Ray, the oracle
  server) is missing, except under ``CI=true``, where a missing engine fails the test: CI must never
  skip engine tests silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_engine(name: str, reason: str) -> None:
    """Skip (locally) or fail (in CI) because engine ``name`` is unavailable."""
    message = f"{name} is not available: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: engine tests must run, not skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("dockyard-home")
    monkeypatch.setenv("DOCKYARD_HOME", str(home))
    monkeypatch.delenv("DOCKYARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCKYARD_WORKSPACE", raising=False)
    return home


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory for tests that rely on config lookup from the cwd."""
    cwd = tmp_path / "project"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd
