"""``wait_for_deployment(show_output=True)``: the events of the operation being waited for."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from dockyard.ops import records
from dockyard.targets.base import TargetStatus

if TYPE_CHECKING:
    from dockyard.webservice.base import Webservice


def print_event(state: str, message: str | None) -> None:
    print(f"  {state}: {message or ''}", file=sys.stderr, flush=True)


class OperationProgress:
    """Prints the events of the operation being waited for, once each, in time order.

    Two sources: the store's history (dockyard's steps: environment, layout, start, update ...)
    after the operation's marker, and the target's own events (the supervisor's restarts,
    back-off, readiness) since the marker's time. A store event that copies a target event (a
    state change recorded by a refresh) is not printed twice.
    """

    def __init__(self, service: Webservice) -> None:
        record = records.require(service.workspace, service.name)
        marker = record.runtime.get("operation") or {}
        self.since = float(marker.get("at") or 0.0)
        self.pending: list[dict[str, Any]] | None = records.events(
            service.workspace, service.name, after_id=int(marker.get("after_event") or 0)
        )
        self.seen: set[tuple[Any, ...]] = set()
        self.last_untimed: tuple[str, Any] | None = None
        self.state: str | None = None  # the target's state after the last event printed

    def show(self, status: TargetStatus) -> None:
        target = [e for e in status.events if e.get("at") is None or e["at"] >= self.since]
        copies = {(e.get("state"), e.get("message")) for e in target}
        items: list[tuple[float, bool, str, Any]] = []  # (time, from the target, state, message)
        if self.pending is not None:
            for event in self.pending:
                if (event["state"], event["message"]) in copies:
                    continue
                at = event["at"].timestamp() if hasattr(event["at"], "timestamp") else 0.0
                items.append((at, False, event["state"], event["message"]))
            self.pending = None
        for event in target:
            key = (event.get("state", ""), event.get("message"))
            if event.get("at") is None:  # a target that reports only its current condition
                if key == self.last_untimed:
                    continue
                self.last_untimed = key
                items.append((time.time(), True, *key))
            elif (event["at"], *key) not in self.seen:
                self.seen.add((event["at"], *key))
                items.append((float(event["at"]), True, *key))
        for _at, from_target, state, message in sorted(items, key=lambda item: item[0]):
            if from_target:
                self.state = state
            elif self.state is not None:
                # a step recorded by dockyard: the service's state then is the target's last one
                state = self.state
            print_event(state, message)
