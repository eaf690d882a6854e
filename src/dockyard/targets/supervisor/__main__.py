"""``python -m dockyard.targets.supervisor SERVICE_DIR``: run one service's supervisor.

The local target finds a running supervisor by this module name and the folder in its command line.
"""

from __future__ import annotations

import sys

from dockyard.targets.supervisor.loop import main

if __name__ == "__main__":
    sys.exit(main())
