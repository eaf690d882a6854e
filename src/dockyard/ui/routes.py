"""The dashboard's HTTP routes: the page and its files, and a JSON API over the SDK.

Every SDK call runs in a worker thread (``run_in_threadpool``): a slow target or a long
diagnosis never blocks the other requests. Errors of the SDK become JSON answers with the
error's own HTTP status (``DockyardError.http_status``), its message and what to do.

=============================================  ==============================================
``GET /``                                      the page (``static/index.html``)
``GET /static/...``                            its script and style
``GET /api/workspace|models|environments``     the workspace, its models and environments
``GET /api/images``, ``.../{name}/{version}``  images; one image's build log, failing step marked
``GET /api/services``, ``.../{name}``          services; one service with its events
``GET /api/services/{name}/logs``              the log followed (server-sent events)
``GET /api/services/{name}/swagger|metrics``   the test form's sample; the charts' numbers
``POST /api/services/{name}/score``            ``service.run(body)``
``POST /api/services/{name}/keys``             the keys (only when asked for)
``POST /api/services/{name}/reload|restart``   ``reload()``; ``stop()`` then ``start()``
``POST /api/services/{name}/delete``           ``delete()`` (body ``{"confirm": NAME}``)
``POST /api/services/{name}/diagnose``         ``dockyard.diagnose(ws, name)``
=============================================  ==============================================
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dockyard import Webservice, Workspace
from dockyard.errors import DockyardError
from dockyard.ui import actions, log_stream, reads

STATIC = Path(__file__).parent / "static"
#: How many log lines the service page starts with.
LOG_TAIL = 10_000
Handler = Callable[[Request], Awaitable[Response]]


async def _call(function: Callable[..., Any], *args: Any) -> Response:
    try:
        return JSONResponse(await run_in_threadpool(function, *args))
    except DockyardError as exc:
        return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=exc.http_status)


def _name(request: Request) -> str:
    return str(request.path_params["name"])


def routes(ws: Workspace) -> list[Route | Mount]:
    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    def read(function: Callable[[Workspace], Any]) -> Handler:
        async def handler(request: Request) -> Response:
            return await _call(function, ws)

        return handler

    def per_service(function: Callable[..., Any]) -> Handler:
        async def handler(request: Request) -> Response:
            return await _call(function, ws, _name(request))

        return handler

    async def image_log(request: Request) -> Response:
        name, version = str(request.path_params["name"]), int(request.path_params["version"])
        return await _call(reads.image_log, ws, name, version)

    async def logs(request: Request) -> Response:
        name = _name(request)
        tail = int(request.query_params.get("tail", LOG_TAIL))
        read_lines = partial(_read_logs, ws, name)
        return StreamingResponse(
            log_stream.follow(read_lines, tail),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    async def metrics(request: Request) -> Response:
        since = float(request.query_params.get("since_s", 3600))
        return await _call(reads.metrics, ws, _name(request), since)

    async def score(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        return await _call(actions.score, ws, _name(request), body)

    async def delete(request: Request) -> Response:
        data = await _json(request)
        return await _call(actions.delete, ws, _name(request), str(data.get("confirm", "")))

    service = "/api/services/{name}"
    return [
        Route("/", index),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/api/workspace", read(reads.workspace_info)),
        Route("/api/models", read(reads.models)),
        Route("/api/environments", read(reads.environments)),
        Route("/api/images", read(reads.images)),
        Route("/api/images/{name}/{version:int}", image_log),
        Route("/api/services", read(reads.services)),
        Route(service, per_service(reads.service)),
        Route(f"{service}/logs", logs),
        Route(f"{service}/swagger", per_service(reads.swagger)),
        Route(f"{service}/metrics", metrics),
        Route(f"{service}/score", score, methods=["POST"]),
        Route(f"{service}/keys", per_service(actions.keys), methods=["POST"]),
        Route(f"{service}/reload", per_service(actions.reload), methods=["POST"]),
        Route(f"{service}/restart", per_service(actions.restart), methods=["POST"]),
        Route(f"{service}/delete", delete, methods=["POST"]),
        Route(f"{service}/diagnose", per_service(actions.diagnose), methods=["POST"]),
    ]


def _read_logs(ws: Workspace, name: str, lines: int) -> str:
    return Webservice(ws, name).get_logs(num_lines=lines)


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
