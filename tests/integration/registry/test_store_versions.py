"""store/versions.py on PostgreSQL: the advisory lock serializes writers of one name, and a
duplicate (name, version) reported by PostgreSQL is recognised and retried."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.store import images, versions
from dockyard.store.db import Store
from dockyard.store.schema import ImageRow

pytestmark = pytest.mark.postgres


def test_threads_get_distinct_consecutive_versions_on_postgres(pg_url: str) -> None:
    store = Store.open(pg_url, schema="dy_versions")
    got: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        try:
            start.wait(timeout=30)
            got.extend(images.add_version(store, "shared").version for _ in range(5))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    store.dispose()
    assert not errors, errors
    assert sorted(got) == list(range(1, 31))


def test_a_duplicate_key_from_postgres_is_retried(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(pg_url, schema="dy_versions")
    images.add_version(store, "img")
    real = versions.latest_version
    stale = [True]

    def latest_once_stale(session: Session, table: versions.VersionedRow, name: str) -> int | None:
        return None if stale and stale.pop() else real(session, table, name)

    monkeypatch.setattr(versions, "latest_version", latest_once_stale)
    calls: list[int] = []

    def add(session: Session, version: int) -> int:
        calls.append(version)
        session.add(ImageRow(name="img", version=version))
        return version

    assert versions.allocate(store, ImageRow, "image", "img", add) == 2
    assert calls == [1, 2]
    with store.session() as session:
        assert sorted(session.scalars(select(ImageRow.version))) == [1, 2]
    store.dispose()
