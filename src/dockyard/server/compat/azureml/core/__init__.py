"""dockyard stand-in for ``azureml.core`` inside a deployment: only ``Model`` is available."""

from typing import Any

from .model import Model

__all__ = ["Model"]


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"azureml.core.{name} is not available inside a dockyard deployment (only Model.get_model_path is); "
        "use dockyard's SDK outside the deployment, or install azureml-core in the environment"
    )
