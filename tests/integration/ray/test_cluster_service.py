"""Cluster services on a real local Ray: the seed's AKS code with only its imports changed,
scoring, keys and their rotation without restarts, token auth, an init() failure's traceback in
the state error, autoscaling up and back under a bounded load, 503 with Retry-After when
saturated, an update under load without a failed request, a failed update that leaves the old
version serving, and delete freeing everything.

Every request goes to 127.0.0.1 (the cluster's Serve proxy)."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard import (
    AksCompute,
    AksWebservice,
    ComputeTarget,
    Environment,
    InferenceConfig,
    Model,
    Webservice,
    Workspace,
)
from dockyard.targets.ray_processes import listeners
from tests.integration.ray.conftest import RayClusterFacts

pytestmark = [pytest.mark.ray, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "samples" / "diabetes"

ECHO = """
import json, os, time
def init():
    global started
    started = os.getpid()
def run(raw):
    data = json.loads(raw)
    time.sleep(float(data.get("sleep", 0)))
    return {"echo": data, "pid": started, "model_dir": os.environ.get("AZUREML_MODEL_DIR")}
"""

FAILING = """
def init():
    raise FileNotFoundError("model.pkl is not in the model folder")
def run(raw):
    return raw
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("ray-tests", path=str(tmp_path / "ws"), exist_ok=True)


@pytest.fixture
def aks_target(ws: Workspace, ray_cluster: RayClusterFacts) -> ComputeTarget:
    config = AksCompute.attach_configuration(
        address=ray_cluster.address, serve_port=ray_cluster.serve_port
    )
    target = ComputeTarget.attach(ws, "myaks", config)
    target.wait_for_completion(show_output=False)
    return target


@pytest.fixture
def services(ws: Workspace) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(Exception):
            Webservice(ws, name).delete()


def script(tmp_path: Path, text: str, name: str = "score.py") -> Path:
    folder = tmp_path / f"src-{abs(hash(text)) % 10_000}"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def echo_model(ws: Workspace, tmp_path: Path) -> Model:
    weights = tmp_path / "weights.txt"
    weights.write_text("42\n")
    return Model.register(ws, model_path=str(weights), model_name="echo")


def deploy_echo(
    ws: Workspace,
    tmp_path: Path,
    target: ComputeTarget,
    name: str,
    text: str = ECHO,
    **config: object,
) -> Webservice:
    source = script(tmp_path, text)
    inference = InferenceConfig(entry_script="score.py", source_directory=str(source))
    deployment = AksWebservice.deploy_configuration(cpu_cores=0.1, memory_gb=0.1, **config)
    service = Model.deploy(
        ws, name, [echo_model(ws, tmp_path)], inference, deployment, deployment_target=target
    )
    return service


