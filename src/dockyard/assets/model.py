"""Registered models: ``Model.register``, ``Model(ws, name)``, ``Model.list``, download, tags.

The API is Azure ML v1's ``azureml.core.Model``. Files go into the workspace's blob store first
(streamed, deduplicated), then one short transaction records the new version, so a registration
that dies half-way leaves no visible model. SQL lives in ``store/models.py``; file handling in
``store/model_files.py``; finding a version by Azure's filters and laying its files out in
``_model_lookup.py``; ``get_model_path``'s rules in ``_model_path.py``. ``Model.deploy`` hands over to ``Webservice.deploy_from_model`` (the web
service layer) and ``Model.package`` to the image operations; neither is imported until used.
"""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.assets._model_lookup import find, lay_out, matching
from dockyard.assets._model_path import resolve
from dockyard.assets._model_rules import MODEL_NAME_RE, check_mapping, check_model_name
from dockyard.builders.specs import ModelFileSpec, ModelSpec
from dockyard.errors import UserError, ValidationError
from dockyard.store import model_files
from dockyard.store import models as model_store

if TYPE_CHECKING:
    from dockyard.builders.specs import ModelSpec
    from dockyard.store.models import ModelRecord as ModelRow
    from dockyard.workspace import Workspace

log = logging.getLogger(__name__)


