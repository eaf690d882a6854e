"""The cluster target: each service is a Ray Serve application on a Ray cluster (AKS's analog).

One service = one Serve application named ``dockyard-<workspace scope>-<service>``, with one
deployment (``scoring``) whose replicas run :class:`dockyard.server.ray_replica.ScoringReplica`:
the same scoring app as every other target, behind Serve's HTTP proxy at
``http://<proxy>/api/v1/service/<service>`` (AKS's path). Ray does the scheduling, the
autoscaling and the routing; dockyard maps Azure's configuration onto it
(:mod:`dockyard.targets.ray_options`) and reads Serve's state back
(:mod:`dockyard.targets.ray_status`).

How a service's files and packages reach the nodes (no shared folder needed): a short driver
process (:mod:`dockyard.targets.ray_apply`; the user's process never joins the cluster) connects
with a job ``runtime_env`` that has

* ``working_dir``: the service's app root (score.py, the source folder, ``azureml-models/``),
  zipped and uploaded to the cluster by Ray, unpacked on each node that runs a replica;
* ``py_modules``: dockyard's server runtime as a package folder (the server part only; named
  by its content, so a new dockyard ships a new one);
* ``uv``: the environment's exact pins (built and checked here first, the user's pins winning as
  on the local target, and resolved beside ``ray[serve]`` before anything is deployed), installed
  once per node into a virtual environment that Ray caches by content.

The deployment's ``version`` is a hash of those contents and the server's settings, so a change
Ray can apply in place (replica counts, autoscaling, keys) restarts nothing, and a new version
rolls out with ``max_surge_percent=100``: the old replicas serve until the new ones are ready.

What the target knows of a service is in ``<service_dir>/ray.json`` (where it runs, and the last
deployment, so that ``start()`` can deploy it again) and its keys in ``ray-keys.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

from dockyard.builders.portable import check_compatible
from dockyard.errors import DeploymentError, ValidationError
from dockyard.server import contract
from dockyard.targets import ray_apply, ray_client
from dockyard.targets.base import (
    CRASH_LOOP,
    FAILED,
    HEALTHY,
    STOPPED,
    OnEvent,
    RolloutResult,
    ServiceSpec,
    TargetStatus,
)
from dockyard.targets.ray_options import deployment_options, expected_replicas, scaling_summary
from dockyard.targets.ray_status import DEPLOYMENT, status_of

STATE_FILE = "ray.json"
KEYS_FILE = "ray-keys.json"
#: How long a deploy waits for the replicas' start when the config names no bound.
DEFAULT_START_TIMEOUT_S = 900.0
#: How long the driver process may take to upload the files and hand Serve the deployment.
APPLY_TIMEOUT_S = 300.0
_POLL_S = 0.25
#: With the debugger on, a replica held at a breakpoint answers no health check until the IDE
#: continues: Serve waits this long before it replaces it.
DEBUGGER_HEALTH_TIMEOUT_S = 3600.0


class RayTarget:
    """Services as Ray Serve applications (see the module docstring)."""

    kind: ClassVar[str] = "ray"
    needs_image: ClassVar[bool] = False
    supports_reload: ClassVar[bool] = False
    ships_environment: ClassVar[bool] = True

    def __init__(self, scope: str) -> None:
        self.scope = scope or "local"

    # --- deploy and roll out ----------------------------------------------------------------------
    def deploy(self, spec: ServiceSpec) -> TargetStatus:
        state = self._state_for(spec)
        result = self._roll_out(spec, state, on_event=None, first=True)
        if result.state == FAILED:
            raise DeploymentError(
                f"Service {spec.name!r} did not start on the Ray cluster: {result.error}",
                step="start",
                hint=f"fix score.py or its environment, then deploy again; "
                f"dockyard service logs {spec.name} shows every replica's log",
            )
        return self.status(spec.name, spec.service_dir)

    def update(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        state = self._state_for(spec)
        previous = state.get("deployment")
        result = self._roll_out(spec, state, on_event, first=previous is None)
        if result.state != FAILED or previous is None:
            return result
        # Ray stops the failed new replicas; the old ones kept serving. Pin the old version again
        # so that the application's target is what serves (not a version that cannot start).
        say = on_event or (lambda _line: None)
        say("the new version failed; keeping the previous version")
        try:
            self._apply(state, previous, say, timeout_s=DEFAULT_START_TIMEOUT_S)
        except (DeploymentError, _StartFailed) as exc:
            return RolloutResult(
                state=FAILED, error=f"{result.error}\n{exc}", previous_serving=False
            )
        return RolloutResult(state=FAILED, error=result.error, previous_serving=True)

    def reload(self, spec: ServiceSpec, on_event: OnEvent = None) -> RolloutResult:
        return self.update(spec, on_event)

    def _roll_out(
        self, spec: ServiceSpec, state: dict[str, Any], on_event: OnEvent, first: bool
    ) -> RolloutResult:
        say = on_event or (lambda _line: None)
        if spec.app_root is None:
            raise ValidationError(f"Service {spec.name!r}: the cluster target needs an app root")
        version = ray_client.ray_version()
        python_version = spec.python_version or ""
        if spec.requirements:
            say(f"checking the environment's {len(spec.requirements)} pins beside Ray {version}")
            check_compatible(
                list(spec.requirements), [f"ray[serve]=={version}"], python_version or "3.11",
                f"Ray {version}",
            )  # fmt: skip
        deployment = {
            "app_root": str(spec.app_root),
            "server_runtime": str(spec.server_runtime) if spec.server_runtime else None,
            "requirements": list(spec.requirements),
            "env": dict(spec.env),
            "config": dict(spec.config),
        }
        say(f"scaling: {scaling_summary(spec.config)}")
        timeout = spec.startup_timeout_seconds or DEFAULT_START_TIMEOUT_S
        try:
            status = self._apply(state, deployment, say, timeout_s=timeout)
        except _StartFailed as exc:
            return RolloutResult(state=FAILED, error=str(exc), previous_serving=not first)
        return RolloutResult(state=HEALTHY, details={"replicas": status.details.get("replicas")})

    def _apply(
        self, state: dict[str, Any], deployment: dict[str, Any], say: Any, timeout_s: float
    ) -> TargetStatus:
        """Deploy ``deployment`` as the service's application and wait until it serves."""
        service_dir = Path(state["service_dir"])
        runtime_env: dict[str, Any] = {"working_dir": deployment["app_root"]}
        if deployment.get("server_runtime"):
            runtime_env["py_modules"] = [deployment["server_runtime"]]
        if deployment.get("requirements"):
            runtime_env["uv"] = {
                "packages": deployment["requirements"],
                "uv_check": True,
                "uv_pip_install_options": [],
            }
        request = {
            "op": "deploy",
            "address": state["address"],
            "runtime_env": runtime_env,
            "app": state["app"],
            "route_prefix": state["route_prefix"],
            "options": _with_debugger(deployment_options(deployment["config"]), deployment, say),
            "env": deployment["env"],
            "keys": _read_keys(service_dir),
            "serve_host": state["serve_host"],
            "serve_port": state["serve_port"],
        }
        request["wait_s"] = timeout_s
        say(
            f"uploading the app root and handing Serve application {state['app']} its deployment; "
            f"waiting up to {timeout_s:g} s for its replicas"
        )
        answer = ray_apply.apply(
            request, APPLY_TIMEOUT_S + timeout_s, f"deploying {state['name']!r}"
        )
        say(f"deployed version {answer['version']} at {state['route_prefix']}")
        state["dashboard_url"] = state.get("dashboard_url") or answer.get("dashboard_url")
        state["deployment"] = deployment
        state["stopped"] = False
        _save_state(service_dir, state)
        replicas = 1 if _debugger_on(deployment) else expected_replicas(deployment["config"])
        return self._wait(state, replicas, say, timeout_s)

    def _wait(
        self, state: dict[str, Any], replicas: int, say: Any, timeout_s: float
    ) -> TargetStatus:
        """Until the application runs ``replicas`` replicas of the deployment just handed to Serve
        (``run_many`` returns once the controller has it as its target: status DEPLOYING), or
        has failed."""
        dashboard = ray_client.Dashboard(state["dashboard_url"])
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            app = dashboard.serve_applications().get(state["app"])
            status = status_of(app, self._base_uri(state), state.get("serve_port"))
            taken = app is not None
            running = int(status.details.get("replicas") or 0)
            line = (
                f"replicas running: {running}/{replicas} (Serve: {status.details.get('serve_status')}"
                f", {status.details.get('deployment_status')})"
            )
            if taken and line != last:
                say(line)
                last = line
            if taken and status.state in (FAILED, CRASH_LOOP):
                raise _StartFailed(status.error or "the replicas failed to start")
            if (
                taken
                and running >= replicas
                and status.details.get("serve_status") == "RUNNING"
                and status.details.get("deployment_status") != "UPDATING"
            ):
                return status
            if time.monotonic() > deadline:
                raise _StartFailed(
                    f"the replicas were not running after {timeout_s:g} s ({status.details}); "
                    f"see dockyard service logs {state['name']}"
                )
            time.sleep(_POLL_S)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, name: str, service_dir: Path) -> TargetStatus:
        state = _load_state(service_dir)
        if state is None or not state.get("deployment"):
            raise DeploymentError(
                f"Service {name!r} has never run on the cluster",
                step="start",
                hint="deploy it first: Model.deploy(ws, name, models, inference_config, deployment_config)",
            )
        if state.get("stopped"):
            try:
                self._apply(state, state["deployment"], lambda _l: None, DEFAULT_START_TIMEOUT_S)
            except _StartFailed as exc:
                raise DeploymentError(
                    f"Service {name!r} did not start again on the Ray cluster: {exc}",
                    step="start",
                    hint=f"dockyard service logs {name}",
                ) from None
        return self.status(name, service_dir)

    def stop(self, name: str, service_dir: Path) -> None:
        state = _load_state(service_dir)
        if state is None or state.get("stopped"):
            return
        self._delete_app(state)
        state["stopped"] = True
        _save_state(service_dir, state)

    def delete(self, name: str, service_dir: Path) -> None:
        state = _load_state(service_dir)
        if state is not None and not state.get("stopped"):
            with contextlib.suppress(DeploymentError):  # a cluster that is gone holds nothing
                self._delete_app(state)
        shutil.rmtree(service_dir, ignore_errors=True)

    def _delete_app(self, state: dict[str, Any]) -> None:
        request = {"op": "delete", "address": state["address"], "app": state["app"]}
        ray_apply.apply(request, APPLY_TIMEOUT_S, f"deleting {state['name']!r}")

    # --- reading --------------------------------------------------------------------------------
    def status(self, name: str, service_dir: Path) -> TargetStatus:
        state = _load_state(service_dir)
        if state is None or state.get("stopped") or not state.get("dashboard_url"):
            return TargetStatus(state=STOPPED)
        app = ray_client.Dashboard(state["dashboard_url"]).serve_applications().get(state["app"])
        status = status_of(app, self._base_uri(state), state.get("serve_port"))
        # where Serve's own numbers of this application are (its per-replica metrics)
        status.details.update(dashboard_url=state["dashboard_url"], app=state["app"])
        return status

    def logs(self, name: str, service_dir: Path, num_lines: int = 5000) -> str:
        state = _load_state(service_dir)
        if state is None or not state.get("dashboard_url"):
            return ""
        dashboard = ray_client.Dashboard(state["dashboard_url"])
        parts = []
        app = dashboard.serve_applications().get(state["app"]) or {}
        deployment = (app.get("deployments") or {}).get(DEPLOYMENT) or {}
        replicas = [
            *(deployment.get("recent_dead_replicas") or []),
            *(deployment.get("replicas") or []),
        ]
        for replica in sorted(replicas, key=lambda r: r.get("start_time_s") or 0):
            if not replica.get("actor_id"):
                continue
            header = (
                f"--- replica {replica.get('replica_id')} (pid {replica.get('pid')}, node "
                f"{replica.get('node_ip') or '?'}, {replica.get('state')}) ---\n"
            )
            body = dashboard.replica_log(replica["actor_id"], "err", num_lines)
            out = dashboard.replica_log(replica["actor_id"], "out", num_lines)
            parts.append(header + body + (out if out.strip() else ""))
        return "".join(parts)

    def write_keys(self, name: str, service_dir: Path, primary: str, secondary: str) -> None:
        service_dir.mkdir(parents=True, exist_ok=True)
        path = service_dir / KEYS_FILE
        tmp = path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            json.dump({"primaryKey": primary, "secondaryKey": secondary}, fh)
        os.replace(tmp, path)
        state = _load_state(service_dir)
        if state is not None and state.get("deployment") and not state.get("stopped"):
            # same version, new user_config: Serve hands the keys to every replica, restarting none
            self._apply(state, state["deployment"], lambda _l: None, DEFAULT_START_TIMEOUT_S)

    def port_owner(self, port: int) -> str | None:
        return None  # services share the cluster's proxy; none of them holds a port of its own

    # --- helpers --------------------------------------------------------------------------------
    def _state_for(self, spec: ServiceSpec) -> dict[str, Any]:
        state = _load_state(spec.service_dir) or {}
        # an update without a new placement stays on the service's cluster
        place = spec.placement or {
            "address": state.get("address"), "name": state.get("compute"),
            "serve_host": state.get("serve_host"), "serve_port": state.get("serve_port"),
        }  # fmt: skip
        if not place.get("address"):
            raise ValidationError(
                f"Service {spec.name!r}: no Ray cluster to deploy to",
                hint="pass deployment_target=ComputeTarget(ws, NAME), or create one: "
                "dockyard compute create NAME",
            )
        if state.get("address") not in (None, place["address"]):
            state = {}  # moved to another cluster: nothing of the old one is reused
        state.update(
            name=spec.name,
            service_dir=str(spec.service_dir),
            app=f"dockyard-{self.scope}-{spec.name}",
            route_prefix=f"/api/v1/service/{spec.name}",
            address=place["address"],
            compute=place.get("name"),
            serve_host=place.get("serve_host") or "127.0.0.1",
            serve_port=place.get("serve_port") or 8000,
            dashboard_url=place.get("dashboard_url") or state.get("dashboard_url"),
        )
        return state

    def _base_uri(self, state: dict[str, Any]) -> str:
        return f"http://{state['serve_host']}:{state['serve_port']}{state['route_prefix']}"