def post(
    service: Webservice, body: dict, key: str | None = None, timeout: float = 30
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    assert service.scoring_uri is not None
    assert service.scoring_uri.startswith("http://127.0.0.1:")
    return httpx.post(service.scoring_uri, json=body, headers=headers, timeout=timeout)


def serve_apps(ray_cluster: RayClusterFacts) -> dict:
    return httpx.get(f"{ray_cluster.dashboard_url}/api/serve/applications/", timeout=10).json()[
        "applications"
    ]


def test_the_seeds_aks_code_deploys_the_sample_model_and_scores(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    sys.path.insert(0, str(SAMPLE))
    try:
        from train import train  # the bundled sample's own training script
    finally:
        sys.path.remove(str(SAMPLE))
    model_file = train(tmp_path / "outputs")
    model = Model.register(
        ws, model_path=str(model_file), model_name="sklearn_regression_model.pkl"
    )
    env = Environment.from_conda_specification("diabetes-env", str(SAMPLE / "environment.yml"))
    inference_config = InferenceConfig(entry_script=str(SAMPLE / "score.py"), environment=env)
    # the seed's AKS configuration, imports changed only
    aks_config = AksWebservice.deploy_configuration(
        autoscale_enabled=True,
        autoscale_min_replicas=1,
        autoscale_max_replicas=2,
        autoscale_target_utilization=30,
        cpu_cores=0.1,
        memory_gb=0.2,
    )
    services.append("diabetes-aks")
    service = Model.deploy(
        ws, "diabetes-aks", [model], inference_config, aks_config, deployment_target=aks_target
    )
    service.wait_for_deployment(show_output=True)
    assert service.state == "Healthy"
    assert service.compute_type == "AKS"
    assert isinstance(Webservice(ws, "diabetes-aks"), AksWebservice)
    assert service.scoring_uri.endswith("/api/v1/service/diabetes-aks/score")
    primary, _ = service.get_keys()
    answer = post(service, {"data": [[0.1] * 10, [0.2] * 10]}, key=primary)
    assert answer.status_code == 200, answer.text
    predictions = answer.json()
    assert len(predictions) == 2 and all(isinstance(p, float) for p in predictions)
    # the same answer through the SDK, and the service in the workspace's list
    assert service.run(json.dumps({"data": [[0.1] * 10]})) == predictions[:1]
    assert "diabetes-aks" in ws.webservices
    assert service.serialize()["replicas"] >= 1


def test_keys_rotate_without_restarting_replicas_and_token_auth_takes_tokens_only(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("keys-svc")
    service = deploy_echo(ws, tmp_path, aks_target, "keys-svc")
    primary, secondary = service.get_keys()
    assert post(service, {"a": 1}).status_code == 401
    first = post(service, {"a": 1}, key=secondary)
    assert first.status_code == 200
    pid = first.json()["pid"]
    service.regen_key("Primary")
    new_primary, _ = service.get_keys()
    assert new_primary != primary
    assert post(service, {"a": 2}, key=new_primary).status_code == 200
    assert post(service, {"a": 2}, key=primary).status_code == 401
    assert post(service, {"a": 3}, key=new_primary).json()["pid"] == pid  # no restart

    services.append("token-svc")
    tokens = deploy_echo(
        ws, tmp_path, aks_target, "token-svc", auth_enabled=False, token_auth_enabled=True
    )
    token = tokens.get_access_token()
    assert token.token_type == "Bearer"
    assert token.expiry_on > token.refresh_after > time.time()
    assert post(tokens, {"a": 1}, key=token.access_token).status_code == 200
    signing_key = ws.get_default_keyvault().get_secret("service-token-svc-primary-key")
    assert post(tokens, {"a": 1}, key=signing_key).status_code == 401  # keys are not tokens
    with pytest.raises(Exception, match="does not use key authentication"):
        tokens.get_keys()
    assert post(tokens, {"a": 1}).status_code == 401
    assert tokens.run(json.dumps({"a": 5}))["echo"] == {"a": 5}  # the SDK sends a token itself
    with pytest.raises(Exception, match="does not use token auth"):
        service.get_access_token()


def test_an_init_failure_is_failed_with_the_scripts_traceback_and_every_replicas_log(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("broken-svc")
    with pytest.raises(Exception) as raised:
        deploy_echo(ws, tmp_path, aks_target, "broken-svc", text=FAILING, num_replicas=1)
    assert "model.pkl is not in the model folder" in str(raised.value)
    service = Webservice(ws, "broken-svc")
    assert service.state == "Failed"
    assert service.error is not None
    assert "FileNotFoundError: model.pkl is not in the model folder" in service.error
    assert "line 3, in init" in service.error  # the script's own frame
    logs = service.get_logs()
    assert "--- replica " in logs
    assert "model.pkl is not in the model folder" in logs


def test_autoscaling_adds_replicas_under_load_answers_503_when_saturated_and_scales_back(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("scale-svc")
    service = deploy_echo(
        ws, tmp_path, aks_target, "scale-svc", auth_enabled=False,
        autoscale_min_replicas=1, autoscale_max_replicas=2,
        autoscale_downscale_delay_seconds=3, max_request_wait_time=300,
    )  # fmt: skip
    assert service.num_replicas == 1
    counts: dict[int, int] = {}
    retry_after: set[str | None] = set()
    stop = time.monotonic() + 12  # a bounded load: 6 clients for at most 12 s
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop:
                answer = http.post(service.scoring_uri, json={"sleep": 0.2})
                with lock:
                    counts[answer.status_code] = counts.get(answer.status_code, 0) + 1
                    if answer.status_code == 503:
                        retry_after.add(answer.headers.get("retry-after"))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    most = 1
    while time.monotonic() < stop:
        most = max(most, service.num_replicas)
        time.sleep(0.5)
    for thread in threads:
        thread.join()
    assert most >= 2, f"never scaled beyond one replica: {counts}"
    # 6 clients on at most 2 one-slot replicas: some waited past 300 ms and got 503 + Retry-After
    assert counts.get(200, 0) > 0
    assert counts.get(503, 0) > 0, counts
    assert retry_after and all(value and value.isdigit() for value in retry_after), retry_after
    assert set(counts) <= {200, 503}, counts
    deadline = time.monotonic() + 60
    while service.num_replicas > 1 and time.monotonic() < deadline:
        time.sleep(1)
    assert service.num_replicas == 1, "did not scale back to the minimum within 60 s"


def test_overload_waits_in_the_replica_bounded_by_max_request_wait_time_with_the_servers_503(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    """Ray's own queue has no time bound (a request held there came back 200 after seconds), so
    requests must wait in the replica's limiter: every 503 is the scoring server's JSON, none
    is Ray's queue-full text, and no 200 waited much longer than a 503 did."""
    services.append("bound-svc")
    service = deploy_echo(
        ws, tmp_path, aks_target, "bound-svc", auth_enabled=False, num_replicas=1,
        max_request_wait_time=1000,
    )  # fmt: skip
    took: list[tuple[int, float, str, str | None]] = []
    stop = time.monotonic() + 4  # a bounded load: 12 clients for at most 4 s
    lock = threading.Lock()
    uri = service.scoring_uri
    assert uri is not None

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop:
                start = time.monotonic()
                answer = http.post(uri, json={"sleep": 0.2})
                seconds = time.monotonic() - start
                with lock:
                    took.append(
                        (
                            answer.status_code,
                            seconds,
                            answer.text,
                            answer.headers.get("retry-after"),
                        )
                    )

    threads = [threading.Thread(target=client) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, *_ in took} == {200, 503}, took
    rejected = [(text, retry) for status, _, text, retry in took if status == 503]
    for text, retry in rejected:  # with Ray's queue in front: "Request dropped due to backpressure"
        assert "run() slots stayed taken for 1000 ms" in json.loads(text)["message"], text
        assert retry is not None and retry.isdigit()
    slowest_503 = max(seconds for status, seconds, *_ in took if status == 503)
    slowest_200 = max(seconds for status, seconds, *_ in took if status == 200)
    # a 200 waited at most as long as a rejected request did, then ran 0.2 s (+ 1 s of slack
    # for a busy machine); in Ray's queue they waited without bound
    assert slowest_200 < slowest_503 + 1.2, (slowest_200, slowest_503)


def test_an_update_under_load_fails_no_request_and_a_failed_update_keeps_the_old_version(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("upd-svc")
    service = deploy_echo(ws, tmp_path, aks_target, "upd-svc", auth_enabled=False, num_replicas=1)
    warm = [post(service, {"n": i}) for i in range(5)]
    baseline = max(a.elapsed.total_seconds() for a in warm)
    results: list[tuple[int, float]] = []
    done = threading.Event()

    def light_load() -> None:
        with httpx.Client(timeout=30) as http:
            while not done.is_set():
                answer = http.post(service.scoring_uri, json={"n": 0})
                results.append((answer.status_code, answer.elapsed.total_seconds()))
                time.sleep(0.05)

    loader = threading.Thread(target=light_load)
    loader.start()
    try:
        new_source = script(tmp_path, ECHO.replace('"echo": data', '"echo": data, "v": 2'))
        service.update(
            inference_config=InferenceConfig(
                entry_script="score.py", source_directory=str(new_source)
            )
        )
        time.sleep(1)
    finally:
        done.set()
        loader.join()
    assert results and all(code == 200 for code, _ in results), results
    assert max(seconds for _, seconds in results) < baseline + 1.0
    assert post(service, {"n": 1}).json()["v"] == 2

    broken = script(tmp_path, FAILING)
    with pytest.raises(Exception, match="previous version keeps serving"):
        service.update(
            inference_config=InferenceConfig(entry_script="score.py", source_directory=str(broken))
        )
    assert post(service, {"n": 2}).json()["v"] == 2
    assert service.state == "Healthy"


def test_delete_frees_the_application_and_its_route(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, ray_cluster: RayClusterFacts
) -> None:
    service = deploy_echo(ws, tmp_path, aks_target, "gone-svc", auth_enabled=False)
    uri = service.scoring_uri
    assert post(service, {"a": 1}).status_code == 200
    apps = serve_apps(ray_cluster)
    app_name = next(name for name in apps if name.endswith("-gone-svc"))
    # the network rule: a replica (Serve's inter-deployment gRPC server included) listens on
    # 127.0.0.1 only
    replica_pids = [r["pid"] for r in apps[app_name]["deployments"]["scoring"]["replicas"]]
    found = listeners(replica_pids)
    assert found, "the replica's listeners were not found"
    assert {entry.address for entry in found} == {"127.0.0.1"}, found
    service.delete()
    assert app_name not in serve_apps(ray_cluster)
    assert httpx.post(uri, json={}, timeout=10).status_code == 404
    assert "gone-svc" not in ws.webservices
    shutil.rmtree(tmp_path / "ws", ignore_errors=True)


def test_stop_and_start_bring_the_service_back_and_a_scoring_timeout_answers_as_elsewhere(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("life-svc")
    service = deploy_echo(
        ws, tmp_path, aks_target, "life-svc", auth_enabled=False, num_replicas=1,
        scoring_timeout_ms=1000,
    )  # fmt: skip
    slow = post(service, {"sleep": 3})
    assert slow.status_code == 500
    assert "Scoring timeout after 1000 ms" in slow.text
    service.stop()
    assert service.state == "Stopped"
    assert httpx.post(service.scoring_uri, json={}, timeout=10).status_code == 404
    service.start()
    assert service.state == "Healthy"
    assert post(service, {"back": True}).json()["echo"] == {"back": True}


def test_a_pin_that_conflicts_with_rays_own_dependencies_fails_the_deploy_naming_it(
    ws: Workspace, tmp_path: Path, aks_target: ComputeTarget, services: list[str]
) -> None:
    services.append("pin-svc")
    source = script(tmp_path, ECHO)
    env = Environment("old-pydantic")
    env.python.conda_dependencies.add_pip_package("pydantic==1.10.13")
    inference = InferenceConfig(
        entry_script="score.py", source_directory=str(source), environment=env
    )
    config = AksWebservice.deploy_configuration(cpu_cores=0.1, memory_gb=0.1)
    with pytest.raises(Exception) as raised:
        Model.deploy(
            ws,
            "pin-svc",
            [echo_model(ws, tmp_path)],
            inference,
            config,
            deployment_target=aks_target,
        )
    text = str(raised.value)
    assert "cannot be installed beside Ray 2.60.0" in text
    assert "pydantic" in text
    assert "change the pin named above" in text
    assert Webservice(ws, "pin-svc").state == "Failed"
