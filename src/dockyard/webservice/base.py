"""``Webservice``: a deployed model you can call, watch, reload, update and delete.

``Webservice(ws, name)`` returns the object for an existing service, of the class that matches
where it runs (``LocalWebservice``, ``ContainerWebservice``/``AciWebservice``,
``ClusterWebservice``/``AksWebservice``), as Azure ML v1 does. Its ``state`` is read live from
the target and every change is recorded in the workspace store, so the SDK, the CLI and another
terminal all see the same truth.
"""

from __future__ import annotations

import builtins
import importlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dockyard.errors import DeploymentError, ValidationError, WebserviceError
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    TargetStatus,
)
from dockyard.webservice import keys, records

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: target kind -> module defining its Webservice subclass (imported on first use)
_TARGET_MODULES = {
    "local": "dockyard.webservice.local",
    "docker": "dockyard.webservice.container",
    "cluster": "dockyard.webservice.cluster",
}

#: wait_for_deployment gives up on a crash-looping service after this many restarts.
CRASH_RESTARTS_BEFORE_RAISING = 2


class Webservice:
    """A web service in a workspace. Use ``Webservice(ws, name)`` to get an existing one."""

    _compute_type: ClassVar[str] = "Local"
    _registry: ClassVar[dict[str, type[Webservice]]] = {}
    _target_kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._target_kind:
            Webservice._registry.setdefault(cls._target_kind, cls)

    def __new__(cls, workspace: Workspace, name: str) -> Webservice:  # noqa: PYI034
        if cls is not Webservice:
            return super().__new__(cls)
        record = records.require(workspace, name)
        if record.target not in Webservice._registry and record.target in _TARGET_MODULES:
            importlib.import_module(_TARGET_MODULES[record.target])
        klass = Webservice._registry.get(record.target)
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
        return self._compute_type

    @property
    def port(self) -> int | None:
        status = self._refresh()
        return status.port or self._record.runtime.get("port")

    @property
    def scoring_uri(self) -> str | None:
        port = self.port
        return f"http://127.0.0.1:{port}/score" if port else None

    @property
    def swagger_uri(self) -> str | None:
        port = self.port
        return f"http://127.0.0.1:{port}/swagger.json" if port else None

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

    @property
    def created_time(self) -> Any:
        return self._record.created_at

    # --- reading the target ---------------------------------------------------------------------
    def _service_dir(self) -> Path:
        return Path(self._record.runtime.get("service_dir", ""))

    def _target_status(self) -> TargetStatus:  # each target class implements it
        raise NotImplementedError

    def _refresh(self) -> TargetStatus:
        status = self._target_status()
        if status.state == STOPPED and self._record.state == FAILED:
            # Failed before anything ran (environment, layout, port): the store has the reason.
            status = TargetStatus(state=FAILED, error=self._record.error, port=status.port)
        if status.state != self._record.state or status.error != self._record.error:
            message = status.events[-1]["message"] if status.events else status.state
            records.set_state(
                self.workspace, self.name, status.state, status.error, status.restart_count, message
            )
            self._record.state, self._record.error = status.state, status.error
        self._status = status
        return status

    def update_deployment_state(self) -> None:
        """Azure's name for refreshing ``state`` (``state`` is always live here)."""
        self._record = records.require(self.workspace, self.name)
        self._refresh()

    def get_logs(self, num_lines: int = 5000, init: bool = False) -> str:
        """The service's log: the server's start-up banner, request lines, your print() output,
        tracebacks, and dockyard's own supervision lines."""
        raise NotImplementedError

    # --- waiting --------------------------------------------------------------------------------
    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Wait until the service is Healthy; raise ``WebserviceException`` if it fails.

        With ``show_output=True`` progress is printed as it happens. A crash-looping service
        raises after about two restarts (not after an ever-growing back-off) with the traceback.
        """
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        shown = 0
        history = records.events(self.workspace, self.name)
        if show_output:
            for item in history:
                _print_event(item["state"], item["message"])
            shown_marks = {(e["state"], e["message"]) for e in history}
        else:
            shown_marks = set()
        first_restart_count: int | None = None
        while True:
            status = self._refresh()
            if show_output:
                for item in status.events[shown:]:
                    if (item["state"], item["message"]) not in shown_marks:
                        _print_event(item["state"], item["message"])
                shown = len(status.events)
            if first_restart_count is None:
                first_restart_count = status.restart_count
            if status.state == HEALTHY:
                if show_output:
                    print(f"{self.name}: Healthy at {self.scoring_uri}", file=sys.stderr)
                return
            if status.state in (FAILED, STOPPED):
                raise self._failure(status, "deployment failed")
            if status.state == CRASH_LOOP and status.restart_count >= CRASH_RESTARTS_BEFORE_RAISING:
                raise self._failure(
                    status, "the service keeps crashing while starting (CrashLoopBackOff)"
                )
            if status.state == UNHEALTHY and status.error and "supervisor" in status.error:
                raise self._failure(status, "the service is not running")
            if deadline is not None and time.monotonic() > deadline:
                raise DeploymentError(
                    f"Service {self.name!r} is still {status.state} after {timeout_sec:g} s",
                    step="readiness",
                    log_tail=self.get_logs(num_lines=40),
                    hint="init() may be slow (wait longer) or stuck; read service.get_logs()",
                )
            time.sleep(0.1)

    def _failure(self, status: TargetStatus, what: str) -> DeploymentError:
        step = "readiness" if status.state == CRASH_LOOP else "start"
        error = status.error or "no error text was recorded"
        return DeploymentError(
            f"Service {self.name!r}: {what}. State: {status.state} "
            f"(restarts: {status.restart_count}).\n{error}",
            step=step,
            hint="fix the script or configuration, then service.reload() (local) or service.update(); "
            "full log: service.get_logs()",
        )

    # --- calling --------------------------------------------------------------------------------
    def run(self, input_data: Any) -> Any:
        """Call the scoring endpoint like Azure's ``service.run``.

        ``input_data`` may be a str, bytes, or any JSON-serialisable object; it is sent with
        ``Content-Type: application/json`` (and the primary key when auth is on). Returns the
        parsed JSON of a 200 answer; raises ``WebserviceException`` with the status and body
        otherwise.
        """
        import httpx

        uri = self.scoring_uri
        if uri is None:
            raise WebserviceError(
                f"Service {self.name!r} has no scoring URI (state {self.state})",
                hint="deploy or start it first: `dockyard service start NAME`",
            )
        if isinstance(input_data, bytes | str):
            body = input_data.encode() if isinstance(input_data, str) else input_data
        else:
            try:
                body = json.dumps(input_data).encode()
            except TypeError as exc:
                raise ValidationError(
                    f"input_data is not JSON-serialisable: {exc}",
                    hint="pass a str, bytes, or plain lists/dicts/numbers",
                ) from None
        headers = {"Content-Type": "application/json"}
        if self.auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_keys()[0]}"
        timeout = self._record.spec.get("config", {}).get("scoring_timeout_ms", 60_000) / 1000 + 5
        try:
            response = httpx.post(uri, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise WebserviceError(
                f"Could not reach service {self.name!r} at {uri}: {exc}",
                hint=f"check service.state ({self.state}) and service.get_logs()",
            ) from None
        if response.status_code != 200:
            raise WebserviceError(
                f"Received bad response from service {self.name!r}:\n"
                f"Response Code: {response.status_code}\nHeaders: {dict(response.headers)}\n"
                f"Content: {response.content!r}",
                status_code=response.status_code,
                content=response.content,
            )
        try:
            return response.json()
        except ValueError:
            return response.text

    # --- keys -----------------------------------------------------------------------------------
    def get_keys(self) -> tuple[str, str]:
        """The primary and secondary keys (auth must be enabled)."""
        self._require_auth()
        return keys.get(self.workspace, self.name)

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        """Regenerate the "Primary" or "Secondary" key; the server picks it up without a restart."""
        self._require_auth()
        keys.regenerate(self.workspace, self.name, key, set_key, self._keys_file())

    def _keys_file(self) -> Path | None:
        return self._service_dir() / keys.KEYS_FILE

    def _require_auth(self) -> None:
        if not self.auth_enabled:
            raise WebserviceError(
                f"Service {self.name!r} does not use key authentication",
                hint="deploy with deploy_configuration(auth_enabled=True) to get keys",
            )

    # --- lifecycle (per target) -----------------------------------------------------------------
    def reload(self, wait: bool = False) -> None:
        raise WebserviceError(
            f"reload() works for local services only; {self.name!r} runs on {self.compute_type}",
            hint="use service.update(inference_config=...) to roll out a changed script",
        )

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def delete(self) -> None:
        raise NotImplementedError

    def serialize(self) -> dict[str, Any]:
        status = self._refresh()
        return {
            "name": self.name,
            "computeType": self.compute_type,
            "state": status.state,
            "error": status.error,
            "restartCount": status.restart_count,
            "scoringUri": self.scoring_uri,
            "swaggerUri": self.swagger_uri,
            "port": status.port,
            "models": self.models,
            "authEnabled": self.auth_enabled,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "createdTime": str(self.created_time) if self.created_time else None,
            "deploymentConfig": self._record.spec.get("config", {}),
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
        from dockyard.webservice.container import deploy_from_image

        return deploy_from_image(workspace, name, image, deployment_config, overwrite=overwrite)

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
        from dockyard.webservice.deploy import deploy

        return deploy(
            workspace, name, models, inference_config, deployment_config, overwrite=overwrite
        )


def _tags_match(have: dict[str, Any], wanted: Any) -> bool:
    """Azure's tag filters (``["k", ["k2", "v2"]]`` or a dict), as ``Model.list`` reads them."""
    from dockyard.assets._model_rules import filters, matches

    return matches(have, filters(wanted, "tags"))


def _print_event(state: str, message: str | None) -> None:
    print(f"  {state}: {message or ''}", file=sys.stderr, flush=True)


__all__ = ["TRANSITIONING", "Webservice"]
