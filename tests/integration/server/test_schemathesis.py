"""schemathesis against /swagger.json of a schema-decorated script: no 5xx the script did not cause."""

from __future__ import annotations

import pytest

SCRIPT = """
from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType

def init(): pass

@input_schema("name", StandardPythonParameterType("iris"))
@input_schema("note", StandardPythonParameterType("text"))
@output_schema(StandardPythonParameterType({"name": "iris", "length": 4}))
def run(name, note="none"):
    return {"name": str(name), "length": len(str(note))}
"""


@pytest.mark.slow
@pytest.mark.parametrize("version", ["2", "3"])
def test_schemathesis_finds_no_server_errors(start_server, version: str) -> None:  # type: ignore[no-untyped-def]
    """Every 5xx must be one the script caused (``x-ms-run-function-failed: True``)."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    server = start_server(SCRIPT)
    schema = schemathesis.openapi.from_url(f"{server.url}/swagger.json?version={version}")
    server_errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert "/score" in {op.path for op in operations}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=server.url, timeout=30)
            if (
                response.status_code >= 500
                and response.headers.get("x-ms-run-function-failed") != "True"
            ):
                server_errors.append(
                    f"{case.method} {case.path} {case.body!r} -> {response.status_code} {response.text[:200]}"
                )

        check()
    assert server_errors == []
