"""``LocalWebservice``: a service on this machine, as supervised processes (no Docker needed).

The seed guide's "debug locally" story: deploy, ``run``, edit score.py, ``reload()``, ``run`` again
and see the change; ``update()`` to new models or environment on the same port; ``get_logs()``;
``delete()``.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import DeploymentError
from dockyard.targets.base import FAILED, TargetStatus
from dockyard.targets.local import LocalTarget
from dockyard.webservice import keys, records
from dockyard.webservice.base import Webservice
from dockyard.webservice.config import LocalDeploymentConfig, build_config
from dockyard.webservice.deploy import prepare, prune_app_roots

#: How long reload()/update() wait for the new version to take over or fail.
SWITCH_TIMEOUT_SECONDS = 600.0


class LocalWebservice(Webservice):
    """A web service running on this machine."""

    _compute_type = "Local"
    _target_kind = "local"

    @staticmethod
    def deploy_configuration(port: int | None = None, **kwargs: Any) -> LocalDeploymentConfig:
        """Where the local service listens (a free port when ``port`` is None)."""
        config = build_config(LocalDeploymentConfig, port=port, **kwargs)
        assert isinstance(config, LocalDeploymentConfig)
        return config

    # --- reading --------------------------------------------------------------------------------
    def _target_status(self) -> TargetStatus:
        return LocalTarget().status(self.name, self._service_dir())

    def _read_logs(self, num_lines: int) -> str:  # get_logs() (base) adds request_id
        return LocalTarget().logs(self.name, self._service_dir(), num_lines)

    # --- lifecycle ------------------------------------------------------------------------------
    def reload(self, wait: bool = False) -> None:
        """Re-read score.py and the source directory from where the InferenceConfig points and
        restart the server with them. Returns once the new code serves (about a second); if it
        fails, the running version keeps serving and ``WebserviceException`` says why."""
        inference_config = self._inference_config()
        self._roll_out(self._models(), inference_config, self._config(), "reload", wait)

    def update(
        self,
        models: list[Any] | None = None,
        inference_config: Any = None,
        deployment_config: LocalDeploymentConfig | None = None,
        wait: bool = False,
        **_: Any,
    ) -> None:
        """Start the new version beside the old on the same port, switch, stop the old.

        No request fails during the switch; once this returns every answer comes from the new
        version. If the new version fails, the old one keeps serving and the error says why.
        Keys are kept.
        """
        config = deployment_config or self._config()
        if config.port and config.port != self.port:
            raise DeploymentError(
                f"update() cannot move service {self.name!r} from port {self.port} to {config.port}",
                step="update",
                hint="delete and deploy again to change the port",
            )
        chosen_models = self._models() if models is None else list(models)
        self._roll_out(
            chosen_models, inference_config or self._inference_config(), config, "update", wait
        )

    def _roll_out(
        self, models: list[Any], inference_config: Any, config: Any, what: str, wait: bool
    ) -> None:
        target = LocalTarget()
        service_dir = self._service_dir()
        port = self.port or 0

        def progress(message: str) -> None:
            records.save(self.workspace, self._record, event=f"{what}: {message}")

        spec = prepare(
            self.workspace, self.name, models, inference_config, config, service_dir, port, progress
        )
        if config.auth_enabled:
            primary, secondary = keys.ensure(self.workspace, self.name)
            keys.write_file(service_dir / keys.KEYS_FILE, primary, secondary)
        revision = target.update(spec)
        result = target.wait_for_revision(self.name, service_dir, revision, SWITCH_TIMEOUT_SECONDS)
        if result.get("state") == FAILED:
            if result.get("previous_serving"):
                prune_app_roots(
                    service_dir, keep={p for p in service_dir.glob("app-*") if p != spec.app_root}
                )
                outcome = "the previous version keeps serving"
            else:
                outcome = "no version of it is serving now"
            raise DeploymentError(
                f"{what} of service {self.name!r} failed; {outcome}.\n{result.get('error') or ''}",
                step=what,
                hint="fix the script or environment and try again; service.get_logs() has the full log",
            )
        self._record.spec["config"] = config.serialize()
        if inference_config is not None and hasattr(inference_config, "serialize"):
            self._record.spec["inference"] = dict(inference_config.serialize())
        self._record.model_ids = [
            f"{m.name}:{m.version}" if not isinstance(m, str) else m for m in models
        ]
        self._refresh()  # record the state the new version is in, not the one before it
        records.save(self.workspace, self._record, event=f"{what}: done")
        prune_app_roots(service_dir, keep={spec.app_root})
        if wait:
            self.wait_for_deployment()

    def start(self) -> None:
        """Start a stopped service again (e.g. after a reboot) from its recorded deployment."""
        LocalTarget().start(self.name, self._service_dir())

    def stop(self) -> None:
        """Stop the service's processes; ``start()`` brings it back."""
        LocalTarget().stop(self.name, self._service_dir())
        self._refresh()

    def delete(self) -> None:
        """Stop the processes, free the port and remove the service's records (models stay)."""
        LocalTarget().delete(self.name, self._service_dir())
        if self.auth_enabled:
            keys.forget(self.workspace, self.name)
        records.remove(self.workspace, self.name)

    # --- what was deployed ----------------------------------------------------------------------
    def _config(self) -> LocalDeploymentConfig:
        return LocalDeploymentConfig(**self._record.spec.get("config", {}))

    def _inference_config(self) -> Any:
        from dockyard.assets.inference import InferenceConfig

        data = self._record.spec.get("inference") or {}
        return InferenceConfig.deserialize(self.workspace, data)

    def _models(self) -> list[str]:
        return list(self._record.model_ids)