#: Azure's rule for model (and environment) names.
class Model:
    """A registered model version (Azure ML v1's ``Model``)."""

    class Framework:
        CUSTOM = "Custom"
        MULTI = "Multi"
        ONNX = "Onnx"
        SCIKITLEARN = "ScikitLearn"
        TENSORFLOW = "TensorFlow"
        PYTORCH = "PyTorch"

    def __init__(
        self,
        workspace: Workspace | None,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        model_framework: str | None = None,
        expand: bool = True,
        **kwargs: Any,
    ) -> None:
        self.workspace = workspace
        self._row: ModelRow | None = None
        self._files: list[model_store.FileEntry] | None = None
        self.datasets: dict[str, Any] = {}
        self.run = self.run_id = self.experiment_name = self.created_by = None
        self.sample_input_dataset = self.sample_output_dataset = None
        self.resource_configuration = self.parent_id = self.derived_model_ids = None
        row = kwargs.get("_row")
        if row is None and workspace is None:
            return  # Model(None): filled by deserialize()
        if row is None:
            assert workspace is not None
            row = find(workspace, name, id, tags, properties, version, model_framework)
        self._load(row)

    def _load(self, row: ModelRow) -> None:
        self._row = row
        self.name: str = row.name
        self.version: int = row.version
        self.id = f"{row.name}:{row.version}"
        self.description = row.description
        self.tags: dict[str, Any] = dict(row.tags or {})
        self.properties: dict[str, Any] = dict(row.properties or {})
        self.model_framework = row.framework
        self.model_framework_version = row.framework_version
        self.created_time: datetime = row.created_at
        self.url = f"dockyard://models/{row.name}/{row.version}/{row.root}"
        self.mime_type = "application/octet-stream"
        self.unpack = False
        self.size = row.size
        self.file_count = row.file_count
        self.root = row.root
        self.is_folder = row.is_folder

    # --- registering ---------------------------------------------------------------------
    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        description: str | None = None,
        datasets: Any = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: Sequence[str] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: Any = None,
    ) -> Model:
        """Register the file or folder ``model_path`` as the next version of ``model_name``."""
        check_model_name(model_name)
        if model_framework is None and model_framework_version is not None:
            raise ValidationError(
                f"model_framework_version {model_framework_version!r} was given without model_framework.",
                hint="Pass model_framework too, e.g. Model.Framework.SCIKITLEARN.",
            )
        tag_values = check_mapping(tags, "tags")
        property_values = check_mapping(properties, "properties")
        root, is_folder, sources = model_files.collect(model_path, child_paths)
        log.info("Registering model %s (%d files)", model_name, len(sources))
        workspace.blobs.clean_temp()
        refs = workspace.blobs.put_files(src for src, _ in sources)
        entries = [
            model_store.FileEntry(rel, sha, size)
            for (_, rel), (sha, size) in zip(sources, refs, strict=True)
        ]
        row = model_store.add_version(
            workspace.store, name=model_name, root=root, is_folder=is_folder, files=entries,
            tags=tag_values, properties=property_values, description=description,
            framework=model_framework, framework_version=model_framework_version,
        )  # fmt: skip
        model = Model(workspace, _row=row)
        model._files = entries
        return model

    # --- finding -----------------------------------------------------------------------------
    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        dataset_id: str | None = None,
        expand: bool = True,
        page_count: int = 255,
        model_framework: str | None = None,
    ) -> list[Model]:
        """Models matching every filter, by name then newest version first."""
        rows = matching(workspace, name, tags, properties, model_framework, latest)
        return [Model(workspace, _row=row) for row in rows]

    @property
    def files(self) -> builtins.list[model_store.FileEntry]:
        """The model's files: POSIX path under the model's parent folder, sha256, size."""
        if self._files is None:
            self._files = model_store.files(self._ws.store, self._require_row().id)
        return self._files

    # --- changing ------------------------------------------------------------------------------
    def update(
        self, tags: dict[str, Any] | None = None, description: str | None = None, **_: Any
    ) -> None:
        """Replace the tags and/or the description."""
        if tags:
            self.tags = check_mapping(tags, "tags")
        if description:
            self.description = description
        model_store.update(
            self._ws.store, self._require_row().id, tags=self.tags, description=description
        )

    def update_tags_properties(
        self, add_tags: dict[str, Any] | None = None, remove_tags: Any = None,
        add_properties: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        new_props = check_mapping(add_properties, "properties")
        clash = [
            k for k in new_props if k in self.properties and self.properties[k] != new_props[k]
        ]
        if clash:
            raise ValidationError(
                f"Properties {clash!r} of model {self.id} already exist: properties cannot be changed, only added.",
                hint="Use tags for values that change.",
            )
        tags = dict(self.tags)
        tags.update(check_mapping(add_tags, "tags"))
        for key in [remove_tags] if isinstance(remove_tags, str) else (remove_tags or []):
            tags.pop(key, None)
        props = {**self.properties, **new_props}
        model_store.update(self._ws.store, self._require_row().id, tags=tags, properties=props)
        self.tags, self.properties = tags, props

    def add_tags(self, tags: dict[str, Any]) -> None:
        self.update_tags_properties(add_tags=tags)

    def remove_tags(self, tags: Any) -> None:
        self.update_tags_properties(remove_tags=tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        self.update_tags_properties(add_properties=properties)

    def delete(self) -> None:
        """Delete this version (refused while a service uses it); unused blobs are reclaimed later."""
        model_store.delete_version(self._ws.store, self.name, self.version)
        ws = self._ws
        ws.blobs.remove_unreferenced(
            set(model_store.referenced_blobs(ws.store)), grace_seconds=3600
        )

    # --- files -------------------------------------------------------------------------------
    def download(
        self,
        target_dir: str | os.PathLike[str] = ".",
        exist_ok: bool = False,
        exists_ok: bool | None = None,
    ) -> str:
        """Copy the files under ``target_dir``; return the model's path there (file or folder)."""
        if exists_ok is not None:
            exist_ok = exists_ok
        paths = model_files.download(
            self._ws.blobs, self.files, Path(target_dir), exist_ok=exist_ok
        )
        return os.path.commonpath([str(p) for p in paths])

    def local_path(self) -> str:
        """The registered files, laid out read-only under the workspace (``models/NAME/VERSION``)."""
        return lay_out(self._ws, self._require_row(), self.files)

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """The local path of a registered model's file or folder.

        Inside a deployment it resolves under ``AML_APP_ROOT/azureml-models``; otherwise it uses
        ``_workspace`` (else the workspace of the nearest config file) and lays the files out
        read-only under the workspace.
        """
        return resolve(model_name, version, _workspace)

    # --- deployment ----------------------------------------------------------------------------
    def to_spec(self) -> ModelSpec:
        """The plain spec ``build/`` lays out: every file with the path of its stored blob."""

        files = tuple(
            ModelFileSpec(
                relative_path=f.path,
                blob_path=self._ws.blobs.blob_path(f.sha256),
                sha256=f.sha256,
                size=f.size,
            )
            for f in self.files
        )
        return ModelSpec(name=self.name, version=self.version, files=files)

    @staticmethod
    def deploy(
        workspace: Workspace,
        name: str,
        models: builtins.list[Any],
        inference_config: Any = None,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        show_output: bool = False,
    ) -> Any:
        """Deploy ``models`` as a web service named ``name`` and return the ``Webservice``.

        With no ``deployment_config`` (or ``LocalWebservice.deploy_configuration()``) the service
        runs on this machine without Docker. Follow it with ``service.wait_for_deployment()``.
        """
        from dockyard.webservice.base import Webservice  # the web service layer, when deploying

        return Webservice.deploy_from_model(
            workspace, name, models, inference_config, deployment_config,
            deployment_target=deployment_target, overwrite=overwrite,
        )  # fmt: skip

    @staticmethod
    def package(
        workspace: Workspace,
        models: builtins.list[Any],
        inference_config: Any = None,
        generate_dockerfile: bool = False,
        image_name: str | None = None,
        image_label: str | None = None,
    ) -> Any:
        """Build a container image of ``models`` with the entry script and environment, without
        deploying it (``generate_dockerfile=True``: only write the Dockerfile and its context, for
        users who build in their own CI). Returns an object with ``wait_for_creation()``,
        ``location``, ``pull()`` and ``save(dir)``."""
        from dockyard.assets._image_package import package  # builders and the engine, when used

        return package(
            workspace,
            models,
            inference_config,
            generate_dockerfile=generate_dockerfile,
            image_name=image_name,
            image_label=image_label,
        )

    # --- serialization -------------------------------------------------------------------------
    def serialize(self) -> dict[str, Any]:
        return {
            "createdTime": self.created_time.isoformat() if self.created_time else None,
            "createdBy": None,
            "description": self.description,
            "id": self.id,
            "mimeType": self.mime_type,
            "name": self.name,
            "framework": self.model_framework,
            "frameworkVersion": self.model_framework_version,
            "tags": self.tags,
            "properties": self.properties,
            "unpack": self.unpack,
            "url": self.url,
            "version": self.version,
            "experimentName": None,
            "runId": None,
            "runDetails": "None",
            "datasets": [],
            "resourceConfiguration": None,
            "sampleInputDatasetId": None,
            "sampleOutputDatasetId": None,
            "size": self.size,
            "fileCount": self.file_count,
        }

    @staticmethod
    def deserialize(workspace: Workspace, model_payload: Mapping[str, Any]) -> Model:
        """The model a ``serialize()`` payload describes, looked up in ``workspace``."""
        model_id = model_payload.get("id") if isinstance(model_payload, Mapping) else None
        if not isinstance(model_id, str):
            raise ValidationError(
                f"Cannot deserialize {model_payload!r}: it has no 'id' of the form 'name:version'.",
                hint="Pass a dict produced by Model.serialize().",
            )
        return Model(workspace, id=model_id)

    # --- helpers -------------------------------------------------------------------------------
    @property
    def _ws(self) -> Workspace:
        if self.workspace is None:
            raise UserError("This Model is not attached to a workspace.")
        return self.workspace

    def _require_row(self) -> ModelRow:
        if self._row is None:
            raise UserError("This Model was not loaded from a workspace.")
        return self._row

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (other.workspace, other.id) == (self.workspace, self.id)

    def __hash__(self) -> int:
        return hash(self.id)


class ModelsView(Mapping[str, Model]):
    """``ws.models``: the latest version of each registered model, by name."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def __getitem__(self, name: str) -> Model:
        row = model_store.get(self._ws.store, name)
        if row is None:
            raise KeyError(name)
        return Model(self._ws, _row=row)

    def __iter__(self) -> Iterator[str]:
        return iter(model_store.names(self._ws.store))

    def __len__(self) -> int:
        return len(model_store.names(self._ws.store))

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{n!r}: {m!r}' for n, m in self.items())}}}"


__all__ = ["MODEL_NAME_RE", "Model", "ModelsView", "check_model_name"]
