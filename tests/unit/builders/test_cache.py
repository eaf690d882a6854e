"""build_once (build/cache.py): one build across threads and processes, nothing half-built kept."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from dockyard.builders.cache import build_once, discard, read_json, write_json


def complete(path: Path) -> bool:
    return (path / "done").is_file()


def slow_build(counter: Path) -> object:
    def build(tmp: Path) -> None:
        with counter.open("a") as f:
            f.write("build\n")
        time.sleep(0.5)
        (tmp / "payload").write_text("x")
        (tmp / "done").write_text("ok")  # marker last

    return build


def test_two_threads_one_build(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    final = tmp_path / "cache" / "abc"
    results: list[bool] = []
    messages: list[str] = []

    def worker() -> None:
        results.append(
            build_once(
                final, tmp_path / "cache", complete, slow_build(counter), messages.append, 30
            )  # type: ignore[arg-type]
        )

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.read_text().count("build") == 1
    assert sorted(results) == [False, False, True]
    assert (final / "payload").read_text() == "x"
    assert any("another process is building" in m for m in messages)
    assert not list((tmp_path / "cache").glob(".tmp-*"))


def _process_worker(root: str) -> None:
    base = Path(root)
    build_once(
        base / "cache" / "abc", base / "cache", complete, slow_build(base / "count"), print, 30
    )  # type: ignore[arg-type]


def test_two_processes_one_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spawned children unpickle _process_worker by its module name (tests.unit...), so they need
    # the repository on their sys.path (pytest's importlib mode does not put it there)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[3]))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_worker, args=(str(tmp_path),)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert (tmp_path / "count").read_text().count("build") == 1


def test_failed_build_leaves_nothing_and_next_call_builds(tmp_path: Path) -> None:
    final = tmp_path / "c" / "abc"

    def failing(tmp: Path) -> None:
        (tmp / "half").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        build_once(final, tmp_path / "c", complete, failing, print, 5)
    assert not final.exists() and not list((tmp_path / "c").glob(".tmp-*"))
    assert build_once(final, tmp_path / "c", complete, slow_build(tmp_path / "n"), print, 5)  # type: ignore[arg-type]
    assert complete(final)


def test_stale_temp_and_incomplete_final_are_removed(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    stale = cache / ".tmp-abc-killed"
    stale.mkdir(parents=True)
    (cache / "abc").mkdir()  # no marker: not trusted
    (cache / "abc" / "junk").write_text("x")
    assert build_once(cache / "abc", cache, complete, slow_build(tmp_path / "n"), print, 5)  # type: ignore[arg-type]
    assert not stale.exists() and not (cache / "abc" / "junk").exists()
    assert not list(cache.glob(".trash-*"))


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    from dockyard.builders.cache import locked
    from dockyard.errors import EnvironmentBuildError

    lock = tmp_path / "x.lock"
    started = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with locked(lock, print, 5):
            started.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    started.wait(5)
    try:
        with (
            pytest.raises(EnvironmentBuildError, match="another process"),
            locked(lock, print, 0.2),
        ):
            pass
    finally:
        release.set()
        t.join()


def test_json_helpers(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", {"a": 1})
    assert read_json(tmp_path / "m.json") == {"a": 1}
    (tmp_path / "l.json").write_text("[1]")
    with pytest.raises(ValueError):
        read_json(tmp_path / "l.json")
    discard(tmp_path / "missing")  # no error
