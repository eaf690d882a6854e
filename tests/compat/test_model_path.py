"""Model.get_model_path() inside a deployment (azureml-core beside the oracle, dockyard's shim)."""

from __future__ import annotations

import json

import pytest

from .compare import Answer, assert_same

pytestmark = pytest.mark.oracle

LAYOUT = {
    "azureml-models/iris/1/model.joblib": "v1",
    "azureml-models/iris/2/model.joblib": "v2",
    "azureml-models/iris/10/model.joblib": "v10",
    "azureml-models/two-files/1/a.txt": "a",
    "azureml-models/two-files/1/b.txt": "b",
    "azureml-models/folder/3/weights/w.bin": "w",
    "azureml-models/no-version-dir/readme.txt": "not a version",
    "azureml-models/empty-version/4/.keep": "",
    "local-model.pkl": "in the app root",
    "local-dir/m.txt": "in a folder of the app root",
}

CASES = [
    ("latest", "name=iris"),
    ("explicit-version", "name=iris&version=2"),
    ("missing-version", "name=iris&version=5"),
    ("string-version", "name=iris&version=two"),
    ("two-files", "name=two-files"),
    ("folder", "name=folder"),
    ("non-numeric-version-dir", "name=no-version-dir"),
    ("hidden-file", "name=empty-version"),
    ("root-file", "name=local-model.pkl"),
    ("root-file-with-version", "name=local-model.pkl&version=1"),
    ("root-dir", "name=local-dir"),
    ("unknown", "name=nope"),
    ("unknown-with-version", "name=nope&version=1"),
    ("no-name", ""),
]


def _without_message(answer: Answer) -> Answer:
    body = json.loads(answer.body)
    body.pop("message", None)
    headers = tuple(h for h in answer.headers if h[0] != "content-length")
    return Answer(answer.status, headers, json.dumps(body).encode())


@pytest.mark.parametrize(("case", "query"), CASES, ids=[c[0] for c in CASES])
def test_get_model_path(pool, case: str, query: str) -> None:
    """Same paths and exception types; dockyard's error messages begin with azureml-core's and
    then name what was looked for and what is there (MISMATCHES.md D3)."""
    pair = pool.get("model_path", files=LAYOUT, model=False)
    oracle, dockyard = pair.exchange("GET", f"/score?{query}")
    if case == "non-numeric-version-dir":
        # MISMATCHES.md D4: azureml-core crashes on int("readme.txt"); dockyard names the folder.
        assert json.loads(oracle.body)["error"] == "ValueError"
        if pair.dockyard.kind == "dockyard":
            error = json.loads(dockyard.body)
            assert error["error"] == "WebserviceException" and "no-version-dir" in error["message"]
        return
    expected = json.loads(oracle.body)
    if "error" not in expected or pair.dockyard.kind == "oracle":
        assert_same(oracle, dockyard, query)
        return
    assert_same(_without_message(oracle), _without_message(dockyard), query)
    message = json.loads(dockyard.body)["message"]
    assert message.startswith(expected["message"]), message
