"""``dockyard ui``: a local web dashboard over the SDK (the same calls users make).

* ``access.py``: the access token (printed at start, like Jupyter's; then a cookie), and the
  refusal of other hosts and origins (no CORS);
* ``reads.py``: models, environments, images (with the failing step of a build log), services
  (state, events, logs, swagger sample, metrics) as plain JSON-ready dicts;
* ``actions.py``: the safe actions (score a request, reveal keys, reload, restart, delete,
  diagnose);
* ``log_stream.py``: a service's log followed as server-sent events;
* ``routes.py`` and ``app.py``: the Starlette application (every SDK call runs in a thread, so a
  slow call never blocks the server); ``server.py``: uvicorn on 127.0.0.1 and the printed URL;
* ``static/``: the page, its scripts (``dom.js``, ``service.js``, ``app.js``) and its style,
  shipped in the package: nothing is loaded from the internet.
"""

from __future__ import annotations

from dockyard.ui.app import create_app
from dockyard.ui.server import serve

__all__ = ["create_app", "serve"]
