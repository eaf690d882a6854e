"""Deploy-to-first-score benchmark on the cluster target: from the call to the first 200 answer
with the right prediction, on a running cluster (attached) and with the cluster's start included.

    .venv/bin/python benchmarks/cluster/deploy.py             # 4 interleaved rounds (~4 min)
    .venv/bin/python benchmarks/cluster/deploy.py --quick     # 1 round, a smoke test
    .venv/bin/python benchmarks/cluster/deploy.py --address 127.0.0.1:PORT --serve-port P

Variants, in interleaved rounds (each round runs all of them, in a rotating order):

* ``attach, environment``: the bundled sample (samples/diabetes: scikit-learn Ridge trained into a
  temporary folder by its train.py; its conda environment, which the cluster target ships as pins
  that Ray installs with uv once per node) deployed with ``Model.deploy(..., deployment_target=
  <the attached cluster>)``; the environment caches are warm: the same service was deployed once,
  untimed, and deleted (dockyard's environment cache, uv's cache and the node's Ray runtime-env
  cache all hold it);
* ``attach, no environment``: score.py with a no-op run() and no environment (dockyard's own
  interpreter on the replica), same cluster;
* ``create + deploy``: ``ComputeTarget.create`` of a new local cluster (2 CPUs), then the sample's
  deploy on it, the clock started before the create (dockyard's and uv's caches are warm; the new
  cluster's runtime-env cache is empty, so Ray installs the environment from uv's cache); the
  service and the new cluster are deleted after each round (timed apart).

One clock per variant (time.monotonic in this process): the call, ``Model.deploy`` returning
(the replicas are RUNNING), then ``POST /score`` every 10 ms until the right answer. The deploy is
split by wrapping three of the cluster target's calls (:class:`Split`). Without ``--address`` the
attached cluster is one the benchmark starts first and stops by its PIDs at the end.
``--worker-niceness N`` starts that cluster with ``RAY_worker_niceness=N`` (Ray's default: 15);
the clusters run without PYTHONDONTWRITEBYTECODE unless ``--keep-dontwritebytecode``
(benchmarks/cluster/common.py).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import common
import httpx

SAMPLE = common.REPO / "samples" / "diabetes"
ROWS = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]
FIRST_SCORE_TIMEOUT_S = 120.0
VARIANTS = ("attach_env", "attach_noenv", "create_deploy")
LABELS = {
    "attach_env": "attach: `Model.deploy`, sample + conda environment, caches warm",
    "attach_noenv": "attach: `Model.deploy`, no-op score.py, no environment",
    "create_deploy": "`ComputeTarget.create` (new local cluster) + `Model.deploy`, sample + "
    "environment",
}


def train_sample(work: Path) -> tuple[Path, list[float]]:
    sys.path.insert(0, str(SAMPLE))
    try:
        from train import train  # reason: the bundled sample's own training script
    finally:
        sys.path.remove(str(SAMPLE))
    import joblib  # reason: only to compute the expected answer

    model_file = train(work / "outputs")
    expected = [float(x) for x in joblib.load(model_file).predict(ROWS)]
    return model_file, expected


def first_score(uri: str, body: dict, expected: Any) -> int:
    """POST until the right answer; the number of tries."""
    deadline = time.monotonic() + FIRST_SCORE_TIMEOUT_S
    tries, last = 0, None
    with httpx.Client(timeout=30) as http:
        while time.monotonic() < deadline:
            tries += 1
            try:
                answer = http.post(uri, json=body)
                if answer.status_code == 200 and right(answer.json(), expected):
                    return tries
                last = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.01)
    raise RuntimeError(f"no right answer from {uri} in {FIRST_SCORE_TIMEOUT_S:g} s: {last}")


def right(answer: Any, expected: Any) -> bool:
    if isinstance(expected, list) and isinstance(answer, list) and len(answer) == len(expected):
        return all(math.isclose(a, e, rel_tol=1e-9) for a, e in zip(answer, expected, strict=True))
    return answer == expected


class Split:
    """Times three parts of the cluster target's deploy by wrapping them in this process (the
    benchmark's own measurement; nothing changes what they do): the check of the environment's
    pins beside Ray (``check_compatible``: a uv resolution), the driver process (connect, upload
    the app root and the server wheel, hand Serve the deployment) and the wait until the replicas
    run (Ray starts a worker, sets up its runtime env, runs init())."""

    def __init__(self) -> None:
        from dockyard.targets import ray as ray_target  # reason: wrapped to time its steps

        self.current: dict[str, float] = {}
        wraps = {
            "pins_check_s": (ray_target, "check_compatible"),
            "driver_s": (ray_target.ray_apply, "apply"),
            "replicas_start_s": (ray_target.RayTarget, "_wait"),
        }
        for key, (owner, attribute) in wraps.items():
            setattr(owner, attribute, self._timed(key, getattr(owner, attribute)))

    def _timed(self, key: str, call: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return call(*args, **kwargs)
            finally:
                self.current[key] = self.current.get(key, 0.0) + time.monotonic() - started

        return timed

    def take(self) -> dict[str, float]:
        taken, self.current = self.current, {}
        return taken


def steps(ws: Any, name: str) -> list[list[Any]]:
    """The service's history: [seconds since "deployment requested", message]."""
    from dockyard.ops import records  # reason: the service's events, for the split of the time

    events = records.events(ws, name)
    first = events[0]["at"]
    return [[round((e["at"] - first).total_seconds(), 3), e["message"]] for e in events]


