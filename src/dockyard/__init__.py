"""dockyard: register a model, build it into an image, deploy it as a web service, find out why it fails.

The public API mirrors Azure ML v1 (``azureml.core``), so that v1 code runs after changing only its
imports::

    from dockyard import Workspace, Model, Environment, InferenceConfig, LocalWebservice

Names are re-exported lazily (PEP 562 module ``__getattr__``): ``import dockyard.server`` inside a
deployment must not import SQLAlchemy, the Docker SDK, Ray, typer or rich.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    # errors
    "AzureMLException": ".errors",
    "ConflictError": ".errors",
    "DockyardError": ".errors",
    "ModelNotFoundException": ".errors",
    "NotFoundError": ".errors",
    "UserError": ".errors",
    "UserErrorException": ".errors",
    "WebserviceError": ".errors",
    "WebserviceException": ".errors",
    "diagnose": ".diagnosis",
    # workspace and secrets
    "Keyvault": ".workspace",
    "Workspace": ".workspace",
    # assets
    "CondaDependencies": ".assets.conda",
    "Environment": ".assets.environment",
    "InferenceConfig": ".assets.inference",
    "Model": ".assets.model",
    # images
    "ContainerImage": ".assets.image",
    "Image": ".assets.image",
    "ImageCreationError": ".errors",
    # compute targets (Ray clusters)
    "AksCompute": ".compute",
    "ComputeTarget": ".compute",
    "ComputeTargetException": ".compute",
    "RayCompute": ".compute",
    # web services and their deployment configurations
    "AciWebservice": ".webservice.container",
    "AksWebservice": ".webservice.cluster",
    "ClusterWebservice": ".webservice.cluster",
    "ContainerWebservice": ".webservice.container",
    "LocalWebservice": ".webservice.local",
    "Webservice": ".webservice.base",
    "measure_capacity": ".webservice.capacity",
    "replicas_needed": ".webservice.config",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # cache: the next access skips this function
    return value


def __dir__() -> list[str]:
    return __all__
