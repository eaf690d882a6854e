"""dockyard's scoring server: runs a score.py (``init()`` once, ``run()`` per request) over HTTP.

Behaviour-compatible with Microsoft's azureml-inference-server-http (``azmlinfsrv``): the same
routes, status codes, bodies, headers, input modes and environment variables, on a raw ASGI app
served by uvicorn. Entry points:

* ``python -m dockyard.server --entry-script score.py`` / ``dockyard serve ...`` /
  :func:`dockyard.server.main` (all three run :func:`dockyard.server.entry.main`);
* :func:`dockyard.server.app.create_app` for embedding the ASGI app in another host.

The modules, by job:

* the contract with the rest of dockyard (env names, fds, ready file, exit codes): ``contract``;
* settings: ``settings`` (the one :class:`~dockyard.server.settings.Settings` object and
  ``load_settings``), ``command_line`` (the flags), ``config_file`` (azmlinfsrv's config.json),
  ``conversions`` (one raw value to a number or boolean), ``script_environment`` (what the script
  finds in ``os.environ``);
* processes: ``entry`` (``main``) -> ``serve`` (logging, banner, socket) -> ``worker`` (one
  process: event-loop thread + main thread) or ``worker_pool`` (several, forked); ``banner``;
  ``zygote`` (the warm parent for fast restarts) and ``module_scan`` (what it should preload);
  ``unready`` (503 on a socket no server accepts from); ``debugging`` (debugpy);
  ``failure_report`` (the story of a failed start, for the targets);
* requests: ``app`` (the ASGI app: a router, start-up, lifespan) -> ``routing`` (path -> route,
  404) -> ``score_route``, ``probe_routes``, ``swagger_route``, each answering through the one
  ``responder``; ``wire`` (header constants, request ids, generic bodies); ``auth``, ``cors``,
  ``limits`` (the run() slots), ``executor`` (where run() runs, the scoring timeout), ``logs``;
* metrics: ``metrics`` (each worker's counters in shared memory, summed at scrape time),
  ``metrics_route`` (``GET /metrics``), ``metrics_text`` (the Prometheus text format, both
  ways), ``metrics_history`` (the ring file the first worker samples into);
* the script: ``user_script`` (import, ``init()``), ``run_input`` (request -> run()'s arguments),
  ``request`` and ``datastructures`` (the ``@rawhttp`` request object), ``run_output``
  (``AMLResponse``, run()'s value -> bytes), ``swagger`` (the OpenAPI documents), ``compat``
  (the ``azureml.*`` stand-ins).

This package imports only the standard library and its HTTP stack (uvicorn, httptools, uvloop):
never dockyard's SDK (SQLAlchemy, Docker, Ray, typer, rich, pydantic).
"""


def main(argv: list[str] | None = None) -> int:
    """Run the scoring server with ``argv`` (the flags of ``dockyard serve --help``; default:
    ``sys.argv[1:]``) until it stops; returns the exit code (``python -m dockyard.server``)."""
    from dockyard.server.entry import main as run  # here: ``import dockyard.server`` stays light

    return run(argv)


__all__ = ["main"]
