"""The supervisor of one local service: a small background process that outlives the caller.

Run as ``python -m dockyard.targets.supervisor SERVICE_DIR``. It

* binds the service's port once (127.0.0.1) and hands the listening socket to the scoring-server
  processes it starts (``DOCKYARD_LISTEN_FD``), so that the port is kept across restarts, reloads
  and updates, and a new version can start beside the old one on the same port;
* knows a server is ready when it writes its ready file (``DOCKYARD_READY_FILE``, after
  ``init()``), and only then calls the service ``Healthy``;
* restarts a server that dies: exit code 3 (import or ``init()`` failed) means
  ``CrashLoopBackOff`` with exponential back-off; a bad configuration (any other non-zero exit
  before readiness, e.g. 2) means ``Failed``, no restart; a server killed after it was ready is
  restarted at once and the restart count grows;
* probes ``/health/ready`` while running and reports ``Unhealthy`` when nothing answers;
* on SIGHUP, starts the version described in ``deployment.next.json`` beside the running one,
  switches when it is ready, then stops the old one (no failed request); if the new version
  fails, the old one keeps serving and ``status.json`` says why;
* while no version serves, answers the port itself so that no client hangs: at once with 503,
  the state and the command that shows why once a start has failed (``CrashLoopBackOff``, also
  while a back-off retry runs ``init()`` again, and ``Failed``); during a start, connections wait
  for the server as they would for azmlinfsrv, and get 503 only once they have waited longer
  than ``DOCKYARD_STARTUP_REQUEST_WAIT_S``;
* on SIGTERM, stops its servers and exits.

Files in SERVICE_DIR: ``deployment.json`` (what runs), ``deployment.next.json`` (what to switch
to), ``status.json`` (written atomically by this process only), ``server.log`` (the servers'
stdout and stderr, and this process's own lines prefixed ``[dockyard]``).

Nothing here knows about the workspace's database: the SDK reads ``status.json`` and records
state changes in the store.

One job per module, read in this order:

* ``loop.py``: the loop; it owns the service's state and ``status.json`` and composes the rest;
* ``files.py``: the files above (names, atomic writes, reading specs and status, a log's tail);
* ``log.py``: ``server.log``: the supervisor's own lines, rotation, a generation's own output;
* ``port.py``: binding the port, and answering it with 503 while no version serves;
* ``spawn.py``: starting a generation's servers, cold or forked from the warm parent;
* ``warm.py``: the client of the warm parent (``dockyard.server.zygote``);
* ``generations.py``: a started generation: ready or exited, stopping, retiring after a switch;
* ``health.py``: the readiness probe (``Unhealthy`` and back);
* ``crash.py``: what a server's exit means: the next state, the back-off, the error text.

Importing this package imports only ``files.py`` (the local target reads the files without
loading the loop).
"""

from __future__ import annotations

from dockyard.targets.supervisor.files import (
    LOG_FILE,
    NEXT_SPEC_FILE,
    SPEC_FILE,
    STATUS_FILE,
    read_status,
    tail,
    write_json_atomic,
)

__all__ = [
    "LOG_FILE",
    "NEXT_SPEC_FILE",
    "SPEC_FILE",
    "STATUS_FILE",
    "read_status",
    "tail",
    "write_json_atomic",
]
