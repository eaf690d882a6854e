"""Model.get_model_path() inside a deployment (azureml-core beside the oracle, dockyard's shim)."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(("case", "query"), CASES, ids=[c[0] for c in CASES])
def test_get_model_path(pool, case: str, query: str) -> None:
    pool.get("model_path", files=LAYOUT, model=False).check("GET", f"/score?{query}")
