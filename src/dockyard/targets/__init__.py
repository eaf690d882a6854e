"""Targets: one module per engine behind one interface (:class:`dockyard.targets.base.Target`).

* :mod:`dockyard.targets.local`: supervised processes on this machine (:mod:`.supervisor`);
* :mod:`dockyard.targets.docker`: containers on a Docker engine (holder + server containers);
* :mod:`dockyard.targets.ray`: Ray Serve applications on a Ray cluster (autoscaling replicas).

:func:`target_for` is the only place that maps an engine's name to its class. Adding an engine is
one module here (its class, its client and its error translation) and its tests.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.targets.base import Target

ENGINES = ("local", "docker", "ray")


def target_for(engine: str, scope: str = "") -> Target:
    """The target that runs services on ``engine``, for the workspace ``scope``."""
    if engine == "local":
        from dockyard.targets.local import LocalTarget  # keeps `import dockyard.targets` light

        return LocalTarget(scope)
    if engine == "docker":
        from dockyard.targets.docker import DockerTarget  # the Docker SDK only when used

        return DockerTarget(scope)
    if engine == "ray":
        from dockyard.targets.ray import RayTarget  # Ray's client only when used

        return RayTarget(scope)
    from dockyard.errors import ValidationError  # importing the supervisor's package stays minimal

    raise ValidationError(
        f"No target named {engine!r} in this dockyard (known: {', '.join(ENGINES)})",
        hint="deploy on this machine (local), in Docker (a container configuration) or on a Ray "
        "cluster (a cluster configuration) instead",
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Can a listener bind ``host:port`` now?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int, scope: str = "") -> str | None:
    """The dockyard service (of any engine that answers) holding ``port``, as a sentence."""
    for engine in ENGINES:
        try:
            owner = target_for(engine, scope).port_owner(port)
        except Exception:  # noqa: BLE001 - an engine that is not running holds no port
            continue
        if owner:
            return owner
    return None
