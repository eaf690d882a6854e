"""dockyard's scoring server: runs a score.py (``init()`` once, ``run()`` per request) over HTTP.

Behaviour-compatible with Microsoft's azureml-inference-server-http (``azmlinfsrv``): the same
routes, status codes, bodies, headers, input modes and environment variables, on a raw ASGI app
served by uvicorn. Entry points:

* ``python -m dockyard.server --entry-script score.py`` / ``dockyard serve ...``
  (:func:`dockyard.server.__main__.main`);
* :func:`dockyard.server.app.create_app` for embedding the ASGI app in another host.

This package imports only the standard library and its HTTP stack (uvicorn, httptools, uvloop):
never dockyard's SDK (SQLAlchemy, Docker, Ray, typer, rich, pydantic).
"""


def main(argv: list[str] | None = None) -> int:
    """Run the scoring server with ``argv`` (the flags of ``dockyard serve --help``; default:
    ``sys.argv[1:]``) until it stops; returns the exit code (``python -m dockyard.server``)."""
    from dockyard.server.__main__ import main as run

    return run(argv)


__all__ = ["main"]
