"""Talking to a Ray cluster, and turning Ray's errors into dockyard's, in one place.

Two ways in, chosen per call by cost:

* :func:`driver` connects this process to the cluster as a Ray driver (``ray.init``), for what only
  a driver can do: deploy, update and delete Serve applications. It takes about a second, and the
  driver's job-level ``runtime_env`` is how the service's files and packages reach the nodes.
* :class:`Dashboard` reads the cluster through the Ray dashboard's HTTP API (Serve's status, the
  replicas' log files) without joining it: tens of milliseconds, for ``state``, ``get_logs()``
  and listings.

Every wait is bounded, and every failure names the cluster's address and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx

from dockyard.errors import DeploymentError, WebserviceError

#: Ray packs the app root without honouring ``.gitignore`` files (a source folder's ignore rules
#: would drop model files) and without its own default exclusions.
_PACKAGING_ENV = {
    "RAY_RUNTIME_ENV_IGNORE_GITIGNORE": "1",
    "RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES": "",
}
NAMESPACE = "dockyard"
CONNECT_TIMEOUT_S = 5.0


def auth_token() -> str | None:
    """The cluster token when this process uses Ray's token auth (``RAY_AUTH_MODE=token``, for an
    attached cluster that requires one; dockyard's own clusters do not): ``RAY_AUTH_TOKEN``, the
    file ``RAY_AUTH_TOKEN_PATH`` names, else ``~/.ray/auth_token``, where Ray looks."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return None
    token = os.environ.get("RAY_AUTH_TOKEN")
    if token:
        return token.strip()
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def ray_version() -> str:
    """The Ray version dockyard drives (a cluster must run the same one)."""
    from importlib.metadata import PackageNotFoundError, version  # cheap; only when asked

    try:
        return version("ray")
    except PackageNotFoundError:
        raise _missing_ray() from None


def _missing_ray() -> DeploymentError:
    return DeploymentError(
        "The cluster target needs Ray, which is not installed in dockyard's environment",
        step="cluster",
        hint="pip install 'dockyard[ray]' (it pins the Ray version dockyard is tested with)",
    )


def check_reachable(address: str, what: str = "the Ray cluster") -> None:
    """Fail fast (seconds, not Ray's minute of retries) when nothing listens at ``address``."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise DeploymentError(
            f"Cannot reach {what} at {address}: {exc.strerror or exc}",
            step="cluster",
            hint="check that the cluster runs (dockyard compute list; dockyard compute show NAME), "
            "or attach the right address with dockyard compute attach NAME --address HOST:PORT",
        ) from None


@contextlib.contextmanager
def driver(address: str, runtime_env: dict[str, Any] | None = None) -> Iterator[Any]:
    """This process as a Ray driver of the cluster at ``address`` for the ``with`` block.

    ``runtime_env`` is the job's: Ray uploads its local folders and wheels to the cluster, and
    every replica deployed in the block inherits it.
    """
    check_reachable(address)
    os.environ.update(_PACKAGING_ENV)
    try:
        import ray  # the Ray client is heavy: only for cluster operations
    except ImportError:
        raise _missing_ray() from None
    if ray.is_initialized():
        ray.shutdown()
    local = _host_port(address)[0] in ("127.0.0.1", "localhost")
    extra: dict[str, Any] = {"_node_ip_address": "127.0.0.1"} if local else {}
    try:
        context = ray.init(
            address=address,
            namespace=NAMESPACE,
            runtime_env=runtime_env,
            logging_level=logging.ERROR,
            log_to_driver=False,
            configure_logging=False,
            **extra,
        )
    except Exception as exc:  # noqa: BLE001 - every Ray failure to connect becomes one error
        raise connect_error(address, exc) from None
    try:
        yield context
    finally:
        ray.shutdown()


def connect_error(address: str, exc: BaseException) -> DeploymentError:
    """A Ray connection failure, said in dockyard's words."""
    text = str(exc)
    if "version mismatch" in text.lower() or "Version mismatch" in text:
        return DeploymentError(
            f"The Ray cluster at {address} runs another Ray or Python version than dockyard: "
            f"{text.strip().splitlines()[0]}",
            step="cluster",
            hint=f"run the cluster with Ray {ray_version()} on the same Python minor version as "
            "dockyard (pip install 'ray[serve]==<version>' on every node), or install that "
            "Ray version beside dockyard",
        )
    if "package" in text.lower() and ("size" in text.lower() or "exceeds" in text.lower()):
        return DeploymentError(
            f"Ray could not take the service's files (models, source) to the cluster at "
            f"{address}: {text.strip()[:500]}",
            step="cluster",
            hint="Ray's package limit is about 500 MiB: keep large files out of the source "
            "directory and register big models in several files",
        )
    return DeploymentError(
        f"Connecting to the Ray cluster at {address} failed: {type(exc).__name__}: "
        f"{text.strip()[:800]}",
        step="cluster",
        hint="check the cluster (dockyard compute show NAME) and its address",
    )


class Dashboard:
    """Reads a cluster through its dashboard's HTTP API (no driver)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url if "://" in url else f"http://{url}"
        self.timeout_s = timeout_s
        token = auth_token()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def serve_applications(self) -> dict[str, Any]:
        """Serve's view of every application (``/api/serve/applications/``): status, message,
        deployments and their replicas; ``{}`` when Serve is not running."""
        data = self._get("/api/serve/applications/")
        return dict(data.get("applications") or {})

    def replica_log(self, actor_id: str, suffix: str, lines: int) -> str:
        """The last ``lines`` of a replica's ``out`` or ``err`` file, from whichever node it runs on."""
        try:
            response = httpx.get(
                f"{self.url}/api/v0/logs/file",
                params={"actor_id": actor_id, "suffix": suffix, "lines": lines},
                headers=self.headers,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            return f"(the log of replica actor {actor_id} could not be read: {exc})\n"
        if response.status_code != 200:
            return f"(the log of replica actor {actor_id} could not be read: HTTP {response.status_code})\n"
        return response.text

    def _get(self, path: str) -> dict[str, Any]:
        try:
            response = httpx.get(f"{self.url}{path}", headers=self.headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise WebserviceError(
                f"Cannot read the Ray cluster's state from its dashboard at {self.url}: {exc}",
                hint="check that the cluster runs: dockyard compute list",
            ) from None
        if response.status_code == 404:
            return {}
        if response.status_code == 401:
            raise WebserviceError(
                f"The Ray dashboard at {self.url} refused dockyard's token (HTTP 401)",
                hint="give the cluster's token: set RAY_AUTH_TOKEN, or RAY_AUTH_TOKEN_PATH to its "
                "file (ray get-auth-token prints it on the head node)",
            )
        if response.status_code != 200:
            raise WebserviceError(
                f"The Ray dashboard at {self.url} answered {path} with HTTP "
                f"{response.status_code}: {response.text[:300]}",
                hint="check that the cluster runs: dockyard compute list",
            )
        result: dict[str, Any] = response.json()
        return result


def _host_port(address: str) -> tuple[str, int]:
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if not parsed.hostname or not parsed.port:
        raise DeploymentError(
            f"{address!r} is not a Ray cluster address",
            step="cluster",
            hint="give HOST:PORT of the cluster's GCS (127.0.0.1:6379) or ray://HOST:10001",
        )
    return parsed.hostname, parsed.port
