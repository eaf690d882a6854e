"""The metadata database: migrations, SQLite settings, sessions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, text

from dockyard.errors import IntegrityError
from dockyard.store import db as db_module
from dockyard.store.db import Store, normalize_url, redact
from dockyard.store.migrations import HEAD
from dockyard.store.schema import Base, ModelRow, ServiceEventRow, ServiceRow


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metadata.db'}"


def test_head_constant_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(db_module.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_migrations_match_the_orm(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store.open(_url(tmp_path))
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_every_table_others_build_on_exists(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    from sqlalchemy import inspect

    tables = set(inspect(store.engine).get_table_names())
    assert {
        "models",
        "model_files",
        "environments",
        "images",
        "services",
        "service_events",
        "alembic_version",
    } <= tables


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 30000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_session_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    with store.session(write=True) as s:
        s.add(ModelRow(name="a", version=1, root="a.pkl"))
    with pytest.raises(RuntimeError), store.session() as s:
        s.add(ModelRow(name="b", version=1, root="b.pkl"))
        s.flush()
        raise RuntimeError("boom")
    with store.session() as s:
        assert [m.name for m in s.scalars(select(ModelRow))] == ["a"]
        assert s.scalars(select(ModelRow)).one().created_at.tzinfo is not None


def test_service_events_cascade_with_their_service(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    with store.session() as s:
        svc = ServiceRow(name="svc", target="local", model_ids=["m:1"])
        svc.events.append(ServiceEventRow(state="Transitioning", message="deploying"))
        s.add(svc)
    with store.session() as s:
        s.delete(s.scalars(select(ServiceRow)).one())
    with store.session() as s:
        assert s.scalars(select(ServiceEventRow)).all() == []


def test_an_older_schema_is_upgraded_and_its_data_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _url(tmp_path)
    store = Store.open(url)
    with store.session() as s:
        s.add(ModelRow(name="kept", version=1, root="m.pkl"))
    store.dispose()
    # A newer dockyard: one more migration on top of ours.
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(db_module.__file__).with_name("migrations"), scripts)
    (scripts / "versions" / "0099_more.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n"
        f"revision = '0099'\ndown_revision = {HEAD!r}\nbranch_labels = None\ndepends_on = None\n"
        "def upgrade():\n"
        "    with op.batch_alter_table('models') as b:\n"
        "        b.add_column(sa.Column('extra', sa.String(10), nullable=True))\n"
    )
    monkeypatch.setattr(db_module, "_MIGRATIONS", scripts)
    monkeypatch.setattr(db_module, "HEAD", "0099")
    upgraded = Store.open(url)
    assert upgraded.current_revision() == "0099"
    with upgraded.engine.connect() as conn:
        assert conn.execute(text("SELECT name, extra FROM models")).all() == [("kept", None)]


def test_a_schema_newer_than_this_dockyard_is_refused(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(IntegrityError, match="9999.*newer dockyard"):
        Store.open(_url(tmp_path))


def test_tables_without_a_revision_are_never_recreated(tmp_path: Path) -> None:
    store = Store.open(_url(tmp_path))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(IntegrityError, match="alembic_version is missing"):
        Store.open(_url(tmp_path))


def test_postgres_urls_use_psycopg_and_passwords_are_hidden() -> None:
    assert normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert "secretpw" not in redact("postgresql://u:secretpw@h:5432/db")
