"""An image version as users read it: Azure's keys (``Image.serialize()``, the CLI's
``--output json``, ``ModelPackage.serialize()``), from the plain record."""

from __future__ import annotations

from typing import Any

from dockyard.ops import images
from dockyard.ops.images import ImageRecord

IMAGE_TYPE = "Docker"
IMAGE_FLAVOR = "WEBAPI.CONTAINER"


def serialize(record: ImageRecord) -> dict[str, Any]:
    """The record with Azure's ``Image.serialize()`` keys (sizes in bytes, seconds)."""
    return {
        "id": images.image_id(record),
        "name": record.name,
        "version": record.version,
        "creationState": record.state,
        "imageLocation": images.location(record),
        "imageBuildLogUri": images.build_log_uri(record),
        "modelIds": list(record.model_ids),
        "environmentBuildHash": record.environment_build_hash,
        "imageType": IMAGE_TYPE,
        "imageFlavor": IMAGE_FLAVOR,
        "description": record.description,
        "tags": dict(record.tags),
        "properties": dict(record.properties),
        "createdTime": record.created_at.isoformat() if record.created_at else None,
        "error": record.error,
        "size": record.spec.get("size"),
        "baseSize": record.spec.get("base_size"),
        "buildSeconds": record.spec.get("seconds"),
    }
