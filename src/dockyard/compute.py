"""Compute targets, the user objects: Azure ML v1's ``ComputeTarget`` API over Ray clusters.

v1 code that creates or attaches an AKS cluster runs after changing its imports::

    from dockyard import AksCompute, ComputeTarget

    config = AksCompute.provisioning_configuration(agent_count=3, vm_size="Standard_D3_v2")
    target = ComputeTarget.create(ws, "aks-1", config)   # a local Ray cluster dockyard owns
    target.wait_for_completion(show_output=True)
    target = ComputeTarget(ws, "aks-1")                  # from any process, later
    target.delete()                                      # stops exactly what was started

``RayCompute`` is dockyard's name (``AksCompute`` is the same class). *Create* starts a local Ray
cluster with Ray Serve that outlives the creating process; *attach* records the address of a
cluster someone else runs (``host:port`` of its GCS, or ``ray://host:port``), which dockyard never
stops. Azure-only parameters (VM sizes, resource groups ...) are accepted and said once.
Each call is one operation of :mod:`dockyard.ops.computes`.
"""

from __future__ import annotations

import builtins
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dockyard.errors import DockyardError, NotFoundError, ValidationError
from dockyard.ops import computes

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

log = logging.getLogger(__name__)

_SAID: set[str] = set()
_PROVISIONING_MEANING = "a local Ray cluster runs on this machine (num_cpus sets its size)"
_ATTACH_MEANING = "dockyard attaches a Ray cluster by its address (address='HOST:PORT')"


class ComputeTargetException(DockyardError):
    """Azure's ``ComputeTargetException``: a compute target call failed (v1 code catches it)."""


class ComputeTargetNotFoundError(NotFoundError, ComputeTargetException):
    """``ComputeTarget(ws, name)`` found no compute target of that name."""


def _say_once(call: str, given: dict[str, Any], meaning: str) -> None:
    for key in sorted(k for k, v in given.items() if v is not None):
        if f"{call}.{key}" not in _SAID:
            _SAID.add(f"{call}.{key}")
            log.warning("%s: %s=%r has no meaning here: %s", call, key, given[key], meaning)


@dataclass(frozen=True)
class RayProvisioningConfiguration:
    """What ``ComputeTarget.create`` starts: a local Ray cluster of ``num_cpus`` CPUs (default:
    the machine's cores) with Ray Serve's HTTP proxy on ``serve_port`` (default: a free port)."""

    num_cpus: float | None = None
    serve_port: int | None = None
    default: bool = False
    ignored: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RayAttachConfiguration:
    """What ``ComputeTarget.attach`` records: the cluster's address, where its Serve proxy
    listens, and (optionally) its dashboard."""

    address: str
    serve_port: int = computes.DEFAULT_SERVE_PORT
    serve_host: str | None = None
    dashboard_url: str | None = None
    default: bool = False
    ignored: dict[str, Any] = field(default_factory=dict)


