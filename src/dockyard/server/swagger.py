"""``GET /swagger.json?version=2|3|3.1``: the OpenAPI document of the service, as azmlinfsrv builds it.

For each version, a user file in the app root wins (``swagger.json`` or ``swagger2.json`` for 2,
``swagger3.json`` for 3, ``swagger3.1.json`` for 3.1). Otherwise the document is generated from
azmlinfsrv's template, with ``ServiceInput``/``ServiceOutput`` taken from the ``inference-schema``
decorators of run() (an undecorated run() gets ``{"type": "object", "example": {}}``), for the
versions the decorators support. ``SERVICE_NAME``, ``SERVICE_VERSION`` and ``SERVICE_PATH_PREFIX``
fill the template. Documents are serialised once, at start-up.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("dockyard.server.swagger")

_ERROR_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}}
_DEFAULT_INPUT = {
    "type": "object",
    "properties": {"param": {"type": "object", "additionalProperties": {"type": "object"}}},
}
_DEFAULT_OUTPUT = {"type": "object", "additionalProperties": {"type": "object"}}
_HEALTH_DESCRIPTION = "Simple health check endpoint to ensure the service is up at any given point."
_HEALTH_OK = (
    "If service is up and running, this response will be returned with the content 'Healthy'"
)
_ERROR_DESCRIPTION = "The service failed to execute due to an error."
_SCORE_DESCRIPTION = "Run web service's model and get the prediction output"
_SCORE_OK = (
    "The service processed the input correctly and provided a result prediction, if applicable."
)
_INPUT_DESCRIPTION = "The input payload for executing the real-time machine learning service."
_BEARER = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "For example: Bearer abc123",
}


def _info(name: str, version: str) -> dict[str, Any]:
    return {
        "title": name,
        "description": f"API specification for the Azure Machine Learning service {name}",
        "version": version,
    }


def _template_v2(name: str, version: str, prefix: str) -> dict[str, Any]:
    error_ref = {"$ref": "#/definitions/ErrorResponse"}
    return {
        "swagger": "2.0",
        "info": _info(name, version),
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"Bearer": dict(_BEARER)},
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH_DESCRIPTION,
                    "responses": {
                        "200": {
                            "description": _HEALTH_OK,
                            "schema": {"type": "string"},
                            "examples": {"application/json": "Healthy"},
                        },
                        "default": {"description": _ERROR_DESCRIPTION, "schema": dict(error_ref)},
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _SCORE_DESCRIPTION,
                    "security": [{"Bearer": []}],
                    "parameters": [
                        {
                            "name": "serviceInputPayload",
                            "in": "body",
                            "description": _INPUT_DESCRIPTION,
                            "schema": {"$ref": "#/definitions/ServiceInput"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": _SCORE_OK,
                            "schema": {"$ref": "#/definitions/ServiceOutput"},
                        },
                        "default": {"description": _ERROR_DESCRIPTION, "schema": dict(error_ref)},
                    },
                }
            },
            f"{prefix}/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "type": "integer",
                            "enum": [2, 3],
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "schema": {"type": "string"},
                        },
                        "default": {"description": _ERROR_DESCRIPTION, "schema": dict(error_ref)},
                    },
                }
            },
        },
        "definitions": {
            "ServiceInput": copy.deepcopy(_DEFAULT_INPUT),
            "ServiceOutput": copy.deepcopy(_DEFAULT_OUTPUT),
            "ErrorResponse": copy.deepcopy(_ERROR_SCHEMA),
        },
    }


def _json_content(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _template_v3(name: str, version: str, prefix: str) -> dict[str, Any]:
    error = "#/components/schemas/ErrorResponse"
    return {
        "openapi": "3.0.3",
        "info": _info(name, version),
        "security": [{"Bearer": []}],
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH_DESCRIPTION,
                    "responses": {
                        "200": {
                            "description": _HEALTH_OK,
                            "content": {
                                "text/plain": {"schema": {"type": "string", "example": "Healthy"}}
                            },
                        },
                        "default": {
                            "description": _ERROR_DESCRIPTION,
                            "content": _json_content(error),
                        },
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _SCORE_DESCRIPTION,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": _INPUT_DESCRIPTION,
                        "content": _json_content("#/components/schemas/ServiceInput"),
                    },
                    "responses": {
                        "200": {
                            "description": _SCORE_OK,
                            "content": _json_content("#/components/schemas/ServiceOutput"),
                        },
                        "default": {
                            "description": _ERROR_DESCRIPTION,
                            "content": _json_content(error),
                        },
                    },
                }
            },
            f"{prefix}/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [2, 3]},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "default": {
                            "description": _ERROR_DESCRIPTION,
                            "content": _json_content(error),
                        },
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "ServiceInput": copy.deepcopy(_DEFAULT_INPUT),
                "ServiceOutput": copy.deepcopy(_DEFAULT_OUTPUT),
                "ErrorResponse": copy.deepcopy(_ERROR_SCHEMA),
            },
            "securitySchemes": {"Bearer": dict(_BEARER)},
        },
    }


# version -> (aliases, user files tried in order)
_BUILDERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "2": (("2", "2.0"), ("swagger.json", "swagger2.json")),
    "3": (("3", "3.0"), ("swagger3.json",)),
    "3.1": (("3.1",), ("swagger3.1.json",)),
}
VALID_VERSIONS = frozenset(alias for aliases, _ in _BUILDERS.values() for alias in aliases)


class SwaggerError(Exception):
    """The requested version does not exist or is not available for this script (HTTP 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _schema_functions() -> tuple[Callable[..., Any], ...] | None:
    if "inference_schema" not in sys.modules:
        return None
    try:
        from inference_schema.schema_util import (
            get_input_schema,
            get_output_schema,
            get_supported_versions,
            is_schema_decorated,
        )
    except ImportError:
        return None
    return get_input_schema, get_output_schema, get_supported_versions, is_schema_decorated


class Swagger:
    """The serialised swagger documents of one script, by version alias."""

    def __init__(
        self,
        app_root: str,
        run: Callable[..., Any],
        service_name: str = "ML service",
        service_version: str = "1.0",
        path_prefix: str = "",
    ) -> None:
        prefix = f"/{path_prefix.strip('/')}" if path_prefix else ""
        functions = _schema_functions()
        self.documents: dict[str, bytes] = {}
        supported: list[str] = []
        skipped: list[str] = []
        for version, (aliases, user_files) in _BUILDERS.items():
            document = self._user_file(app_root, version, user_files)
            if document is None:
                document = self._generate(
                    version, aliases, run, functions, service_name, service_version, prefix
                )
            if document is not None:
                body = json.dumps(document).encode()
                for alias in aliases:
                    self.documents[alias] = body
                supported.append(version)
            else:
                skipped.append(version)
        self.supported = sorted(supported)
        if self.supported and skipped:
            logger.info(
                f"Swaggers are prepared for versions [{', '.join(self.supported)}] "
                f"and skipped for versions [{', '.join(sorted(skipped))}]."
            )
        elif self.supported:
            logger.info(
                f"Swaggers are prepared for the following versions: [{', '.join(self.supported)}]."
            )
        else:
            logger.info("No swagger is prepared.")

    @staticmethod
    def _user_file(app_root: str, version: str, names: tuple[str, ...]) -> Any:
        for name in names:
            path = os.path.join(app_root, name)
            try:
                with open(path, encoding="utf-8") as fh:
                    document = json.load(fh)
            except FileNotFoundError:
                continue
            except ValueError as exc:
                raise ValueError(
                    f"the swagger file {path} is not valid JSON ({exc}); fix it or remove it"
                ) from None
            logger.info(f"Loaded user's swagger file for version [{version}] from {path}")
            return document
        return None

    @staticmethod
    def _generate(
        version: str,
        aliases: tuple[str, ...],
        run: Callable[..., Any],
        functions: tuple[Callable[..., Any], ...] | None,
        name: str,
        service_version: str,
        prefix: str,
    ) -> dict[str, Any] | None:
        input_schema: Any = {"type": "object", "example": {}}
        output_schema: Any = {"type": "object", "example": {}}
        if functions is not None:
            get_input, get_output, get_versions, decorated = functions
            if all(alias not in get_versions(run) for alias in aliases):
                return None
            if decorated(run):
                input_schema, output_schema = get_input(run), get_output(run)
        if version == "2":
            document = _template_v2(name, service_version, prefix)
            document["definitions"]["ServiceInput"] = input_schema
            document["definitions"]["ServiceOutput"] = output_schema
        else:
            document = _template_v3(name, service_version, prefix)
            document["components"]["schemas"]["ServiceInput"] = input_schema
            document["components"]["schemas"]["ServiceOutput"] = output_schema
            if version == "3.1":
                document["openapi"] = "3.1.0"
        return document

    def get(self, version: str) -> bytes:
        """The document for ``version``; raises :class:`SwaggerError` with azmlinfsrv's message."""
        supported = ", ".join(self.supported)
        if version not in VALID_VERSIONS:
            raise SwaggerError(
                f"Swagger version [{version}] is not valid. Supported versions: [{supported}]."
            )
        document = self.documents.get(version)
        if not document or document in (b"{}", b"null", b"[]", b'""', b"0", b"false"):
            raise SwaggerError(
                f"Swagger version [{version}] is not supported for the scoring script. "
                f"Supported swagger versions: [{supported}]."
            )
        return document
