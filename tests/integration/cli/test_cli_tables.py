"""Tables never cut identifiers, URIs or paths (issue 9, item 10).

The CLI runs as a user pipes it: a subprocess, output piped, ``COLUMNS=80``. Every value a user
copies (scoring URI, model id, image location, build-log URI, paths in a traceback) must appear
whole, on one line.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard import InferenceConfig, Model
from tests.integration.cli.conftest import LONG_MODEL, cli
from tests.integration.docker.conftest import (  # noqa: F401 - fixtures used by name
    base_image,
    docker_client,
)

pytestmark = pytest.mark.slow


def _whole(value: str, output: str) -> bool:
    """``value`` appears on one line of ``output``, uncut, as a value of its own."""
    return any(value in line for line in output.splitlines())


def _deploy(ws: Any, project: Path, name: str, script: str | None = None) -> Any:
    if script is not None:
        (project / "src" / "score.py").write_text(script)
    model = Model.register(ws, model_path=str(project / "model.txt"), model_name=LONG_MODEL)
    config = InferenceConfig(entry_script="score.py", source_directory=str(project / "src"))
    return Model.deploy(ws, name, [model], config)


def test_service_and_model_tables_keep_uris_and_names_whole_at_80_columns(
    ws: Any, project: Path, services: list[str]
) -> None:
    name = "tables-service-with-a-long-name"
    service = _deploy(ws, project, name)
    services.append(name)
    service.wait_for_deployment()
    uri, model_id = service.scoring_uri, f"{LONG_MODEL}:1"
    w = ["--workspace", str(ws.path)]

    for args in (["service", "list"], ["service", "show", name], ["model", "list"],
                 ["model", "show", model_id]):  # fmt: skip
        result = cli(*args, *w)
        assert result.code == 0, result.stderr
        assert "…" not in result.stdout, result.stdout
        assert _whole(model_id, result.stdout), f"{args}: {result.stdout}"
        if args[0] == "service":
            assert _whole(uri, result.stdout), f"{args}: {result.stdout}"
    listing = cli("service", "list", *w).stdout
    assert re.search(rf"^scoringUri: +{re.escape(uri)}$", listing, re.M), listing
    assert re.search(rf"^models: +{re.escape(model_id)}$", listing, re.M), listing

    # A wide terminal gets one line per service, every value whole.
    wide = cli("service", "list", *w, columns=250).stdout.splitlines()
    assert wide[0].split() == [
        "name",
        "computeType",
        "state",
        "scoringUri",
        "restartCount",
        "models",
        "debugger",
    ]
    assert wide[1].split() == [name, "Local", "Healthy", uri, "0", model_id, "off"]


def test_service_show_prints_the_traceback_with_paths_unbroken(
    ws: Any, project: Path, services: list[str]
) -> None:
    name = "tables-crash"
    script = (
        "def init():\n    raise RuntimeError('no model here')\n\ndef run(data):\n    return data\n"
    )
    _deploy(ws, project, name, script)
    services.append(name)
    deadline = time.monotonic() + 60
    result = cli("service", "show", name, "--workspace", str(ws.path))
    while "no model here" not in result.stdout and time.monotonic() < deadline:
        time.sleep(0.5)
        result = cli("service", "show", name, "--workspace", str(ws.path))
    assert "RuntimeError: no model here" in result.stdout, result.stdout
    score_lines = [line for line in result.stdout.splitlines() if 'score.py", line' in line]
    assert score_lines and any(len(line) > 80 for line in score_lines), result.stdout
    for line in score_lines:  # File "/.../score.py", line 2, in init: the path is whole
        path = Path(line.split('File "', 1)[1].split('"', 1)[0])
        assert path.is_absolute() and path.name == "score.py" and path.is_file(), line


@pytest.mark.docker
def test_image_tables_keep_location_and_build_log_uri_whole(
    ws: Any,
    project: Path,
    base_image: str,  # noqa: F811
) -> None:
    w = ["--workspace", str(ws.path)]
    assert cli("model", "register", str(project / "model.txt"), "--name", LONG_MODEL, *w).code == 0
    made = cli(
        "image", "create", "--name", "tables-image-with-a-long-name", "-m", f"{LONG_MODEL}:1",
        "--entry-script", "score.py", "--source-directory", str(project / "src"), "--quiet", *w,
        timeout=600,
    )  # fmt: skip
    assert made.code == 0, made.stderr
    from dockyard.assets.image import Image

    image = Image(ws, "tables-image-with-a-long-name")
    try:
        for args in (["image", "list"], ["image", "show", image.id], ["image", "create"]):
            output = made.stdout if args == ["image", "create"] else cli(*args, *w).stdout
            assert "…" not in output
            assert _whole(image.image_location, output), f"{args}: {output}"
            assert _whole(f"{LONG_MODEL}:1", output), f"{args}: {output}"
            if args != ["image", "list"]:
                assert _whole(image.image_build_log_uri, output), f"{args}: {output}"
                assert "MB" in output  # sizes for people in tables...
        shown = cli("image", "show", image.id, *w, "--output", "json").stdout
        assert '"size": ' in shown and "MB" not in shown  # ... bytes for scripts
    finally:
        image.delete()