class ComputeTarget:
    """A compute target of the workspace. ``ComputeTarget(ws, name)`` gets it (a
    :class:`RayCompute`); a missing name raises :class:`ComputeTargetNotFoundError`."""

    type = "Ray"

    def __new__(cls, workspace: Workspace | None = None, name: str | None = None) -> Any:
        return super().__new__(RayCompute if cls is ComputeTarget else cls)

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        self._record = self._load()

    def _load(self) -> computes.ComputeRecord:
        record = computes.get(self.workspace, self.name)
        if record is None:
            known = ", ".join(r.name for r in computes.list_all(self.workspace)) or "none"
            raise ComputeTargetNotFoundError(
                f"There is no compute target named {self.name!r} in workspace "
                f"{self.workspace.name!r} (compute targets: {known})",
                hint="check the name with `dockyard compute list`, or create it: "
                "`dockyard compute create NAME`",
            )
        return record

    @classmethod
    def _wrap(cls, workspace: Workspace, record: computes.ComputeRecord) -> RayCompute:
        target = object.__new__(RayCompute)
        target.workspace, target.name, target._record = workspace, record.name, record
        return target

    # --- create, attach, list -------------------------------------------------------------------
    @staticmethod
    def create(workspace: Workspace, name: str, provisioning_configuration: Any) -> RayCompute:
        """Start a local Ray cluster (with Ray Serve) that dockyard owns, as compute target
        ``name``; it outlives this process and :meth:`delete` stops it."""
        config = provisioning_configuration
        if not isinstance(config, RayProvisioningConfiguration):
            raise ValidationError(
                f"provisioning_configuration must come from RayCompute.provisioning_configuration(), "
                f"not {type(config).__name__}",
                hint="pass what RayCompute's provisioning configuration call returns "
                "(docs/cluster.md)",
            )
        record = computes.create(
            workspace,
            name,
            num_cpus=config.num_cpus,
            serve_port=config.serve_port,
            default=config.default,
            progress=log.info,
        )
        return ComputeTarget._wrap(workspace, record)

    @staticmethod
    def attach(workspace: Workspace, name: str, attach_configuration: Any) -> RayCompute:
        """Record the Ray cluster at ``attach_configuration.address`` as compute target ``name``
        (after checking that it answers). dockyard never stops an attached cluster."""
        config = attach_configuration
        if not isinstance(config, RayAttachConfiguration):
            raise ValidationError(
                f"attach_configuration must come from RayCompute.attach_configuration(), "
                f"not {type(config).__name__}",
                hint="pass what RayCompute's attach configuration call returns (docs/cluster.md)",
            )
        record = computes.attach(
            workspace,
            name,
            config.address,
            serve_port=config.serve_port,
            serve_host=config.serve_host,
            dashboard_url=config.dashboard_url,
            default=config.default,
            progress=log.info,
        )
        return ComputeTarget._wrap(workspace, record)

    @staticmethod
    def list(workspace: Workspace) -> builtins.list[RayCompute]:
        """Every compute target of the workspace, by name."""
        return [ComputeTarget._wrap(workspace, r) for r in computes.list_all(workspace)]

    # --- state ----------------------------------------------------------------------------------
    def refresh_state(self) -> None:
        self._record = self._load()

    @property
    def provisioning_state(self) -> str:
        """Azure's provisioning state: ``Creating``, ``Succeeded`` or ``Failed``."""
        return self._record.state

    @property
    def provisioning_errors(self) -> builtins.list[str] | None:
        error = self._record.details.get("error")
        return [str(error)] if error else None

    @property
    def provisioning(self) -> str:
        """``created`` (dockyard started the cluster) or ``attached``."""
        return self._record.provisioning

    @property
    def owned(self) -> bool:
        return self._record.owned

    @property
    def is_default(self) -> bool:
        return bool(self._record.details.get("default"))

    @property
    def address(self) -> str | None:
        return self._record.address

    @property
    def serve_port(self) -> int | None:
        return self._record.serve_port

    def wait_for_completion(
        self, show_output: bool = False, is_delete_operation: bool = False, timeout_sec: float = 600
    ) -> None:
        """Wait (at most ``timeout_sec``) until the target is no longer ``Creating``; with
        ``show_output``, print its history. Raises :class:`ComputeTargetException` when it
        failed."""
        if is_delete_operation:
            return  # delete() finishes before it returns
        deadline = time.monotonic() + timeout_sec
        while self.provisioning_state == computes.CREATING and time.monotonic() < deadline:
            time.sleep(1)
            self.refresh_state()
        if show_output:
            for event in self._record.details.get("events") or []:
                print(f"  {event.get('at')}: {event.get('message')}", file=sys.stderr, flush=True)
            print(f"{self.name}: {self.provisioning_state}", file=sys.stderr, flush=True)
        if self.provisioning_state == computes.CREATING:
            raise ComputeTargetException(
                f"Compute target {self.name!r} is still being created after {timeout_sec:.0f} s",
                hint=f"wait longer, or look at it: dockyard compute show {self.name}",
            )
        if self.provisioning_state == computes.FAILED:
            raise ComputeTargetException(
                f"Compute target {self.name!r} failed: {self._record.details.get('error')}",
                hint=f"delete it (dockyard compute delete {self.name}) and create it again",
            )

    def get_status(self) -> Any:
        """How the cluster is now: ``alive``, ``nodes``, ``cpus``, ``ray_version`` and, when it
        is down, ``error`` (bounded: a cluster that does not answer is reported, not waited for)."""
        return computes.status(self.workspace, self.name)

    def set_default(self) -> None:
        """Make this the workspace's default compute target: cluster services that name none
        go there."""
        self._record = computes.set_default(self.workspace, self.name)

    def processes(self) -> builtins.list[int]:
        """The pids of the processes of a cluster dockyard started (none for an attached one)."""
        return computes.processes(self.workspace, self.name)

    def serialize(self) -> dict[str, Any]:
        record = self._record
        created = record.created_at
        return {
            "name": record.name,
            "computeType": self.type,
            "provisioning": record.provisioning,
            "provisioningState": record.state,
            "provisioningErrors": self.provisioning_errors,
            "address": record.address,
            "serveHost": record.details.get("serve_host"),
            "servePort": record.serve_port,
            "dashboardUrl": record.details.get("dashboard_url"),
            "rayVersion": record.details.get("ray_version"),
            "numCpus": record.details.get("num_cpus") or record.details.get("cpus"),
            "isDefault": self.is_default,
            "folder": record.folder,
            "createdOn": created.isoformat() if hasattr(created, "isoformat") else created,
        }

    # --- delete ---------------------------------------------------------------------------------
    def delete(self) -> None:
        """Remove the compute target; a cluster dockyard started is stopped (exactly its own
        processes), an attached one is only forgotten."""
        computes.delete(self.workspace, self.name, progress=log.info)

    def detach(self) -> None:
        """Forget an attached cluster (it runs on). A cluster dockyard started is stopped by
        :meth:`delete` instead: detaching it would leave its processes without a record."""
        if self.owned:
            raise ValidationError(
                f"Compute target {self.name!r} is a cluster dockyard started; detach() would "
                "leave its processes running with no record of them",
                hint=f"stop and remove it: `dockyard compute delete {self.name}` (in Python, the "
                "target's delete method)",
            )
        self.delete()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, "
            f"provisioning={self.provisioning!r}, state={self.provisioning_state!r}, "
            f"address={self.address!r})"
        )


