"""``Webservice.follow_logs()`` (what ``dockyard service logs --follow`` prints): the text written
after what was already shown, from a local service's log file as it grows, or by asking a
target for its log again (containers)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from dockyard.webservice.service_logs import follow


class _Stub:
    """What follow() needs of a service: its folder and get_logs()."""

    def __init__(self, folder: Path, logs: list[str]) -> None:
        self.folder, self.logs = folder, logs

    def _service_dir(self) -> Path:
        return self.folder

    def get_logs(self, num_lines: int = 5000) -> str:
        return self.logs[0] if len(self.logs) == 1 else self.logs.pop(0)


def _take(items: Any, count: int, timeout: float = 10.0) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + timeout
    for item in items:
        got.append(item)
        if len(got) == count or time.monotonic() > deadline:
            break
    return got


def test_a_local_log_file_is_followed_from_its_end(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("old 1\nold 2\n")
    stream = follow(_Stub(tmp_path, []), "old 1\nold 2\n")

    def append() -> None:
        time.sleep(0.5)
        with log.open("a") as handle:
            handle.write("new 1\nnew 2\n")

    writer = threading.Thread(target=append)
    writer.start()
    started = time.monotonic()
    assert _take(stream, 2) == ["new 1\n", "new 2\n"]
    assert time.monotonic() - started < 5
    writer.join()


def test_another_targets_log_is_asked_for_again_and_only_new_lines_come(tmp_path: Path) -> None:
    first = "a\nb\n"
    service = _Stub(tmp_path, ["a\nb\n", "a\nb\nc\n", "b\nc\nd\ne\n"])  # the window moves on
    service.logs.pop(0)  # what get_logs() already returned: `first`
    assert _take(follow(service, first), 3) == ["c\n", "d\n", "e\n"]
