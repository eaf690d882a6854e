"""``Webservice``: a deployed model you can call, watch, reload, update and delete.

``Webservice(ws, name)`` returns the object for an existing service, of the class that matches
where it runs (``LocalWebservice``, ``ContainerWebservice``/``AciWebservice``,
``ClusterWebservice``/``AksWebservice``), as Azure ML v1 does. Its ``state`` is read live from
the target and every change is recorded in the workspace store, so the SDK, the CLI and another
terminal all see the same truth.
"""

from __future__ import annotations

import builtins
import json
import re
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dockyard.errors import DeploymentError, ValidationError, WebserviceError
from dockyard.ops import keys, records, services
from dockyard.ops.specs import ServicePlan
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    TRANSITIONING,
    UNHEALTHY,
    TargetStatus,
)

if TYPE_CHECKING:
    from dockyard.workspace import Workspace

#: wait_for_deployment gives up on a crash-looping service after this many restarts.
CRASH_RESTARTS_BEFORE_RAISING = 2
#: How much of the log get_logs(request_id=...) searches.
REQUEST_LOG_SEARCH_LINES = 200_000
#: run(): how long to wait for a connection (the answer itself waits up to the scoring timeout).
CONNECT_TIMEOUT_SECONDS = 10.0
#: Lines of a service's error shown by run() when the service cannot answer.
ERROR_TAIL_LINES = 25


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
        failure = self._failure_before_start()
        if failure and failure.splitlines()[0] not in text:
            text += failure
        return text

    def _read_logs(self, num_lines: int) -> str:
        """The last ``num_lines`` lines of the target's log of this service."""
        return services.logs(self.workspace, self._record, num_lines)

    def _failure_before_start(self) -> str:
        """The recorded error of a deployment that failed before a server ran, as log lines."""
        record = records.get(self.workspace, self.name)
        if record is None or record.state != FAILED or not record.error:
            return ""
        when = ""
        for event in reversed(records.events(self.workspace, self.name)):
            if event["state"] == FAILED:
                when = f"{event['at']:%Y-%m-%d %H:%M:%S} "
                break
        step = _step_of(record.error)
        head = (
            f"{when}[dockyard] the deployment of service {self.name!r} failed"
            + (f" at step {step}" if step else "")
            + ", before any server ran (so the server wrote no log); what failed:"
        )
        return f"{head}\n{record.error.rstrip()}\n"

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
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        progress = _OperationProgress(self) if show_output else None
        while True:
            status = self._refresh()
            if progress is not None:
                progress.show(status)
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
                    hint="init() may be slow: wait longer (service.wait_for_deployment("
                    "timeout_sec=...)), or find where it is stuck in service.get_logs()",
                )
            time.sleep(0.1)

    def _failure(self, status: TargetStatus, what: str) -> DeploymentError:
        step = "readiness" if status.state == CRASH_LOOP else "start"
        error = status.error or "no error text was recorded"
        return DeploymentError(
            f"Service {self.name!r}: {what}. State: {status.state} "
            f"(restarts: {status.restart_count}).\n{error}",
            step=step,
            hint=self._next_step(status),
            state=status.state,
        )

    # --- what to do next (SDK calls; the CLI says the same with its commands) ------------------
    def _next_step(self, status: TargetStatus) -> str:
        """The call that brings a service in ``status`` back, for an SDK user."""
        if status.state == STOPPED:
            return "start it: service.start(), then service.wait_for_deployment()"
        if status.state == UNHEALTHY and not status.details.get("supervisor_alive", True):
            return "start it again: service.start(), then service.wait_for_deployment()"
        if status.state == FAILED:
            return self._redeploy_hint()
        roll_out = (
            "service.reload()"
            if self._config().reloadable
            else "service.update(inference_config=inference_config)"
        )
        if status.state == CRASH_LOOP:
            return (
                f"fix score.py or the model (see the traceback), then {roll_out}; "
                "everything the server printed: service.get_logs()"
            )
        return f"read service.get_logs(), fix what it shows, then {roll_out}"

    def _redeploy_hint(self) -> str:
        """Deploying again is what fixes a service whose deployment failed: the concrete call."""
        from dockyard.webservice.deployment import redeploy_call

        step = _step_of(self._record.error or "")
        what = {
            "environment": "fix the environment (the requirement named above)",
            "layout": "fix the entry script or source directory named above",
        }.get(step or "", "fix what failed (above)")
        return (
            f"{what}, then deploy again with the fixed inference_config and the same "
            f"deployment_config: {redeploy_call(self.name, self._record.model_ids)}; "
            "what failed, again: service.get_logs()"
        )

    def _check_startable(self) -> None:
        """``start()`` of a service whose deployment failed before any server ran has nothing to
        start: say so, with the call that deploys it again."""
        if self._record.state != FAILED:
            return
        target = services.target_of(self.workspace, self._record)
        if target.status(self.name, self._service_dir()).state != STOPPED:
            return
        raise DeploymentError(
            f"Service {self.name!r} has nothing to start: its deployment failed before any "
            f"server ran, so there is no deployment to start again.\n{self._record.error or ''}",
            step="start",
            hint=self._redeploy_hint(),
            state=FAILED,
        )

    def _raise_if_down(self, status: TargetStatus) -> None:
        """A service that cannot answer (CrashLoopBackOff, Failed, Stopped) fails run() at once."""
        if status.state not in (CRASH_LOOP, FAILED, STOPPED):
            return
        what = {
            CRASH_LOOP: "its score.py fails to import or its init() raises, and it is restarted "
            f"with back-off (restarts: {status.restart_count})",
            FAILED: "it failed and is not running",
            STOPPED: "it was stopped",
        }[status.state]
        error = _tail_lines(status.error or "", ERROR_TAIL_LINES)
        if status.state == STOPPED and self._record.state != FAILED:
            error = ""
        raise WebserviceError(
            f"Service {self.name!r} cannot answer run(): it is {status.state}: {what}."
            + (f"\n{error}" if error else ""),
            hint=self._next_step(status),
            state=status.state,
            logs=status.error,
        )

    # --- calling --------------------------------------------------------------------------------
    def run(self, input_data: Any) -> Any:
        """Call the scoring endpoint like Azure's ``service.run``.

        ``input_data`` may be a str, bytes, or any JSON-serialisable object; it is sent with
        ``Content-Type: application/json`` (and the primary key when auth is on). Returns the
        parsed JSON of a 200 answer; raises ``WebserviceException`` with the status, the
        server's message and the request id (``error.request_id``) otherwise. A service that
        cannot answer (CrashLoopBackOff, Failed, Stopped) fails at once with its state and error.
        """
        import httpx

        status = self._refresh()
        self._raise_if_down(status)
        port = status.port or self._record.runtime.get("port")
        if not port:
            raise WebserviceError(
                f"Service {self.name!r} has no scoring URI yet (state {status.state})",
                hint="wait until it is Healthy: service.wait_for_deployment()",
                state=status.state,
            )
        uri = f"http://127.0.0.1:{port}/score"
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
        request_id = str(uuid.uuid4())
        headers = {"Content-Type": "application/json", "x-request-id": request_id}
        if self.auth_enabled:
            headers["Authorization"] = f"Bearer {self.get_keys()[0]}"
        timeout = self._record.spec.get("config", {}).get("scoring_timeout_ms", 60_000) / 1000 + 5
        try:
            response = httpx.post(
                uri,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
            )
        except httpx.HTTPError as exc:
            now = self._refresh()
            self._raise_if_down(now)
            if isinstance(exc, httpx.ConnectTimeout):
                waited = f"no connection within {CONNECT_TIMEOUT_SECONDS:g} s"
            elif isinstance(exc, httpx.TimeoutException):
                waited = f"no answer within {timeout:g} s (the scoring timeout plus 5 s)"
            else:
                waited = f"{type(exc).__name__}: {exc}"
            raise WebserviceError(
                f"Could not reach service {self.name!r} at {uri} ({waited}); its state is "
                f"{now.state}.\nRequest id: {request_id}",
                hint=f"its log lines for this request: service.get_logs(request_id={request_id!r}); "
                + self._next_step(now),
                request_id=request_id,
                state=now.state,
            ) from None
        if response.status_code != 200:
            raise self._bad_response(response, request_id)
        try:
            return response.json()
        except ValueError:
            return response.text

    def _bad_response(self, response: Any, sent_id: str) -> WebserviceError:
        """The error of a non-200 answer: status, the server's message, the request id and the
        call that prints that request's log lines and traceback."""
        request_id = response.headers.get("x-request-id") or sent_id
        message, extra = _server_message(response.content)
        if response.status_code == 503:
            now = self._refresh()
            self._raise_if_down(now)
            retry = response.headers.get("retry-after")
            return WebserviceError(
                f"Service {self.name!r} answered 503 (not ready or busy; state {now.state}): "
                f"{message}\nRequest id: {request_id}",
                status_code=503,
                content=response.content,
                request_id=request_id,
                state=now.state,
                headers=dict(response.headers),
                hint=(f"retry after {retry} s" if retry else "retry in a moment")
                + "; if it stays so: service.wait_for_deployment() says why",
            )
        failed_run = response.headers.get("x-ms-run-function-failed", "").lower() == "true"
        what = " (run() raised an exception)" if failed_run else ""
        text = (
            f"Received bad response from service {self.name!r}: {response.status_code}{what}\n"
            f"Request id: {request_id}\nServer message: {message}"
        )
        if extra:
            text += f"\n{extra}"
        return WebserviceError(
            text,
            status_code=response.status_code,
            content=response.content,
            request_id=request_id,
            headers=dict(response.headers),
            hint="this request's log lines and traceback: "
            f"service.get_logs(request_id={request_id!r})",
        )

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
        the old one keeps serving and ``WebserviceException`` says why. Keys are kept.
        """
        from dockyard.webservice.deployment import image_release, plan_of, settings_of

        config = deployment_config or self._config()
        changes = {"tags": tags, "properties": properties, "description": description,
                   "auth_enabled": auth_enabled}  # fmt: skip
        config = config.model_copy(update={k: v for k, v in changes.items() if v is not None})
        settings = settings_of(config)
        if image is not None:
            plan = ServicePlan(
                model_ids=tuple(image.model_ids),
                inference=dict(image._record.spec.get("inference") or {}),
                image=lambda progress: image_release(image),
            )
        elif models is None and inference_config is None and self.image_id:
            from dockyard.assets.image import Image

            current = Image(self.workspace, id=self.image_id)
            plan = ServicePlan(
                model_ids=tuple(self._record.model_ids),
                inference=dict(self._record.spec.get("inference") or {}),
                image=lambda progress: image_release(current),
            )
        else:
            chosen = self.models if models is None else builtins.list(models)
            plan = plan_of(
                self.workspace, self.name, chosen,
                inference_config or self._inference_config("update"),
                services.needs_image(self.workspace, settings),
            )  # fmt: skip
        self._record = services.roll_out(self.workspace, self.name, plan, settings, "update")
        if wait:
            self.wait_for_deployment()

    def reload(self, wait: bool = False) -> None:
        """Local services: re-read score.py and the source directory from where the
        InferenceConfig points and switch to them (about a second for processes, a cached image
        rebuild for Docker); if the new code fails, the running version keeps serving."""
        from dockyard.webservice.deployment import plan_of, settings_of

        settings = settings_of(self._config())
        if settings.reloadable:
            plan = plan_of(
                self.workspace, self.name, self.models, self._inference_config("reload"),
                services.needs_image(self.workspace, settings),
            )  # fmt: skip
        else:
            plan = ServicePlan(model_ids=(), inference={})  # refused by the flow
        self._record = services.roll_out(self.workspace, self.name, plan, settings, "reload")
        if wait:
            self.wait_for_deployment()

    def start(self) -> None:
        """Start a stopped service again (e.g. after a reboot) from its recorded deployment."""
        self._record = records.require(self.workspace, self.name)
        self._check_startable()
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
        from dockyard.webservice.config import config_from_record

        return config_from_record(self._record.spec.get("config", {}))

    def _inference_config(self, what: str) -> Any:
        from dockyard.assets.inference import InferenceConfig

        data = self._record.spec.get("inference") or {}
        if not data:
            raise DeploymentError(
                f"Service {self.name!r} records no inference config to rebuild from",
                step=what,
                hint="use service.update(image=...) or update(inference_config=...)",
            )
        return InferenceConfig.deserialize(self.workspace, data)

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
        from dockyard.webservice.deployment import deploy_from_image

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
        from dockyard.webservice.deployment import deploy

        return deploy(
            workspace, name, models, inference_config, deployment_config, overwrite=overwrite
        )


def _tags_match(have: dict[str, Any], wanted: Any) -> bool:
    """Azure's tag filters (``["k", ["k2", "v2"]]`` or a dict), as ``Model.list`` reads them."""
    from dockyard.assets._model_rules import filters, matches

    return matches(have, filters(wanted, "tags"))


