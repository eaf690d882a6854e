"""The plain, frozen data the user objects hand to the operations.

:class:`ServiceSettings` is a deployment configuration (``LocalWebservice.deploy_configuration``,
``AciWebservice.deploy_configuration`` ...) made plain by its ``to_settings()``; :class:`ServicePlan`
is what to run (models, script, environment), made plain by the user objects from registered
models and an ``InferenceConfig``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.builders.specs import EnvironmentSpec, ModelSpec

#: A progress line of a long step ("environment: ...", "image: built ...").
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServiceSettings:
    """How and where a service runs (a deployment configuration as plain data)."""

    engine: str  # the target that runs it: dockyard.targets.target_for(engine)
    config: dict[str, Any]  # the configuration as the record keeps it (Azure's names)
    port: int = 0
    #: Re-deploying under a taken name replaces the service (Azure's local target); else it is
    #: refused unless ``overwrite=True``.
    replaces_same_name: bool = False
    #: ``reload()`` is allowed (local services, processes or Docker).
    reloadable: bool = False
    auth_enabled: bool = False
    primary_key: str | None = None
    secondary_key: str | None = None
    server_env: dict[str, str] = field(default_factory=dict)  # scoring timeout, limits, debug
    worker_count: int = 1
    startup_timeout_seconds: float | None = None
    cpu_cores: float | None = None
    memory_gb: float | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    #: Where on its engine the service runs, for engines with several places (a Ray cluster:
    #: ``name``, ``address``, ``serve_host``, ``serve_port``); set from the deployment target.
    placement: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRelease:
    """An image to run: a reference the engine has, and what it was built from."""

    reference: str
    image_id: str  # "name:version" in the workspace's image registry
    location: str | None
    model_ids: tuple[str, ...]
    inference: dict[str, Any]  # the image's own inference config, for deploy_from_image


@dataclass(frozen=True)
class ServicePlan:
    """What a service runs, as plain data.

    For targets that run on this machine: ``models``, ``entry_script``, ``source_directory``,
    ``environment`` (None: dockyard's own Python). For targets that run an image: ``image``, a
    function that finds or builds it (called once the service is recorded, so that its progress
    and failure are recorded too).
    """

    model_ids: tuple[str, ...]
    inference: dict[str, Any]  # the InferenceConfig as the record keeps it (reload reads it back)
    models: tuple[ModelSpec, ...] = ()
    entry_script: Path | None = None
    source_directory: Path | None = None
    environment: EnvironmentSpec | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    image: Callable[[Progress], ImageRelease] | None = None
