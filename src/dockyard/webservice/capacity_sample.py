"""The request body a capacity measurement sends: the caller's sample, else the example of the
service's swagger input, else a clear error saying how to give one.

A sample may be a dict or list (sent as JSON), a str or bytes (sent as given), or a path to a
JSON file (a ``pathlib.Path``, or a str naming an existing ``.json`` file). Without one, the
example comes from ``GET {scoring URI minus /score}/swagger.json`` (version 2, else 3):
``ServiceInput.example``, or the examples of its properties. An undecorated ``run()`` has the
generic input ``{"example": {}}``, which is no sample: the error says how to give one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dockyard.errors import SpecError, ValidationError


def sample_body(
    name: str, sample: Any, swagger_uri: str, client: Any, headers: dict[str, str]
) -> tuple[bytes, str]:
    """``(body, where it came from)`` for service ``name``; raises when there is none."""
    if sample is None:
        example, why = swagger_example(swagger_uri, client, headers)
        if example is None:
            raise SpecError(
                f"No sample request body for service {name!r}: {why}. Pass sample= (a dict, "
                "str or bytes, or the path of a JSON file; --sample FILE at the command line), "
                "or describe run()'s input with inference-schema's decorators so that its "
                "swagger carries an example",
                hint="give one request body that the service answers with 200, such as the "
                "body you send with `dockyard service run`",
            )
        return json.dumps(example).encode(), f"the example of {swagger_uri}"
    if isinstance(sample, bytes):
        return sample, "given"
    if isinstance(sample, os.PathLike) or (
        isinstance(sample, str) and sample.endswith(".json") and Path(sample).is_file()
    ):
        return _json_file(Path(sample)), f"file {sample}"
    if isinstance(sample, str):
        return sample.encode(), "given"
    try:
        return json.dumps(sample).encode(), "given"
    except TypeError as exc:
        raise ValidationError(
            f"The sample is not JSON-serialisable: {exc}",
            hint="give a str, bytes, the path of a JSON file, or plain lists, dicts and numbers",
        ) from None


def _json_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(
            f"The sample file {path} does not exist", hint="check the path of the sample file"
        ) from None
    except OSError as exc:
        raise SpecError(
            f"The sample file {path} cannot be read: {exc}", hint="check the file's permissions"
        ) from None
    try:
        json.loads(data)
    except ValueError as exc:
        raise SpecError(
            f"The sample file {path} is not valid JSON: {exc}",
            hint="write one request body as JSON in the file",
        ) from None
    return data


def swagger_example(uri: str, client: Any, headers: dict[str, str]) -> tuple[Any, str]:
    """``(example, why not)``: the example of the swagger's input, or None and the reason."""
    import httpx  # lazy: importing dockyard.webservice stays light

    why = f"its swagger ({uri}) gives no example of its input"
    for query in ("", "?version=3"):
        try:
            response = client.get(uri + query, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"its swagger ({uri}) could not be read ({type(exc).__name__}: {exc})"
        if response.status_code != 200:
            why = f"its swagger ({uri}{query}) answered {response.status_code}"
            continue
        try:
            document = response.json()
        except ValueError:
            return None, f"its swagger ({uri}{query}) is not JSON"
        schema = input_schema(document)
        example = example_of(schema)
        if example is not None:
            return example, ""
        if schema is not None:
            return None, why
    return None, why


def input_schema(document: Any) -> Any:
    """``ServiceInput`` of a swagger 2 or OpenAPI 3 document (None if it has none)."""
    if not isinstance(document, dict):
        return None
    definitions = document.get("definitions")
    if isinstance(definitions, dict) and "ServiceInput" in definitions:
        return definitions["ServiceInput"]
    components = document.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    if isinstance(schemas, dict):
        return schemas.get("ServiceInput")
    return None


def example_of(schema: Any) -> Any:
    """A schema's example, or one made of its properties' examples; None when it has neither
    (an empty example is the generic input of an undecorated run(): no sample)."""
    if not isinstance(schema, dict):
        return None
    example = schema.get("example")
    if example not in (None, {}, [], ""):
        return example
    properties = schema.get("properties")
    if (
        isinstance(properties, dict)
        and properties
        and all(isinstance(p, dict) and "example" in p for p in properties.values())
    ):
        return {key: p["example"] for key, p in properties.items()}
    return None
