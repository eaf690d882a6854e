"""`ray start` for a worker node whose every listener is on 127.0.0.1 (Ray 2.60).

Run as ``python3 join.py --address=127.0.0.1:PORT --node-ip-address=127.0.0.1 ...`` (the flags of
``ray start`` for a worker node). Ray keeps a node on 127.0.0.1 only with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (otherwise it replaces a loopback node address by the
machine's outside address and binds there), but with that setting ``ray start --address`` refuses
to join a cluster ("Multi-node Ray clusters are not supported on Windows and OSX"). The flag is
read in two places only: that refusal, and ``services.get_node_ip_address``. This launcher keeps
the setting for every process the node starts (raylet, agents, workers inherit the environment)
and, in this process only, lifts the refusal while a loopback address still resolves to loopback.
"""

import os
import sys

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray is imported; children inherit it

from ray._private import ray_constants, services  # noqa: E402
from ray.scripts.scripts import main  # noqa: E402

ray_constants.ENABLE_RAY_CLUSTER = True  # this process: let `ray start --address` join
services.node_ip_address_from_perspective = lambda address=None: services.get_localhost_ip()

if __name__ == "__main__":
    sys.argv = ["ray", "start", *sys.argv[1:]]
    main()