def _print_event(state: str, message: str | None) -> None:
    print(f"  {state}: {message or ''}", file=sys.stderr, flush=True)


class _OperationProgress:
    """Prints the events of the operation being waited for, once each, in time order.

    Two sources: the store's history (dockyard's steps: environment, layout, start, update ...)
    after the operation's marker, and the target's own events (the supervisor's restarts,
    back-off, readiness) since the marker's time. A store event that copies a target event (a
    state change recorded by a refresh) is not printed twice.
    """

    def __init__(self, service: Webservice) -> None:
        record = records.require(service.workspace, service.name)
        marker = record.runtime.get("operation") or {}
        self.since = float(marker.get("at") or 0.0)
        self.pending: list[dict[str, Any]] | None = records.events(
            service.workspace, service.name, after_id=int(marker.get("after_event") or 0)
        )
        self.seen: set[tuple[Any, ...]] = set()
        self.last_untimed: tuple[str, Any] | None = None
        self.state: str | None = None  # the target's state after the last event printed

    def show(self, status: TargetStatus) -> None:
        target = [e for e in status.events if e.get("at") is None or e["at"] >= self.since]
        copies = {(e.get("state"), e.get("message")) for e in target}
        items: list[tuple[float, bool, str, Any]] = []  # (time, from the target, state, message)
        if self.pending is not None:
            for event in self.pending:
                if (event["state"], event["message"]) in copies:
                    continue
                at = event["at"].timestamp() if hasattr(event["at"], "timestamp") else 0.0
                items.append((at, False, event["state"], event["message"]))
            self.pending = None
        for event in target:
            key = (event.get("state", ""), event.get("message"))
            if event.get("at") is None:  # a target that reports only its current condition
                if key == self.last_untimed:
                    continue
                self.last_untimed = key
                items.append((time.time(), True, *key))
            elif (event["at"], *key) not in self.seen:
                self.seen.add((event["at"], *key))
                items.append((float(event["at"]), True, *key))
        for _at, from_target, state, message in sorted(items, key=lambda item: item[0]):
            if from_target:
                self.state = state
            elif self.state is not None:
                # a step recorded by dockyard: the service's state then is the target's last one
                state = self.state
            _print_event(state, message)


