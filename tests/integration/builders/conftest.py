"""Fixtures for environment-builder integration tests (real uv, real installs)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache per test module: the server runtime is built once and shared, as in real use."""
    return tmp_path_factory.mktemp("env-cache")
