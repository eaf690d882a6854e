"""What the dashboard shows, read through the SDK and made JSON-ready (plain dicts and lists).

Each function is one page's (or one panel's) data and is called in a worker thread by
:mod:`dockyard.ui.routes`: none of them may be called on the event loop.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

import dockyard
from dockyard import Environment, Image, Model, Webservice, Workspace
from dockyard.webservice.metrics import get_service_metrics, get_service_metrics_history

#: Lines of a log that are an error (shown in red).
_ERROR_LINE = re.compile(
    r"(^Traceback \(most recent call last\)|^\S*(Error|Exception)\b.*:|\bERROR\b|^error:|"
    r"\bCRITICAL\b|CrashLoopBackOff)",
)
#: How many of a service's latest events its page shows.
EVENTS_SHOWN = 200
_STEP_LINE = re.compile(r"^(Step \d+/\d+ : |#\d+ \[)")


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else None


def workspace_info(ws: Workspace) -> dict[str, Any]:
    return {"name": ws.name, "path": str(ws.path)}


def models(ws: Workspace) -> list[dict[str, Any]]:
    """Every version of every model, newest first per name, with its files."""
    return [
        {
            "name": m.name,
            "version": m.version,
            "id": m.id,
            "description": m.description,
            "framework": m.model_framework,
            "tags": m.tags,
            "properties": m.properties,
            "createdTime": _iso(m.created_time),
            "size": m.size,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in m.files],
        }
        for m in Model.list(ws)
    ]


def environments(ws: Workspace) -> list[dict[str, Any]]:
    """Every registered version of every environment, with its Python packages."""
    out = []
    for env in Environment.list_versions(ws):
        data = env.serialize()
        conda = (data.get("python") or {}).get("condaDependencies") or {}
        packages: list[str] = []
        for dep in conda.get("dependencies") or []:
            if isinstance(dep, dict):
                packages += [str(p) for p in dep.get("pip") or []]
            else:
                packages.append(str(dep))
        out.append({
            "name": data.get("name"),
            "version": data.get("version"),
            "packages": packages,
            "baseImage": (data.get("docker") or {}).get("baseImage"),
            "userManaged": bool((data.get("python") or {}).get("userManagedDependencies")),
            "buildHash": env.build_hash(),
        })  # fmt: skip
    return out


def images(ws: Workspace) -> list[dict[str, Any]]:
    return [
        {
            "id": i.id,
            "name": i.name,
            "version": i.version,
            "state": i.creation_state,
            "location": i.image_location,
            "models": i.model_ids,
            "error": i.error,
            "size": i.size,
            "createdTime": _iso(i.created_time),
        }
        for i in Image.list(ws)
    ]


def error_lines(lines: list[str]) -> list[int]:
    """Indexes of the lines that are an error (shown in red)."""
    return [i for i, line in enumerate(lines) if _ERROR_LINE.search(line)]


def failing_line(lines: list[str], errors: list[int]) -> int | None:
    """The line of a failed build to mark: the last ``Step N/M`` before the first error, or
    the first error when the build failed before the engine's steps (resolving packages)."""
    end = errors[0] if errors else len(lines) - 1
    step = next((i for i in range(end, -1, -1) if _STEP_LINE.match(lines[i])), None)
    return step if step is not None else (errors[0] if errors else None)


def image_log(ws: Workspace, name: str, version: int) -> dict[str, Any]:
    """An image's build log with the error lines and the failing step marked (line indexes)."""
    image = Image(ws, name=name, version=version)
    state = image.creation_state
    path = image.build_log_path
    text = Path(path).read_text(errors="replace") if path and Path(path).exists() else ""
    lines = text.splitlines()
    errors = error_lines(lines)
    failing = finding = None
    if state == "Failed" and lines:
        failing = failing_line(lines, errors)
        failed = dockyard.diagnose(ws, image=image.id).failed
        if failed is not None:
            finding = {"finding": failed.finding, "fix": failed.fix}
    return {"id": image.id, "state": state, "error": image.error, "lines": lines,
            "errorLines": errors, "failingStep": failing, "diagnosis": finding}  # fmt: skip


def services(ws: Workspace) -> list[dict[str, Any]]:
    """Every service with its state, as a list (one target status read per service)."""
    out = []
    for service in Webservice.list(ws):
        out.append(_summary(service))
    return out


def _summary(service: Webservice) -> dict[str, Any]:
    return {
        "name": service.name,
        "state": service.state,
        "computeType": service.compute_type,
        "restartCount": service.restart_count,
        "models": service.models,
    }


def service(ws: Workspace, name: str) -> dict[str, Any]:
    """One service: what ``serialize()`` says, its error (a traceback) and its history."""
    svc = Webservice(ws, name)
    data = svc.serialize()
    data.pop("deploymentConfig", None)
    data["events"] = [
        {"at": _iso(e["at"]), "state": e["state"], "message": e["message"]}
        for e in svc.get_events()[-EVENTS_SHOWN:]
    ]
    return data


def logs(ws: Workspace, name: str, lines: int) -> dict[str, Any]:
    text = Webservice(ws, name).get_logs(num_lines=lines)
    return {"text": text}


def swagger(ws: Workspace, name: str) -> dict[str, Any]:
    """The service's input schema and sample input, from its swagger document (v2)."""
    svc = Webservice(ws, name)
    uri = svc.swagger_uri
    if not uri:
        return {"available": False, "why": f"service {name!r} has no address (state {svc.state})"}
    headers = {}
    auth = svc.authorization_header()
    if auth:
        headers["Authorization"] = auth
    try:
        answer = httpx.get(uri, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        return {"available": False, "why": f"GET {uri} failed: {exc}"}
    if answer.status_code != 200:
        return {"available": False, "why": f"GET {uri} answered {answer.status_code}: "
                f"{answer.text[:300]}"}  # fmt: skip
    document = answer.json()
    schema = (document.get("definitions") or {}).get("ServiceInput") or {}
    sample = schema.get("example", {})
    return {"available": True, "uri": uri, "inputSchema": schema,
            "sample": json.dumps(sample, indent=2)}  # fmt: skip


def metrics(ws: Workspace, name: str, since_s: float) -> dict[str, Any]:
    """The last minute's numbers and the history for the charts, or why there are none."""
    svc = Webservice(ws, name)
    try:
        current = get_service_metrics(svc)
        history = get_service_metrics_history(svc, since_s=since_s)
    except Exception as exc:  # the charts say why; the rest of the page keeps working
        return {"available": False, "why": f"metrics not available: {exc}"}
    return {"available": True, "current": current, "history": history}
