"""GET /swagger.json?version=...: generated from the schema, generic, or the user's own files."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.oracle

VERSIONS = [None, "2", "2.0", "3", "3.0", "3.1", "4", "1", "", "3.1.0", "latest"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "script", ["echo", "schema_standard", "schema_numpy", "schema_pandas", "rawhttp_app"]
)
def test_swagger_versions(pool, script: str, version: str | None) -> None:
    path = "/swagger.json" if version is None else f"/swagger.json?version={version}"
    pool.get(script).check("GET", path)


USER_SWAGGER = {
    "swagger.json": json.dumps({"swagger": "2.0", "info": {"title": "user v2 (swagger.json)"}}),
    "swagger3.json": json.dumps({"openapi": "3.0.0", "info": {"title": "user v3"}}),
}


@pytest.mark.parametrize("version", [None, "2", "3", "3.1"])
def test_user_swagger_files(pool, version: str | None) -> None:
    pair = pool.get("schema_standard", files=USER_SWAGGER)
    path = "/swagger.json" if version is None else f"/swagger.json?version={version}"
    pair.check("GET", path)


@pytest.mark.parametrize("version", ["2", "3", "3.1"])
def test_user_swagger2_file_and_service_settings(pool, version: str) -> None:
    files = {
        "swagger2.json": json.dumps({"swagger": "2.0", "info": {"title": "from swagger2.json"}})
    }
    env = {"SERVICE_NAME": "iris-svc", "SERVICE_VERSION": "7", "SERVICE_PATH_PREFIX": "/api/v1/"}
    pool.get("echo", files=files, env=env).check("GET", f"/swagger.json?version={version}")
