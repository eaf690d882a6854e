"""What the rest of dockyard may rely on about the scoring-server process, in one place.

Targets (local processes, Docker, Ray) and builders start the server in every deployment; they
talk to it only through what is named here: environment variables, inherited file descriptors,
the ready file, exit codes, the readiness route and the in-container defaults. The server reads
these names from here too, so a rename is one edit. Standard library only: it is imported by the
server inside every image.
"""

from __future__ import annotations

# --- Azure ML's variables (azmlinfsrv reads the same names) -----------------------------------------
#: The scoring script, relative to the app root (a flag may give an absolute path instead).
ENTRY_SCRIPT_ENV = "AZUREML_ENTRY_SCRIPT"
#: The model folder as Azure ML v1 sets it: ``azureml-models/<name>/<version>``, or
#: ``azureml-models`` for several models, relative to the app root; passed to the script unchanged.
MODEL_DIR_ENV = "AZUREML_MODEL_DIR"
#: The app root: the server's working directory (``/var/azureml-app`` in images).
APP_ROOT_ENV = "AML_APP_ROOT"
#: The user's source directory, relative to the app root.
SOURCE_DIRECTORY_ENV = "AZUREML_SOURCE_DIRECTORY"
SCORING_TIMEOUT_ENV = "SCORING_TIMEOUT_MS"
WORKER_COUNT_ENV = "WORKER_COUNT"
SERVICE_NAME_ENV = "SERVICE_NAME"
#: azmlinfsrv's debugger mode: the server dials out to an IDE listening on this port.
DEBUG_PORT_ENV = "AZUREML_DEBUG_PORT"

# --- dockyard's own settings ------------------------------------------------------------------
#: A JSON file ``{"primaryKey": ..., "secondaryKey": ...}``: key auth is on when it is set.
KEYS_FILE_ENV = "DOCKYARD_KEYS_FILE"
#: ``token``: accept only tokens signed with the keys (Azure's ``token_auth_enabled``), not keys.
AUTH_MODE_ENV = "DOCKYARD_AUTH_MODE"
MAX_CONCURRENT_REQUESTS_ENV = "DOCKYARD_MAX_CONCURRENT_REQUESTS"
MAX_REQUEST_WAIT_TIME_ENV = "DOCKYARD_MAX_REQUEST_WAIT_TIME_MS"
#: Error details (exception, traceback) in 500 answers.
DEBUG_RESPONSES_ENV = "DOCKYARD_DEBUG"
#: Fail the start (exit 3) when import + init() take longer than this many seconds.
STARTUP_TIMEOUT_ENV = "DOCKYARD_STARTUP_TIMEOUT_S"
#: How long a request sent during init() waits for it before 503 (``0``: 503 at once).
STARTUP_REQUEST_WAIT_ENV = "DOCKYARD_STARTUP_REQUEST_WAIT_S"
#: The seed's ptvsd recipe: debugpy listens on ``HOST:PORT`` and waits for an IDE.
#: Metrics (``GET /metrics``): ``0`` turns them off; the ring file worker 0 samples the totals
#: into (a path the server can write), and the seconds between two samples (default 10).
METRICS_ENV = "DOCKYARD_METRICS"
METRICS_HISTORY_ENV = "DOCKYARD_METRICS_HISTORY"
METRICS_INTERVAL_ENV = "DOCKYARD_METRICS_INTERVAL_S"
METRICS_PATH = "/metrics"
DEBUGPY_LISTEN_ENV = "DOCKYARD_DEBUGPY_LISTEN"
DEBUGPY_WAIT_ENV = "DOCKYARD_DEBUGPY_WAIT_S"
#: The debugger option (``debugger_port``): the port the IDE attaches to on 127.0.0.1 by default,
#: where debugpy listens inside a container (published on 127.0.0.1:<debugger_port>), and how
#: long the server waits for an IDE before it starts without one.
DEBUGGER_DEFAULT_PORT = 5678
DEBUGGER_CONTAINER_PORT = 5678
DEBUGGER_DEFAULT_WAIT_S = 30.0
#: Where the IDE reaches the listener when that is not the listening address (a container's
#: published ``127.0.0.1:PORT``): the server names it in its log.
DEBUGPY_PUBLISHED_ENV = "DOCKYARD_DEBUGPY_PUBLISHED"
#: A path that stays the same across versions (a cluster replica's files are unpacked in a new
#: folder each time): the server links it to its app root and runs there, so that the IDE's
#: path mappings stay valid.
DEBUGPY_APP_ROOT_ENV = "DOCKYARD_DEBUGPY_APP_ROOT"

# --- between the local supervisor and its servers ---------------------------------------------
#: An inherited listening socket to serve on (the supervisor holds the port across restarts);
#: a server given one accepts connections only after its init().
LISTEN_FD_ENV = "DOCKYARD_LISTEN_FD"
#: A path the server creates once it accepts connections after init(), holding JSON
#: ``{"pid": int, "modules": [names of the third-party modules it imported]}``.
READY_FILE_ENV = "DOCKYARD_READY_FILE"
#: The warm parent (``python -m dockyard.server --zygote``): its socket pair with the supervisor,
#: and the modules it imports before forking servers.
ZYGOTE_FD_ENV = "DOCKYARD_ZYGOTE_FD"
ZYGOTE_PRELOAD_ENV = "DOCKYARD_ZYGOTE_PRELOAD"

# --- exit codes -------------------------------------------------------------------------------
EXIT_OK = 0
#: A bad setting (flag, variable, config.json, port in use): restarting would not help (Failed).
EXIT_BAD_SETTINGS = 2
#: Import of the script or its init() failed: restart with back-off (CrashLoopBackOff).
EXIT_SCRIPT_FAILED = 3

# --- routes and defaults ----------------------------------------------------------------------
READINESS_PATH = "/health/ready"
LIVENESS_PATH = "/health/live"
SCORE_PATH = "/score"
SWAGGER_PATH = "/swagger.json"
#: The port and app root inside an image (azmlinfsrv's).
CONTAINER_PORT = 5001
CONTAINER_APP_ROOT = "/var/azureml-app"