class Bench:
    def __init__(self, work: Path, found: common.Cluster) -> None:
        from dockyard import Environment, Model, Workspace  # reason: after private_home()

        self.work = work
        self.ws = Workspace.create("cluster-deploy", path=str(work / "ws"), show_output=False)
        self.target = common.attach(self.ws, "deploy-ray", found)
        self.src = work / "sample"
        shutil.copytree(SAMPLE, self.src, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
        model_file, self.expected = train_sample(work)
        self.model = Model.register(
            self.ws, model_path=str(model_file), model_name="sklearn_regression_model.pkl"
        )
        self.environment = Environment.from_conda_specification(
            "diabetes-env", str(SAMPLE / "environment.yml")
        )
        self.echo_model = common.placeholder_model(self.ws, work)
        self.created = 0
        self.split = Split()

    def config(self) -> Any:
        from dockyard import AksWebservice  # reason: after private_home()

        return AksWebservice.deploy_configuration(
            num_replicas=1, cpu_cores=0.1, memory_gb=0.2, auth_enabled=False
        )

    def deploy_sample(self, name: str, target: Any) -> Any:
        from dockyard import InferenceConfig, Model  # reason: after private_home()

        inference = InferenceConfig(
            entry_script="score.py", source_directory=str(self.src), environment=self.environment
        )
        return Model.deploy(
            self.ws, name, [self.model], inference, self.config(), deployment_target=target
        )

    def attach_env(self) -> dict[str, Any]:
        self.split.take()
        t0 = time.monotonic()
        service = self.deploy_sample("sample-env", self.target)
        t1 = time.monotonic()
        split = self.split.take()
        tries = first_score(service.scoring_uri, {"data": ROWS}, self.expected)
        t2 = time.monotonic()
        history = steps(self.ws, "sample-env")
        service.delete()
        return {**self._times(t0, t1, t2, tries, time.monotonic() - t2), "steps": history, **split}

    def attach_noenv(self) -> dict[str, Any]:
        self.split.take()
        t0 = time.monotonic()
        service = common.deploy(
            self.ws, self.work, "echo-noenv", common.ECHO, self.config(), self.target,
            self.echo_model,
        )  # fmt: skip
        t1 = time.monotonic()
        split = self.split.take()
        tries = first_score(service.scoring_uri, {"x": 1}, {"x": 1})
        t2 = time.monotonic()
        history = steps(self.ws, "echo-noenv")
        service.delete()
        return {**self._times(t0, t1, t2, tries, time.monotonic() - t2), "steps": history, **split}

    def create_deploy(self) -> dict[str, Any]:
        from dockyard import ComputeTarget, RayCompute  # reason: after private_home()

        self.created += 1
        self.split.take()
        t0 = time.monotonic()
        target = ComputeTarget.create(
            self.ws, f"fresh-{self.created}", RayCompute.provisioning_configuration(num_cpus=2)
        )
        try:
            target.wait_for_completion(show_output=False)
            created = time.monotonic()
            service = self.deploy_sample(f"fresh-{self.created}", target)
            t1 = time.monotonic()
            split = self.split.take()
            tries = first_score(service.scoring_uri, {"data": ROWS}, self.expected)
            t2 = time.monotonic()
            history = steps(self.ws, f"fresh-{self.created}")
            service.delete()
        finally:
            t3 = time.monotonic()
            target.delete()
        times: dict[str, Any] = self._times(t0, t1, t2, tries, delete_s=t3 - t2)
        times["deploy_call_s"] = t1 - created  # the deploy alone; total_s has the create too
        times.update(
            create_s=created - t0, cluster_delete_s=time.monotonic() - t3, steps=history, **split
        )
        return times

    @staticmethod
    def _times(t0: float, t1: float, t2: float, tries: int, delete_s: float) -> dict[str, Any]:
        return {
            "total_s": t2 - t0,
            "deploy_call_s": t1 - t0,
            "after_call_s": t2 - t1,
            "tries": tries,
            "delete_s": delete_s,
        }


def warm_up(bench: Bench, variant: str) -> dict[str, Any]:
    """The untimed first deploy (a second try if it fails; both kept)."""
    errors = []
    for _ in range(2):
        try:
            return {**getattr(bench, variant)(), "failed_before": errors}
        except Exception as exc:  # noqa: BLE001 - recorded, then tried again
            errors.append(f"{type(exc).__name__}: {exc}"[:2000])
            cleanup_after_failure(bench)
    raise RuntimeError(f"the untimed {variant} deploy failed twice: {errors}")


def cleanup_after_failure(bench: Bench) -> None:
    """Delete what a failed variant left (its service), so that the next round starts clean."""
    from dockyard import Webservice  # reason: after private_home()

    for name in ("sample-env", "echo-noenv", f"fresh-{bench.created}"):
        with contextlib.suppress(Exception):
            Webservice(bench.ws, name).delete()


def report(rounds: list[dict], warmup: dict) -> tuple[str, dict]:
    rows, summary = [], {}
    for variant in VARIANTS:
        totals = [r[variant]["total_s"] for r in rounds if "total_s" in r.get(variant, {})]
        failed = sum(1 for r in rounds if "error" in r.get(variant, {}))
        if not totals:
            continue
        summary[variant] = common.spread(totals)

        def med(key: str, variant: str = variant) -> str:
            values = [r[variant][key] for r in rounds if key in r.get(variant, {})]
            return common.fmt(statistics.median(values), 2) if values else "-"

        s = summary[variant]
        goal = "-"
        if variant.startswith("attach"):
            goal = "< 10 s: " + ("met" if s["median"] < 10 else "**not met**")
        rows.append(
            [
                LABELS[variant],
                f"{len(totals)}" + (f" (+{failed} failed)" if failed else ""),
                common.fmt(s["median"], 2),
                f"{common.fmt(s['min'], 2)}-{common.fmt(s['max'], 2)}",
                med("create_s"),
                med("deploy_call_s"),
                med("pins_check_s"),
                med("driver_s"),
                med("replicas_start_s"),
                med("after_call_s"),
                med("delete_s"),
                goal,
            ]
        )
    text = common.table(
        [
            "variant",
            "runs",
            "call -> first score, median s",
            "min-max s",
            "of which create s",
            "`Model.deploy` s",
            "of which: pins beside Ray s",
            "driver (connect, upload, hand to Serve) s",
            "replicas start s",
            "return -> first score s",
            "service delete s (not counted)",
            "goal",
        ],
        rows,
    )
    warm = ", ".join(
        f"{k} {v['total_s']:.2f} s"
        + (f" (after {len(v['failed_before'])} failed try)" if v["failed_before"] else "")
        for k, v in warmup.items()
    )
    return f"{text}\n\nUntimed first deploys (cold runtime-env cache on the node): {warm}.", summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    common.cluster_arguments(parser)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    cluster_env = common.cluster_environment(args)
    work = common.private_home()
    started, clock, before = dt.datetime.now(dt.UTC), time.monotonic(), common.machine()
    rounds: list[dict] = []
    try:
        with common.cluster(work, args.address, args.serve_port, cpus=2) as found:
            bench = Bench(work, found)
            try:
                warmup = {v: warm_up(bench, v) for v in ("attach_env", "attach_noenv")}
                print(f"warm-up: {warmup}")
                for n in range(args.rounds):
                    order = VARIANTS[n % 3 :] + VARIANTS[: n % 3]
                    result: dict[str, Any] = {}
                    for variant in order:
                        try:
                            result[variant] = getattr(bench, variant)()
                        except Exception as exc:  # noqa: BLE001 - a failed deploy is a result too
                            result[variant] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                            cleanup_after_failure(bench)
                        print(f"round {n + 1} {variant}: {result[variant]}")
                    rounds.append(result)
            finally:
                bench.target.delete()  # attached: only forgotten
            cluster_start_s = found.start_s
    finally:
        common.cleanup(work)
    wall = time.monotonic() - clock
    text, summary = report(rounds, warmup)
    facts = common.header(started, wall, before)
    path = common.write_result(
        "deploy",
        {
            "started": started.isoformat(),
            "wall_s": wall,
            "machine": before,
            "loadavg_after": common.machine()["loadavg"],
            "versions": common.versions(),
            "settings": vars(args),
            "cluster_environment": cluster_env,
            "cluster_start_s": cluster_start_s,
            "warmup": warmup,
            "rounds": rounds,
            "summary": summary,
        },
        quick=args.quick,
    )
    print(f"\n{facts} Cluster: {cluster_env}.\nRaw results: {path}\n\n{text}")


if __name__ == "__main__":
    main()
