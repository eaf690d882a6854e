"""dockyard stand-in for ``azureml.core.model``: ``Model.get_model_path`` inside a deployment.

The rules are azureml-core's (``Model._get_model_path_local``), so a score.py finds its model
where it found it on Azure:

1. Look in ``$AML_APP_ROOT/azureml-models/<name>``. If that folder exists, take the version
   asked for, else the highest numbered version folder in it.
2. The version folder must hold exactly one file or folder, and that entry is the answer
   (``azureml-models/<name>/<version>/<the one entry>``); several entries are an error.
3. If the name or version folder does not exist, fall back to ``./<name>`` relative to the working
   directory (the app root in a deployment).

When nothing is found, the error names every path tried and lists what the models folder holds.
At DEBUG level (``logging.basicConfig(level=logging.DEBUG)``), every candidate is logged.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..exceptions import ModelNotFoundException, WebserviceException

module_logger = logging.getLogger(__name__)

_LISTING_LIMIT = 50


def _models_dir() -> str:
    return os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")


def _listing(directory: str) -> str:
    """Every file under ``directory`` (at most 50), for error messages."""
    if not os.path.isdir(directory):
        return f"{directory} does not exist"
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            found.append(os.path.join(root, name))
    found.sort()
    if not found:
        return f"{directory} is empty"
    more = f" (and {len(found) - _LISTING_LIMIT} more)" if len(found) > _LISTING_LIMIT else ""
    return f"{directory} holds: {', '.join(found[:_LISTING_LIMIT])}{more}"


class Model:
    """The part of ``azureml.core.Model`` that works inside a deployment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise WebserviceException(
            "Model(workspace, name) needs a workspace, which a deployment does not have; inside a "
            "score.py use Model.get_model_path(name) to find the deployed model's files"
        )

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: Any = None) -> str:
        """Return the path of the deployed model ``model_name`` (latest version unless ``version``).

        Raises ``WebserviceException`` for a bad version or a version folder with several entries,
        and ``ModelNotFoundException`` (``WebserviceException`` when a version was given) when the
        model is not found.
        """
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int")
        if _workspace is not None:
            module_logger.debug(
                "Ignoring _workspace inside a deployment: models are looked up on disk only"
            )
        if version is not None:
            try:
                return Model._get_model_path_local(model_name, version)
            except ModelNotFoundException as exc:
                raise WebserviceException(exc.message) from None
        return Model._get_model_path_local(model_name, version)

    @staticmethod
    def _get_model_path_local(model_name: str, version: int | None = None) -> str:
        if model_name is None:
            raise WebserviceException("model_name is None")
        models_dir = _models_dir()
        candidate = os.path.join(models_dir, model_name)
        module_logger.debug("Probing %s", candidate)
        if not os.path.exists(candidate):
            return Model._get_model_path_local_from_root(model_name, [candidate])
        if version is None:
            latest = Model._get_latest_version(os.listdir(candidate), candidate)
            module_logger.debug("version is None. Latest version is %s", latest)
        else:
            latest = version
            module_logger.debug("Using passed in version %s", latest)
        version_dir = os.path.join(candidate, str(latest))
        module_logger.debug("Probing %s", version_dir)
        if not os.path.exists(version_dir):
            return Model._get_model_path_local_from_root(model_name, [candidate, version_dir])
        entries = os.listdir(version_dir)
        if len(entries) != 1:
            raise WebserviceException(
                f"Dir {version_dir} can contain only 1 file or folder. Found {entries}"
            )
        found = os.path.join(version_dir, entries[0])
        module_logger.debug("Found model path at %s", found)
        return found

    @staticmethod
    def _get_model_path_local_from_root(model_name: str, tried: list[str] | None = None) -> str:
        models_dir = _models_dir()
        module_logger.debug(
            "Checking the working directory for %s; %s", model_name, _listing(models_dir)
        )
        module_logger.debug("Probing %s", os.path.abspath(model_name))
        if os.path.exists(model_name):
            return model_name
        paths = [*(tried or []), os.path.abspath(model_name)]
        raise ModelNotFoundException(
            f"Model {model_name} not found in cache at {models_dir} or in current working directory "
            f"{os.getcwd()}. For more info, set logging level to DEBUG. "
            f"Looked for: {', '.join(paths)}. {_listing(models_dir)}. "
            "Deploy the model under this name, or pass the name the model was registered with."
        )

    @staticmethod
    def _get_latest_version(versions: list[str], folder: str = "") -> int:
        numbers = []
        for entry in versions:
            try:
                numbers.append(int(entry))
            except ValueError:
                module_logger.debug("Ignoring %s in %s: not a version number", entry, folder)
        if not numbers:
            raise WebserviceException(
                f"versions is empty: {folder or 'the model folder'} has no version folders"
            )
        return max(numbers)
