"""``LocalWebservice``: a service on this machine, as supervised processes (no Docker needed), or
in a Docker container with ``deploy_configuration(docker=True)`` (Azure's local target).

The seed guide's "debug locally" story: deploy, ``run``, edit score.py, ``reload()``, ``run`` again
and see the change; ``update()`` to new models or environment on the same port; ``get_logs()``;
``delete()``. Every call is the deploy flow of :mod:`dockyard.ops.services`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dockyard.webservice.base import Webservice
from dockyard.webservice.config import LocalDeploymentConfig, build_config


class LocalWebservice(Webservice):
    """A web service running on this machine."""

    _engine: ClassVar[str] = "local"

    @staticmethod
    def deploy_configuration(port: int | None = None, **kwargs: Any) -> LocalDeploymentConfig:
        """Where the local service listens (a free port when ``port`` is None); ``docker=True``
        runs it in a container built from the same content."""
        config = build_config(LocalDeploymentConfig, port=port, **kwargs)
        assert isinstance(config, LocalDeploymentConfig)
        return config
