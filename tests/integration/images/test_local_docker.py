"""A local service in Docker (``LocalWebservice.deploy_configuration(docker=True)``): the seed's
"debug locally" story with ``reload()`` and ``update()``, and no failed request while switching."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard import InferenceConfig, LocalWebservice, Model, Webservice

from .conftest import SCORE, test_sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class _Load:
    """Light load: one client, a new connection per request, about 50 requests/s."""

    def __init__(self, uri: str) -> None:
        self.uri, self.ok, self.failures = uri, 0, []  # type: ignore[var-annotated]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                response = httpx.post(self.uri, content=test_sample, timeout=10)
                if response.status_code == 200:
                    self.ok += 1
                else:
                    self.failures.append(response.status_code)
            except httpx.HTTPError as exc:
                self.failures.append(repr(exc))
            time.sleep(0.02)

    def __enter__(self) -> _Load:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join()


def test_reload_and_update_on_a_docker_backed_local_service(
    ws: Any, project: Path, made: Any
) -> None:
    made["services"].append("local-docker")
    model = Model.register(ws, model_path="model.json", model_name="summer")
    inference_config = InferenceConfig(entry_script="score.py", conda_file="myenv.yml")
    deployment_config = LocalWebservice.deploy_configuration(docker=True)
    service = Model.deploy(ws, "local-docker", [model], inference_config, deployment_config)
    service.wait_for_deployment(True)
    assert Webservice(ws, "local-docker").compute_type == "Local"
    port = service.port
    assert service.run(input_data=test_sample) == {"version": 1, "result": [110, 110]}

    with _Load(service.scoring_uri) as load:
        Path("score.py").write_text(SCORE.replace("VERSION = 1", "VERSION = 2"))
        started = time.monotonic()
        service.reload()
        reload_seconds = time.monotonic() - started
        assert service.run(input_data=test_sample)["version"] == 2

        (project / "v2").mkdir()
        (project / "v2" / "model.json").write_text(json.dumps({"factor": 3}))
        model2 = Model.register(ws, model_path="v2/model.json", model_name="summer")
        service.update(models=[model2], inference_config=inference_config)
        assert service.run(input_data=test_sample) == {"version": 2, "result": [165, 165]}
        time.sleep(0.5)
    print(f"reload {reload_seconds:.1f} s; {load.ok} requests during reload+update")
    assert load.failures == [] and load.ok > 20
    assert service.port == port and service.state == "Healthy"
    assert service.models == ["summer:2"]
    assert "init done, factor 3" in service.get_logs()

    # Re-deploying a local service under the same name replaces it (Azure's local target does).
    again = Model.deploy(ws, "local-docker", [model], inference_config, deployment_config)
    again.wait_for_deployment()
    assert again.run(input_data=test_sample)["result"] == [110, 110]
