"""``python -m dockyard.server``: run the scoring server (see :func:`dockyard.server.entry.main`)."""

from __future__ import annotations

import sys

from dockyard.server.entry import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
