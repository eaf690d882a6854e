"""The dashboard's actions, each one SDK call: score a request, reveal the keys, reload,
restart, delete, diagnose. Nothing else can be changed from the dashboard.

Called in worker threads by :mod:`dockyard.ui.routes`. An SDK error comes back as
``{"ok": False, "error": ..., "hint": ...}`` so the page can show it where the action was asked.
"""

from __future__ import annotations

from typing import Any

import dockyard
from dockyard import Webservice, Workspace
from dockyard.errors import DockyardError, WebserviceError


def _failure(exc: DockyardError) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "error": exc.message, "hint": exc.hint}
    if isinstance(exc, WebserviceError):
        out.update(status=exc.status_code, requestId=exc.request_id, state=exc.state)
        if isinstance(exc.content, bytes):
            out["content"] = exc.content.decode("utf-8", "replace")
        elif exc.content is not None:
            out["content"] = exc.content
    return out


def score(ws: Workspace, name: str, body: str) -> dict[str, Any]:
    """``service.run(body)``: the prediction, or the error with its status and request id."""
    try:
        return {"ok": True, "result": Webservice(ws, name).run(body)}
    except DockyardError as exc:
        return _failure(exc)


def keys(ws: Workspace, name: str) -> dict[str, Any]:
    try:
        primary, secondary = Webservice(ws, name).get_keys()
    except DockyardError as exc:
        return _failure(exc)
    return {"ok": True, "primary": primary, "secondary": secondary}


def reload(ws: Workspace, name: str) -> dict[str, Any]:
    """Re-read score.py and the source folder; the running version serves until the new one is
    ready (``service.reload()``)."""
    try:
        Webservice(ws, name).reload()
    except DockyardError as exc:
        return _failure(exc)
    return {"ok": True, "message": f"reloading {name}"}


def restart(ws: Workspace, name: str) -> dict[str, Any]:
    """``service.stop()`` then ``service.start()``."""
    try:
        service = Webservice(ws, name)
        service.stop()
        service.start()
    except DockyardError as exc:
        return _failure(exc)
    return {"ok": True, "message": f"restarting {name}"}


def delete(ws: Workspace, name: str, confirm: str) -> dict[str, Any]:
    """``service.delete()``, only when ``confirm`` repeats the service's name."""
    if confirm != name:
        return {"ok": False, "error": f"Deleting {name!r} was not confirmed",
                "hint": f"type the service's name ({name}) to confirm"}  # fmt: skip
    try:
        Webservice(ws, name).delete()
    except DockyardError as exc:
        return _failure(exc)
    return {"ok": True, "message": f"deleted {name}"}


def diagnose(ws: Workspace, name: str) -> dict[str, Any]:
    """``dockyard.diagnose(ws, name)``: read-only, one entry per step."""
    try:
        report = dockyard.diagnose(ws, name)
    except DockyardError as exc:
        return _failure(exc)
    return {"ok": True, **report.to_dict()}
