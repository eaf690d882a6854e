"""``python -m dockyard.server`` / ``dockyard serve``: run the scoring server.

Exit codes: 0 after a clean stop, 2 for a bad setting (one line naming the flag or variable),
3 when importing score.py or its ``init()`` fails (the traceback and the model folder are logged).
"""

from __future__ import annotations

import sys

from dockyard.server import contract


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (flags as in ``dockyard serve --help``), then serve until stopped."""
    import os

    zygote_fd = os.environ.pop(contract.ZYGOTE_FD_ENV, None)
    if zygote_fd:  # started by the local supervisor as a warm parent (see zygote.py)
        from dockyard.server.zygote import run

        return run(int(zygote_fd))
    from dockyard.server.settings import SettingsError, load_settings

    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as exc:
        print(f"dockyard serve: bad setting: {exc}", file=sys.stderr)
        return 2
    from dockyard.server.serve import serve

    try:
        return serve(settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