def _debugger_on(deployment: dict[str, Any]) -> bool:
    return bool((deployment.get("env") or {}).get(contract.DEBUGPY_LISTEN_ENV))


def _with_debugger(options: dict[str, Any], deployment: dict[str, Any], say: Any) -> dict[str, Any]:
    """With the debugger on: ONE replica (the IDE attaches to one process, on its node's
    127.0.0.1), the old replica stops before the new one starts (both would listen on the
    debugger's port), and health checks that wait while a breakpoint holds every thread."""
    if not _debugger_on(deployment):
        return options
    say(
        "the debugger is on: one replica; a new version starts after the old replica stopped "
        "(a gap); health checks wait up to an hour while a breakpoint holds the replica"
    )
    options = {k: v for k, v in options.items() if k != "autoscaling_config"}
    options.update(
        num_replicas=1,
        max_surge_percent=0,
        health_check_timeout_s=DEBUGGER_HEALTH_TIMEOUT_S,
        health_check_period_s=max(10.0, float(options.get("health_check_period_s") or 10)),
    )
    return options


class _StartFailed(Exception):
    """The new version's replicas did not start (the message has the replica's traceback)."""


def _read_keys(service_dir: Path) -> dict[str, str] | None:
    try:
        data = json.loads((service_dir / KEYS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _load_state(service_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(service_dir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _save_state(service_dir: Path, state: dict[str, Any]) -> None:
    path = Path(service_dir) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)
