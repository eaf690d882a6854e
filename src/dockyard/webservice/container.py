"""``ContainerWebservice`` (alias ``AciWebservice``): a service in a Docker container.

Azure Container Instances' analog, and also what ``LocalWebservice.deploy_configuration(...)``
with ``docker=True`` deploys (Azure's local target is Docker). The seed's split pipeline::

    aci_config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
    service = Webservice.deploy_from_image(deployment_config=aci_config, image=image,
                                           name="mysvc", workspace=ws)
    service.wait_for_deployment(show_output=True)

``Model.deploy`` with a container configuration builds the image first (or reuses an image built
from the same content). CPU and memory limits are the engine's; the port is published on
127.0.0.1. ``update()`` switches to the new version without failed requests and keeps the keys;
``reload()`` (local Docker services) rebuilds the image from the edited score.py (a cached
rebuild takes a second or two) and switches the same way. Every call is the deploy flow of
:mod:`dockyard.ops.services`; how the containers are arranged is in
:mod:`dockyard.targets.docker` and docs/containers.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dockyard.webservice.base import Webservice
from dockyard.webservice.config import ContainerDeploymentConfig, build_config


class ContainerWebservice(Webservice):
    """A web service running in a Docker container (``Webservice(ws, name)`` returns it)."""

    _engine: ClassVar[str] = "docker"

    @staticmethod
    def deploy_configuration(
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool | None = None,
        port: int | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        **kwargs: Any,
    ) -> ContainerDeploymentConfig:
        """Limits and settings of one container: ``cpu_cores`` (default 0.1), ``memory_gb``
        (default 0.5), ``auth_enabled`` (default False), ``port`` on 127.0.0.1 (default: free).
        Cloud-only arguments (``location``, ``ssl_*``, ``dns_name_label``...) are ignored."""
        config = build_config(
            ContainerDeploymentConfig, cpu_cores=cpu_cores, memory_gb=memory_gb, tags=tags,
            properties=properties, description=description, auth_enabled=auth_enabled,
            port=port, primary_key=primary_key, secondary_key=secondary_key, **kwargs,
        )  # fmt: skip
        assert isinstance(config, ContainerDeploymentConfig)
        return config


#: Azure's name for the container target.
AciWebservice = ContainerWebservice

__all__ = ["AciWebservice", "ContainerWebservice"]
