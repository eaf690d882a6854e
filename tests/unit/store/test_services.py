"""store/services.py: a service's record and its history, as every process reads them."""

from __future__ import annotations

from pathlib import Path

from dockyard.store import services
from dockyard.store.db import Store
from dockyard.store.services import ServiceRecord


def _record(name: str = "svc-one") -> ServiceRecord:
    return ServiceRecord(
        name=name, target="local", state="Transitioning", error=None, spec={"port": 1},
        runtime={}, model_ids=["m:1"], restart_count=0,
    )  # fmt: skip


def test_history_is_kept_in_order_and_read_after_an_event(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    assert services.last_event_id(store, "svc-one") == 0
    record = _record()
    services.save(store, record, event="deployment requested")
    first = services.last_event_id(store, "svc-one")
    assert services.set_state(store, "svc-one", "Healthy", None, 0, "healthy")
    assert not services.set_state(store, "svc-one", "Healthy", None, 0, "again")  # no change
    services.save(store, _record("svc-two"), event="other service")

    history = services.events(store, "svc-one")
    assert [(e.state, e.message) for e in history] == [
        ("Transitioning", "deployment requested"),
        ("Healthy", "healthy"),
    ]
    assert [e.message for e in services.events(store, "svc-one", after_id=first)] == ["healthy"]
    assert services.last_event_id(store, "svc-one") == history[-1].id
    assert services.get(store, "svc-one").state == "Healthy"  # type: ignore[union-attr]


def test_runtime_facts_merge_and_delete_takes_the_history(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    record = _record()
    record.runtime = {"pid": 42}
    services.save(store, record, event="started")
    services.set_runtime(store, "svc-one", operation={"what": "reload"})
    found = services.get(store, "svc-one")
    assert found is not None and found.runtime == {"pid": 42, "operation": {"what": "reload"}}
    assert services.names(store) == ["svc-one"]

    services.delete(store, "svc-one")
    assert services.get(store, "svc-one") is None
    assert services.events(store, "svc-one") == []
    assert services.list_all(store) == []


def test_many_threads_recording_state_changes_at_once_never_hit_a_locked_database(
    tmp_path: Path,
) -> None:
    """Every `service.state` read records a change it sees; many client threads of one process
    (or several processes) see the same change at once. A read-then-write transaction that
    started before another writer committed cannot take SQLite's write lock (no wait helps), so
    these writers take it up front."""
    import threading  # reason: this test only

    store = Store.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    services.save(store, _record(), event="deployment requested")
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def flip(index: int) -> None:
        start.wait()
        try:
            for step in range(25):
                state = "Healthy" if (index + step) % 2 else "Transitioning"
                services.set_state(store, "svc-one", state, None, 0, state)
                services.set_runtime(store, "svc-one", seen=step)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    assert services.get(store, "svc-one") is not None
