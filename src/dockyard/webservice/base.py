"""``Webservice``: a deployed model you can call, watch, reload, update and delete.

``Webservice(ws, name)`` returns the object for an existing service, of the class that matches
where it runs (``LocalWebservice``, ``ContainerWebservice``/``AciWebservice``,
``ClusterWebservice``/``AksWebservice``), as Azure ML v1 does. Its ``state`` is read live from
the target and every change is recorded in the workspace store, so the SDK, the CLI and another
terminal all see the same truth.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dockyard.assets.filters import filters, matches
from dockyard.assets.inference import InferenceConfig
from dockyard.errors import DeploymentError, WebserviceError
from dockyard.ops import keys, records, services
from dockyard.ops.debugger import launch_config
from dockyard.targets.base import HEALTHY, TRANSITIONING, TargetStatus
from dockyard.webservice import next_steps, scoring_client
from dockyard.webservice.config import config_from_record
from dockyard.webservice.deployment import (
    deploy,
    deploy_from_image,
    reload_plan,
    settings_of,
    update_plan,
)
from dockyard.webservice.service_logs import (
    REQUEST_LOG_SEARCH_LINES,
    follow,
    request_lines,
)
from dockyard.webservice.waiting import wait_until_healthy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dockyard.workspace import Workspace


class Webservice:
    """A web service in a workspace. Use ``Webservice(ws, name)`` to get an existing one.

    Every lifecycle call (``update``, ``reload``, ``start``, ``stop``, ``delete``) is one call of
    the deploy flow (:mod:`dockyard.ops.services`), the same for every target; the subclasses
    (``LocalWebservice``, ``ContainerWebservice``) add Azure's ``deploy_configuration`` and what
    their ``update()`` accepts. ``Webservice(ws, name)`` returns the subclass whose
    ``_engine`` is the engine the service runs on.
    """

    _engine: ClassVar[str] = ""

    def __new__(cls, workspace: Workspace, name: str) -> Webservice:  # noqa: PYI034
        if cls is not Webservice:
            return super().__new__(cls)
        record = records.require(workspace, name)
        klass = next((k for k in _subclasses(Webservice) if k._engine == record.target), None)
        if klass is None:
            raise WebserviceError(
                f"Service {name!r} runs on target {record.target!r}, which this dockyard cannot manage",
                hint="upgrade dockyard, or delete the service record with a dockyard that knows it",
            )
        return super().__new__(klass)

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        self._record = records.require(workspace, name)
        self._status: TargetStatus | None = None

    # --- what the service is --------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"{type(self).__name__}(workspace={self.workspace.name!r}, name={self.name!r}, state={self.state!r})"

    @property
    def compute_type(self) -> str:
        """Azure's name for where it runs: ``Local``, ``ACI`` or ``AKS`` (from its config)."""
        return str(self._config().compute_type)

    @property
    def port(self) -> int | None:
        status = self._refresh()
        return status.port or self._record.runtime.get("port")

    @property
    def scoring_uri(self) -> str | None:
        port = self.port
        base = self._base_uri(port)
        return f"{base}/score" if base else None

    @property
    def swagger_uri(self) -> str | None:
        base = self._base_uri(self.port)
        return f"{base}/swagger.json" if base else None

    def _base_uri(self, port: int | None) -> str | None:
        """Where the service answers: its own port on 127.0.0.1, or (cluster services) the
        cluster's proxy and the service's route, as its target reported it."""
        recorded = self._record.runtime.get("base_uri")
        if recorded:
            return str(recorded)
        return f"http://127.0.0.1:{port}" if port else None

    @property
    def state(self) -> str:
        return self._refresh().state

    @property
    def error(self) -> str | None:
        """Why the service is not Healthy: the traceback text for an init() failure."""
        status = self._refresh()
        return status.error if status.state != HEALTHY else None

    @property
    def restart_count(self) -> int:
        return self._refresh().restart_count

    @property
    def models(self) -> list[str]:
        return list(self._record.model_ids)

    @property
    def tags(self) -> dict[str, Any]:
        return dict(self._record.tags)

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._record.properties)

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def auth_enabled(self) -> bool:
        return bool(self._record.spec.get("config", {}).get("auth_enabled"))

    def authorization_header(self) -> str | None:
        """The ``Authorization`` value a caller sends (``Bearer <primary key>``), or None when
        the service is open."""
        return f"Bearer {self.get_keys()[0]}" if self.auth_enabled else None

    @property
    def created_time(self) -> Any:
        return self._record.created_at

    # --- reading the target ---------------------------------------------------------------------
    def _service_dir(self) -> Path:
        return Path(self._record.runtime.get("service_dir", ""))

    def _target_status(self) -> TargetStatus:
        return self._refresh()

    def _refresh(self) -> TargetStatus:
        self._status = services.refresh(self.workspace, self._record)
        return self._status

    def update_deployment_state(self) -> None:
        """Azure's name for refreshing ``state`` (``state`` is always live here)."""
        self._record = records.require(self.workspace, self.name)
        self._refresh()

    def get_logs(
        self, num_lines: int = 5000, init: bool = False, request_id: str | None = None
    ) -> str:
        """The service's log: the server's start-up banner, request lines, your print() output,
        tracebacks, and dockyard's own supervision lines.

        ``request_id`` (the ``x-request-id`` of an answer; ``WebserviceException.request_id``
        after a failed ``run()``): only that request's lines, its traceback included. A service
        whose deployment failed before any server ran returns what failed (the step, the error
        and the last lines of its log).
        """
        if request_id is None:
            text = self._read_logs(num_lines)
        else:
            text = request_lines(self._read_logs(REQUEST_LOG_SEARCH_LINES), request_id)
            text = "".join(text.splitlines(keepends=True)[-num_lines:]) if num_lines else ""
            if not text:
                return (
                    f"[dockyard] no log line of service {self.name!r} carries request id "
                    f"{request_id} (searched the last {REQUEST_LOG_SEARCH_LINES} lines; the id is "
                    "the x-request-id header of the answer, and WebserviceException.request_id)\n"
                )
        failure = next_steps.failure_before_start(self)
        if failure and failure.splitlines()[0] not in text:
            text += failure
        return text

    def get_events(self, after_id: int = 0) -> builtins.list[dict[str, Any]]:
        """The service's history, oldest first: every state change and step of every operation
        (deploy, update, reload, start, stop), each ``{"id", "at", "state", "message", ...}``;
        ``after_id``: only the events after that one (to follow it)."""
        return records.events(self.workspace, self.name, after_id)

    def follow_logs(self, seen: str = "") -> Iterator[str]:
        """The log text written after ``seen`` (what :meth:`get_logs` returned), as it comes,
        until you stop iterating (``dockyard service logs --follow``)."""
        return follow(self, seen)

    def _read_logs(self, num_lines: int) -> str:
        """The last ``num_lines`` lines of the target's log of this service."""
        return services.logs(self.workspace, self._record, num_lines)

    # --- waiting --------------------------------------------------------------------------------
    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Wait until the service is Healthy; raise ``WebserviceException`` if it fails.

        With ``show_output=True`` the events of the operation being waited for (the last deploy,
        update, reload or start) are printed in order as they happen, none from before it. A
        crash-looping service raises after about two restarts (not after an ever-growing
        back-off) with the traceback.
        """
        wait_until_healthy(self, show_output, timeout_sec)

    def _next_step(self, status: TargetStatus) -> str:
        return next_steps.next_step(self, status)

    # --- calling --------------------------------------------------------------------------------
    def run(self, input_data: Any) -> Any:
        """Call the scoring endpoint like Azure's ``service.run``.

        ``input_data`` may be a str, bytes, or any JSON-serialisable object; it is sent with
        ``Content-Type: application/json`` (and the primary key when auth is on). Returns the
        parsed JSON of a 200 answer; raises ``WebserviceException`` with the status, the
        server's message and the request id (``error.request_id``) otherwise. A service that
        cannot answer (CrashLoopBackOff, Failed, Stopped) fails at once with its state and error.
        """
        return scoring_client.call(self, input_data)

    # --- keys -----------------------------------------------------------------------------------
    def get_keys(self) -> tuple[str, str]:
        """The primary and secondary keys (auth must be enabled)."""
        self._require_auth()
        return keys.get(self.workspace, self.name)

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Regenerate the "Primary" or "Secondary" key; the server picks it up without a restart."""
        self._require_auth()
        services.regen_key(self.workspace, self.name, key, set_key)

    def _require_auth(self) -> None:
        if not self.auth_enabled:
            raise WebserviceError(
                f"Service {self.name!r} does not use key authentication",
                hint="deploy with deploy_configuration(auth_enabled=True) to get keys",
            )

    # --- lifecycle (one flow for every target: dockyard.ops.services) ---------------------------
    def update(
        self,
        models: builtins.list[Any] | None = None,
        inference_config: Any = None,
        deployment_config: Any = None,
        wait: bool = False,
        image: Any = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool | None = None,
        **_: Any,
    ) -> None:
        """Roll out new models, script, environment, image or settings without failed requests.

        The new version starts beside the old one and takes over once it is ready; if it fails,
        the old one keeps serving and ``WebserviceException`` says why. Keys are kept. With the
        debugger on (``debugger_port``) the old one stops first: a gap (docs/debugging.md).
        """
        config = deployment_config or self._config()
        changes = {"tags": tags, "properties": properties, "description": description,
                   "auth_enabled": auth_enabled}  # fmt: skip
        config = config.model_copy(update={k: v for k, v in changes.items() if v is not None})
        settings = settings_of(config)
        plan = update_plan(self, settings, models, inference_config, image)
        self._record = services.roll_out(self.workspace, self.name, plan, settings, "update")
        if wait:
            self.wait_for_deployment()

    def reload(self, wait: bool = False) -> None:
        """Local services: re-read score.py and the source directory from where the
        InferenceConfig points and switch to them (about a second for processes, a cached image
        rebuild for Docker); if the new code fails, the running version keeps serving. With
        the debugger on (``debugger_port``), the running version stops first, so that the new one
        can listen on the debugger's port: a gap until it is ready, said in the output."""
        settings = settings_of(self._config())
        plan = reload_plan(self, settings)
        self._record = services.roll_out(self.workspace, self.name, plan, settings, "reload")
        if wait:
            self.wait_for_deployment()

    def start(self) -> None:
        """Start a stopped service again (e.g. after a reboot) from its recorded deployment."""
        self._record = records.require(self.workspace, self.name)
        next_steps.check_startable(self)
        self._status = services.start(self.workspace, self.name)

    def stop(self) -> None:
        """Stop the service's processes or containers; ``start()`` brings it back."""
        self._status = services.stop(self.workspace, self.name)

    def delete(self) -> None:
        """Free everything the service has on its target and remove its records (its models and
        images stay)."""
        services.delete(self.workspace, self.name)

    # --- what was deployed ----------------------------------------------------------------------
    @property
    def image_id(self) -> str | None:
        """The image the service runs (``name:version``), for services that run an image."""
        return self._record.spec.get("image")

    def _config(self) -> Any:
        return config_from_record(self._record.spec.get("config", {}))

    def _inference_config(self, what: str) -> Any:
        data = self._record.spec.get("inference") or {}
        if not data:
            raise DeploymentError(
                f"Service {self.name!r} records no inference config to rebuild from",
                step=what,
                hint="use service.update(image=...) or update(inference_config=...)",
            )
        return InferenceConfig.deserialize(self.workspace, data)

    def get_debug_config(self) -> dict[str, Any]:
        """The VS Code ``launch.json`` entry that attaches to this service's debugger
        (``debugger_port``), with ``pathMappings`` from your folders to the service's; it stays
        valid across reloads. :class:`WebserviceError` when it runs without the debugger."""
        self._record = records.require(self.workspace, self.name)
        return launch_config(self._record)

    @property
    def debugger(self) -> dict[str, Any] | None:
        """``{"host", "port", "appRoot", "waitSeconds"}`` when the debugger is on, else None."""
        info = self._record.runtime.get("debugger")
        return dict(info) if info else None

    def serialize(self) -> dict[str, Any]:
        status = self._refresh()
        return {
            "name": self.name,
            "computeType": self.compute_type,
            "state": status.state,
            "error": status.error,
            "restartCount": status.restart_count,
            **({"replicas": status.details["replicas"]} if "replicas" in status.details else {}),
            "scoringUri": self.scoring_uri,
            "swaggerUri": self.swagger_uri,
            "port": status.port,
            "models": self.models,
            "authEnabled": self.auth_enabled,
            "debugger": self.debugger,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "createdTime": str(self.created_time) if self.created_time else None,
            "deploymentConfig": self._record.spec.get("config", {}),
            **(
                {
                    "imageId": self.image_id,
                    "imageLocation": self._record.runtime.get("image_location"),
                }
                if self.image_id
                else {}
            ),
        }

    # --- listing --------------------------------------------------------------------------------
    @staticmethod
    def list(
        workspace: Workspace,
        compute_type: str | None = None,
        image_name: str | None = None,
        model_name: str | None = None,
        tags: Any = None,
        **_: Any,
    ) -> builtins.list[Webservice]:
        result = []
        for record in records.list_all(workspace):
            service = Webservice(workspace, record.name)
            if compute_type and service.compute_type.lower() != compute_type.lower():
                continue
            if model_name and not any(m.split(":")[0] == model_name for m in record.model_ids):
                continue
            if tags and not _tags_match(record.tags, tags):
                continue
            result.append(service)
        return result

    @staticmethod
    def deploy_from_image(
        workspace: Workspace,
        name: str,
        image: Any,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        **_: Any,
    ) -> Webservice:
        """Run a built ``Image`` as a service (the seed's split pipeline, step 3)."""
        deploy_from_image(
            workspace, name, image, deployment_config, overwrite=overwrite,
            deployment_target=deployment_target,
        )  # fmt: skip
        return Webservice(workspace, name)

    @staticmethod
    def deploy_from_model(
        workspace: Workspace,
        name: str,
        models: builtins.list[Any],
        inference_config: Any = None,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        **_: Any,
    ) -> Webservice:
        deploy(
            workspace, name, models, inference_config, deployment_config, overwrite=overwrite,
            deployment_target=deployment_target,
        )  # fmt: skip
        return Webservice(workspace, name)


def _tags_match(have: dict[str, Any], wanted: Any) -> bool:
    """Azure's tag filters (``["k", ["k2", "v2"]]`` or a dict), as ``Model.list`` reads them."""
    return matches(have, filters(wanted, "tags"))


def _subclasses(cls: type[Webservice]) -> builtins.list[type[Webservice]]:
    """Every subclass of ``cls`` (the package imports each target's class)."""
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


__all__ = ["TRANSITIONING", "Webservice"]
