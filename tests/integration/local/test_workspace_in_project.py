"""A workspace kept inside the project folder that is also the source directory (a common set-up:
``Workspace.create(path="ws")`` or ``path="."`` next to score.py) is not copied into the app root."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import httpx
import pytest

from dockyard import InferenceConfig, Model, Webservice, Workspace

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("ws_folder", ["ws", "."])
def test_source_directory_holding_the_workspace_deploys(tmp_path: Path, ws_folder: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "score.py").write_text(
        "import os\n\ndef init():\n    pass\n\ndef run(data):\n    return sorted(os.listdir('project'))\n"
    )
    (project / "helper.py").write_text("X = 1\n")
    (project / "weights.txt").write_text("w")
    ws = Workspace.create("inproject", path=str(project / ws_folder), exist_ok=True)
    model = Model.register(ws, model_path=str(project / "weights.txt"), model_name="w")
    config = InferenceConfig(entry_script="score.py", source_directory=str(project))
    service = Model.deploy(ws, "inproject", [model], config)
    try:
        service.wait_for_deployment(timeout_sec=120)
        listed = httpx.post(service.scoring_uri or "", content="x", timeout=30).json()
        assert {"score.py", "helper.py", "weights.txt"} <= set(listed)
        assert not {"ws", "blobs", "services", "metadata.db", "workspace.json"} & set(listed)
        service.reload()  # a second copy next to the first one still works
        assert httpx.post(service.scoring_uri or "", content="x", timeout=30).status_code == 200
    finally:
        with contextlib.suppress(Exception):
            Webservice(ws, "inproject").delete()
    assert os.path.isdir(project / ws_folder / "blobs")
