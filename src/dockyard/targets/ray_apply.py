"""Deploying and deleting Serve applications from a short child process:
``python -m dockyard.targets.ray_apply`` (one JSON request on stdin, one JSON answer on stdout).

Only a Ray driver can deploy, and connecting makes a process a driver for good (Ray's threads,
ports and logging, and ``ray.shutdown()`` would cut off a Ray session the user's own program
has). So the cluster target never connects from the user's process: :func:`apply` runs this
module with a time limit, and the target then follows the deployment through the dashboard.

Requests:

* ``{"op": "deploy", "address", "runtime_env", "app", "route_prefix", "options", "env", "keys",
  "serve_host", "serve_port", "wait_s"}``: connect with ``runtime_env`` as the job's (Ray uploads
  the app root and the server runtime), start Serve if the cluster has none, hand Serve the
  deployment under a version computed from what was uploaded (:func:`code_version`), and stay
  connected until it runs or has failed (at most ``wait_s``: the uploaded files belong to this
  driver's job until replicas hold them). Answers ``{"dashboard_url", "version", "serve_status"}``.
* ``{"op": "delete", "address", "app"}``: delete the application (its replicas and route).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from typing import Any

from dockyard.errors import DeploymentError
from dockyard.targets import ray_client

#: Set before Ray is imported, unless the user set them: Ray 2.60 otherwise replaces 127.0.0.1 by
#: the machine's outside address, and dockyard's own clusters run without Ray's token auth (an
#: attached cluster that uses tokens: set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN yourself).
DRIVER_DEFAULTS = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}


def apply(request: dict[str, Any], timeout_s: float, what: str) -> dict[str, Any]:
    """Run ``request`` in a child driver process; its answer, or a :class:`DeploymentError`."""
    env = {**DRIVER_DEFAULTS, **os.environ}
    env.pop("RAY_ADDRESS", None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dockyard.targets.ray_apply"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DeploymentError(
            f"No answer from the Ray cluster at {request['address']} within {timeout_s:.0f} s "
            f"while {what}",
            step="cluster",
            hint="check the cluster: dockyard compute list; dockyard compute show NAME",
        ) from None
    answer: dict[str, Any] | None = None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                answer = dict(json.loads(line))
                break
    if answer is None:
        tail = "\n".join((done.stderr or "").strip().splitlines()[-15:])
        raise DeploymentError(
            f"The Ray driver process failed while {what} (exit code {done.returncode})",
            step="cluster",
            log_tail=tail,
            hint="the lines above are Ray's; check the cluster: dockyard compute show NAME",
        )
    if "error" in answer:
        raise DeploymentError(
            answer["error"], step=answer.get("step") or "cluster", hint=answer.get("hint")
        )
    return answer


def code_version(uploaded: dict[str, Any], request: dict[str, Any]) -> str:
    """A hash of everything a replica runs: the uploaded files and packages, and its settings."""
    content = {
        "files": [uploaded.get("working_dir"), *(uploaded.get("py_modules") or [])],
        "uv": request["runtime_env"].get("uv"),
        "env": request["env"],
        "auth": bool(request.get("keys")),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def _deploy(request: dict[str, Any]) -> dict[str, Any]:
    from dockyard.server.ray_replica import KEYS, ScoringReplica  # what the replicas run

    with ray_client.driver(request["address"], request["runtime_env"]) as context:
        import ray  # connected above (Ray is imported after its settings)
        from ray import serve

        serve.start(
            http_options={"host": request["serve_host"], "port": int(request["serve_port"])},
            proxy_location="HeadOnly",
        )
        version = code_version(ray.get_runtime_context().runtime_env, request)
        keys = request.get("keys")
        deployment_of: Any = serve.deployment
        replica = deployment_of(serve.ingress()(ScoringReplica), name="scoring").options(
            **request["options"], user_config={KEYS: keys} if keys else {}
        )
        # Serve 2.60 gives every deploy through its Python API a random code version, so every
        # change would restart all replicas; the version of the same content lets Serve apply
        # keys, replica counts and autoscaling in place. (`version=` left the public options;
        # the deployment still carries it, and the pinned Ray is tested for it.)
        replica._version = version
        app = replica.bind(request["env"], bool(keys))
        try:
            serve.run_many(
                [
                    serve.RunTarget(
                        target=app, name=request["app"], route_prefix=request["route_prefix"]
                    )
                ],
                wait_for_applications_running=False,
            )
        except Exception as exc:  # noqa: BLE001 - Serve's refusals become one answer
            return _refusal(request, exc)
        settled = _until_settled(serve, request["app"], float(request.get("wait_s") or 0))
        return {"dashboard_url": context.dashboard_url, "version": version, "serve_status": settled}


def _until_settled(serve: Any, app: str, wait_s: float) -> str | None:
    """Stay connected until the application runs or has failed (at most ``wait_s``).

    The files this driver uploaded belong to its job until replicas hold them: a driver that
    left before its replicas started would let Ray delete the packages (seen with a node that
    joined late: "the package may have prematurely been deleted from the GCS")."""
    deadline = time.monotonic() + wait_s
    status = None
    while time.monotonic() < deadline:
        found = serve.status().applications.get(app)
        status = (
            str(found.status.value if hasattr(found.status, "value") else found.status)
            if found
            else None
        )
        if status in ("RUNNING", "DEPLOY_FAILED"):
            return status
        time.sleep(0.25)
    return status


def _refusal(request: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    text = str(exc).strip()
    if "prefix" in text.lower():
        return {
            "error": f"Another Serve application on the cluster at {request['address']} already "
            f"answers at {request['route_prefix']}: {text[:400]}",
            "hint": "pick another service name, or delete the other application",
            "step": "start",
        }
    return {
        "error": f"Ray Serve refused the deployment: {type(exc).__name__}: {text[:800]}",
        "hint": "check the cluster: dockyard compute show NAME",
        "step": "start",
    }


def _delete(request: dict[str, Any]) -> dict[str, Any]:
    with ray_client.driver(request["address"]):
        from ray import serve  # connected above (Ray is imported after its settings)

        serve.delete(request["app"], _blocking=True)
    return {"deleted": request["app"]}


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
        operations = {"deploy": _deploy, "delete": _delete}
        result = operations[request["op"]](request)
    except DeploymentError as exc:
        result = {"error": exc.message, "hint": exc.hint, "step": exc.step}
    except BaseException as exc:  # noqa: BLE001 - every failure becomes the one JSON answer
        result = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 1 if "error" in result else 0


if __name__ == "__main__":
    raise SystemExit(main())
