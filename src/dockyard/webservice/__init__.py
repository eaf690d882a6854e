"""Web services, the user objects: deployment configurations and the ``Webservice`` classes.

* ``config.py``: the deployment configurations (pydantic, Azure's parameter names), each made
  plain by ``to_settings()`` for the deploy flow;
* ``base.py``: ``Webservice``, what every service offers (run, logs, keys, state, the lifecycle
  calls, each one call of :mod:`dockyard.ops.services`);
* ``local.py``, ``container.py``, ``cluster.py``: ``LocalWebservice``,
  ``ContainerWebservice``/``AciWebservice`` and ``ClusterWebservice``/``AksWebservice``
  (Azure's ``deploy_configuration`` for each target); imported here so that
  ``Webservice(ws, name)`` can return the class of the engine a service runs on;
* ``deployment.py``: ``Model.deploy`` and ``Webservice.deploy_from_image`` (models and an
  InferenceConfig become the flow's plain plan; a cluster configuration gets its compute target);
* ``waiting.py``: ``wait_for_deployment``'s loop; ``scoring_client.py``: ``service.run()``;
  ``capacity.py`` (+ ``capacity_rules.py``, ``capacity_sample.py``, ``load_test.py``):
  ``measure_capacity``, a bounded load test that feeds the seed's replica formula;
* ``container_tools.py``: the seed's container paths: ``exec_in_service``, ``open_shell``,
  ``commit_service`` (a running container as a new image version), ``run_image`` (an image
  by hand on 127.0.0.1, ``stop_image``, ``follow_image``, ``launch_config``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from dockyard.ops import records
from dockyard.webservice.base import Webservice
from dockyard.webservice.capacity import CapacityReport, measure_capacity
from dockyard.webservice.cluster import AksWebservice, ClusterWebservice
from dockyard.webservice.config_file import config_from_file
from dockyard.webservice.container import AciWebservice, ContainerWebservice
from dockyard.webservice.container_tools import (
    ImageRun,
    commit_service,
    exec_in_service,
    follow_image,
    launch_config,
    open_shell,
    run_image,
    stop_image,
)
from dockyard.webservice.local import LocalWebservice
from dockyard.webservice.metrics import get_service_metrics, get_service_metrics_history

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


class WebservicesView(Mapping[str, Webservice]):
    """``ws.webservices``: service name -> Webservice (read-only, always current)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def __getitem__(self, name: str) -> Webservice:
        if records.get(self._ws, name) is None:
            raise KeyError(name)
        return Webservice(self._ws, name)

    def __iter__(self) -> Iterator[str]:
        return iter([r.name for r in records.list_all(self._ws)])

    def __len__(self) -> int:
        return len(records.list_all(self._ws))


__all__ = [
    "AciWebservice",
    "AksWebservice",
    "CapacityReport",
    "ClusterWebservice",
    "ContainerWebservice",
    "ImageRun",
    "LocalWebservice",
    "Webservice",
    "WebservicesView",
    "commit_service",
    "config_from_file",
    "exec_in_service",
    "follow_image",
    "get_service_metrics",
    "get_service_metrics_history",
    "launch_config",
    "measure_capacity",
    "open_shell",
    "run_image",
    "stop_image",
]
