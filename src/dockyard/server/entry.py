"""The scoring server's entry point: ``python -m dockyard.server`` and ``dockyard serve`` call :func:`main`.

Exit codes (:mod:`dockyard.server.contract`): 0 after a clean stop, 2 for a bad setting (one line
naming the flag or variable), 3 when importing score.py or its ``init()`` fails (the traceback
and the model folder are logged), 130 after Ctrl-C.

Started with ``DOCKYARD_ZYGOTE_FD`` by dockyard's local supervisor, the process becomes the
service's warm parent instead (:mod:`dockyard.server.zygote`), which forks servers that each run
:func:`main` with the arguments the supervisor sends.
"""

from __future__ import annotations

import os
import sys

from dockyard.server import contract, zygote
from dockyard.server.serve import serve
from dockyard.server.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (flags as in ``dockyard serve --help``), then serve until stopped."""
    zygote_fd = os.environ.pop(contract.ZYGOTE_FD_ENV, None)
    if zygote_fd:  # started by the local supervisor as a warm parent
        return zygote.run(int(zygote_fd), main)
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as exc:
        print(f"dockyard serve: bad setting: {exc}", file=sys.stderr)
        return contract.EXIT_BAD_SETTINGS
    try:
        return serve(settings)
    except KeyboardInterrupt:
        return 130
