"""The one versioning helper (store/versions.py) and the kinds that use it: consecutive versions
under concurrency, a lost race retried, other integrity errors not."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.orm import Session

from dockyard.errors import ConflictError
from dockyard.store import environments, images, models, versions
from dockyard.store.db import Store
from dockyard.store.schema import EnvironmentRow, ModelFileRow


def _store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'metadata.db'}")


def _add_env(store: Store, name: str, tag: str = "") -> int:
    """Allocate the next version of ``name`` with the helper itself; return the number."""

    def add(session: Session, version: int) -> int:
        session.add(
            EnvironmentRow(name=name, version=version, build_hash="b", full_hash=tag, spec={})
        )
        return version

    return versions.allocate(store, EnvironmentRow, "environment", name, add)


def _stored_versions(store: Store, name: str) -> list[int]:
    with store.session() as session:
        query = select(EnvironmentRow.version).where(EnvironmentRow.name == name)
        return sorted(session.scalars(query))


def test_threads_get_distinct_consecutive_versions(tmp_path: Path) -> None:
    store = _store(tmp_path)
    got: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        try:
            start.wait(timeout=30)
            for j in range(5):
                got.append(_add_env(store, "shared", f"{i}-{j}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(got) == list(range(1, 41))
    assert _stored_versions(store, "shared") == list(range(1, 41))


ALLOCATE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from dockyard.store import images
    from dockyard.store.db import Store
    store = Store.open(sys.argv[1])
    go = Path(sys.argv[2])
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    print(json.dumps([images.add_version(store, "shared").version for _ in range(5)]))
    """
)


def test_processes_get_distinct_consecutive_versions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    Store.open(url).dispose()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ALLOCATE, url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    got: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        got += json.loads(out)
    assert sorted(got) == list(range(1, 21))
    assert [r.version for r in images.list_all(Store.open(url))] == list(range(20, 0, -1))


def test_a_lost_race_for_a_number_is_retried_with_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    assert _add_env(store, "env") == 1
    real = versions.latest_version
    stale = [True]

    def latest_once_stale(session: Session, table: versions.VersionedRow, name: str) -> int | None:
        if stale.pop() if stale else False:
            return None  # as if another writer's version 1 were not there yet
        return real(session, table, name)

    monkeypatch.setattr(versions, "latest_version", latest_once_stale)
    calls: list[int] = []

    def add(session: Session, version: int) -> int:
        calls.append(version)
        session.add(EnvironmentRow(name="env", version=version, build_hash="b", full_hash="x"))
        return version

    assert versions.allocate(store, EnvironmentRow, "environment", "env", add) == 2
    assert calls == [1, 2]  # version 1 collided on the unique key, was rolled back, retried
    assert _stored_versions(store, "env") == [1, 2]


def test_a_race_lost_every_time_is_a_conflict_naming_the_kind_and_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    _add_env(store, "busy")
    monkeypatch.setattr(versions, "latest_version", lambda *_: None)
    with pytest.raises(ConflictError) as caught:
        _add_env(store, "busy")
    assert "environment 'busy'" in caught.value.message
    assert f"{versions.ATTEMPTS} attempts" in caught.value.message
    assert _stored_versions(store, "busy") == [1]


def test_another_integrity_error_is_raised_at_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    calls: list[int] = []

    def add(session: Session, version: int) -> int:
        calls.append(version)
        session.add(ModelFileRow(model_id=999, path="x", sha256="0" * 64, size=1))  # no model 999
        return version

    with pytest.raises(SQLIntegrityError):
        versions.allocate(store, EnvironmentRow, "environment", "env", add)
    assert calls == [1]


def test_every_versioned_kind_numbers_per_name(tmp_path: Path) -> None:
    store = _store(tmp_path)
    entry = [models.FileEntry("m.pkl", "a" * 64, 3)]

    def model(name: str) -> int:
        return models.add_version(
            store, name=name, root="m.pkl", is_folder=False, files=entry, tags={},
            properties={}, description=None, framework=None, framework_version=None,
        ).version  # fmt: skip

    assert [model("a"), model("a"), model("b"), model("a")] == [1, 2, 1, 3]
    assert [images.add_version(store, n).version for n in ("i", "j", "i")] == [1, 1, 2]

    def env(name: str, content: str) -> int:
        return environments.add_version(
            store, name=name, build_hash=content, full_hash=content, spec={"c": content}
        ).version

    assert [env("e", "1"), env("e", "2"), env("f", "1")] == [1, 2, 1]


def test_an_environment_identical_to_its_latest_version_is_not_added_again(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)

    def env(content: str) -> int:
        return environments.add_version(
            store, name="e", build_hash=content, full_hash=content, spec={}
        ).version

    assert [env("1"), env("1"), env("2"), env("1")] == [1, 1, 2, 3]
    assert environments.versions(store, "e") == [1, 2, 3]