def _subclasses(cls: type[Webservice]) -> builtins.list[type[Webservice]]:
    """Every subclass of ``cls`` (the package imports each target's class)."""
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


_LOG_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def request_lines(text: str, request_id: str) -> str:
    """The lines of ``text`` (a server log) that belong to request ``request_id``.

    The server tags a request's records with ``rid=<id>`` (its print() and logging lines, the
    access line, and the ``Encountered Exception (rid=...)`` record); a record's continuation
    lines (a traceback) follow it without a timestamp and are kept with it.
    """
    tag = re.compile(rf"rid={re.escape(request_id)}(?![\w-])")
    out: list[str] = []
    keep = False
    for line in text.splitlines(keepends=True):
        if _LOG_RECORD_START.match(line):
            keep = bool(tag.search(line))
        if keep:
            out.append(line)
    return "".join(out)


def _server_message(content: bytes) -> tuple[str, str]:
    """``(message, extra)`` of an error body: azmlinfsrv's ``{"message": ...}`` (plus ``error``
    and ``traceback`` with debug responses on), or the body's text."""
    text = content.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        extra = "\n".join(str(data[k]).rstrip() for k in ("error", "traceback") if data.get(k))
        return data["message"], extra
    text = text.strip() or "(empty body)"
    return (text[:2000] + " ...") if len(text) > 2000 else text, ""


def _step_of(error: str) -> str | None:
    """The step a recorded error names (``[environment] ...``)."""
    match = re.match(r"\[([^\]]+)\]", error)
    return match.group(1) if match else None


def _tail_lines(text: str, count: int) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) <= count:
        return "\n".join(lines)
    return "...\n" + "\n".join(lines[-count:])


__all__ = ["TRANSITIONING", "Webservice"]
