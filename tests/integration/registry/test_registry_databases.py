"""The registry's behaviour on both metadata databases (SQLite and a real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard import Model, Workspace
from dockyard.errors import ConflictError, ModelNotFoundError
from dockyard.store.schema import ServiceRow


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"weights")
    return path


def test_register_list_tags_delete(tmp_path: Path, db_url: str | None, model_file: Path) -> None:
    ws = Workspace.create("both", path=tmp_path / "ws", database_url=db_url)
    assert ws.store.dialect == ("postgresql" if db_url else "sqlite")
    Model.register(ws, model_file, "m", tags={"k": "v"}, properties={"p": "1"})
    m2 = Model.register(ws, model_file, "m", tags={"k": "w"})
    assert [m.id for m in Model.list(ws, tags=[["k", "v"]])] == ["m:1"]
    m2.add_tags({"x": "y"})
    assert Model(ws, "m").tags == {"k": "w", "x": "y"}
    assert Model(ws, "m").created_time.tzinfo is not None
    with ws.store.session() as s:
        s.add(ServiceRow(name="svc", target="local", model_ids=["m:2"]))
    with pytest.raises(ConflictError, match="svc"):
        m2.delete()
    Model(ws, "m", version=1).delete()
    with pytest.raises(ModelNotFoundError):
        Model(ws, "m", version=1)
    assert ws.verify().ok


def test_create_again_keeps_everything(
    tmp_path: Path, db_url: str | None, model_file: Path
) -> None:
    ws = Workspace.create("again", path=tmp_path / "ws", database_url=db_url)
    ws.get_default_keyvault().set_secret("api-key", "k")
    Model.register(ws, model_file, "kept")
    same = Workspace.create("again", path=tmp_path / "ws", exist_ok=True, database_url=db_url)
    assert Model(same, "kept").version == 1
    assert same.get_default_keyvault().get_secret("api-key") == "k"


def test_two_workspaces_share_one_postgres_database_without_mixing(
    tmp_path: Path, pg_url: str, model_file: Path
) -> None:
    first = Workspace.create("first", path=tmp_path / "a", database_url=pg_url)
    second = Workspace.create("second", path=tmp_path / "b", database_url=pg_url)
    Model.register(first, model_file, "only-in-first")
    assert Model.list(second) == []
    assert first.get_details()["database_schema"] != second.get_details()["database_schema"]
    assert "postgres@" in first.get_details()["database"]


def test_a_postgres_workspace_reopens_from_its_folder(
    tmp_path: Path, pg_url: str, model_file: Path
) -> None:
    ws = Workspace.create("reopen", path=tmp_path / "ws", database_url=pg_url)
    Model.register(ws, model_file, "m")
    ws.store.dispose()
    again = Workspace.from_path(tmp_path / "ws")
    assert Model(again, "m").version == 1