class RayCompute(ComputeTarget):
    """A Ray cluster as a compute target (``AksCompute`` is the same class)."""

    @staticmethod
    def provisioning_configuration(
        num_cpus: float | None = None,
        serve_port: int | None = None,
        default: bool = False,
        **azure: Any,
    ) -> RayProvisioningConfiguration:
        """A local cluster of ``num_cpus`` CPUs (default: the machine's cores), Ray Serve on
        ``serve_port`` (default: a free port); ``default=True`` makes it the workspace's cluster
        for services that name none. Azure's parameters (agent_count, vm_size, location,
        cluster_purpose ...) are accepted and said once."""
        _say_once("provisioning_configuration", azure, _PROVISIONING_MEANING)
        return RayProvisioningConfiguration(num_cpus, serve_port, default, dict(azure))

    @staticmethod
    def attach_configuration(
        address: str | None = None,
        serve_port: int = computes.DEFAULT_SERVE_PORT,
        serve_host: str | None = None,
        dashboard_url: str | None = None,
        default: bool = False,
        **azure: Any,
    ) -> RayAttachConfiguration:
        """The Ray cluster at ``address`` (``HOST:PORT`` of its GCS, or ``ray://HOST:PORT``),
        its Serve proxy on ``serve_host:serve_port`` (default: the address's host, port 8000).
        Azure's parameters (resource_group, cluster_name, resource_id ...) are accepted and said
        once."""
        _say_once("attach_configuration", azure, _ATTACH_MEANING)
        if not address:
            raise ValidationError(
                "attach_configuration needs the Ray cluster's address"
                + (f" ({', '.join(sorted(azure))} name an Azure cluster)" if azure else ""),
                hint="give the address of the cluster's GCS (HOST:6379) or of its Ray Client "
                "server (ray://HOST:10001)",
            )
        return RayAttachConfiguration(
            address, serve_port, serve_host, dashboard_url, default, dict(azure)
        )


AksCompute = RayCompute


def compute_targets(ws: Workspace) -> dict[str, ComputeTarget]:
    """``ws.compute_targets``: compute target name -> :class:`ComputeTarget`."""
    return {target.name: target for target in ComputeTarget.list(ws)}


#: What ``Workspace._VIEWS`` looks for (``"compute_targets": "dockyard.compute"``).
workspace_view = compute_targets

__all__ = [
    "AksCompute",
    "ComputeTarget",
    "ComputeTargetException",
    "ComputeTargetNotFoundError",
    "RayAttachConfiguration",
    "RayCompute",
    "RayProvisioningConfiguration",
    "compute_targets",
    "workspace_view",
]
