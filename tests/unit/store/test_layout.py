"""store/layout.py: the workspace's folders, spelled in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.store import layout


def test_the_folders_of_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(layout.ENV_CACHE_VAR, raising=False)
    ws = tmp_path / "ws"
    assert layout.service_dir(ws, "svc") == ws / "services" / "svc"
    assert layout.image_dir(ws, "img", 3) == ws / "images" / "img" / "3"
    assert layout.model_dir(ws, "m", 2) == ws / "models" / "m" / "2"
    assert layout.environments_cache(ws) == ws / "envs"
    assert layout.sqlite_url(ws) == f"sqlite:///{ws / 'metadata.db'}"
    lock = layout.lock_file(ws, "settings")
    assert lock == ws / "locks" / "settings.lock" and lock.parent.is_dir()
    for folder in (layout.blobs_dir(ws), layout.secrets_dir(ws), layout.services_dir(ws)):
        assert folder.name in layout.WORKSPACE_ENTRIES


def test_the_environments_cache_may_live_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_ENV_CACHE", str(tmp_path / "shared-envs"))
    assert layout.environments_cache(tmp_path / "ws") == tmp_path / "shared-envs"
