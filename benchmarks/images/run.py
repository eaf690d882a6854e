"""Container images: dockyard's build of the sample model vs a hand-written Dockerfile, same run.

    .venv/bin/python benchmarks/images/run.py [--rebuilds 5]

Needs a Docker engine and the base image (``dockyard base-image bootstrap``). Measures:

* **first build**: the sample model (``samples/diabetes``: numpy, scikit-learn, joblib) built
  with the engine's layer cache off (``nocache``), dockyard's generated multi-stage Dockerfile vs
  a hand-written single-stage Dockerfile of the same content (same wheels, same server runtime,
  same model and script). Resolving the wheelhouse on the host is reported apart (it is cached
  per requirements; the hand-written build is given the same wheels ready-made);
* **score.py-only rebuild**: ``Image.create`` again after editing only score.py (the user's
  path: context, build, bookkeeping), median of ``--rebuilds``, vs ``docker build`` of the
  hand-written context after the same edit;
* **size**: image size over the base, split into the user's Python packages (``/opt/venv``) and
  what dockyard adds (server runtime, app user, model, script).

Results (JSON with machine and versions) go to ``benchmarks/images/results-raw/``; a Markdown
table is printed for benchmarks/README.md. Every image and container made is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "diabetes"
OUT = Path(__file__).resolve().parent / "results-raw"

HAND_DOCKERFILE = """\
FROM {base}
RUN useradd --create-home --uid 1000 --user-group dockyard && mkdir -p /var/azureml-app
COPY dockyard/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir --no-index \
    --find-links /tmp/wheels /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY dockyard/runtime/ /tmp/runtime/
RUN /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/runtime \
    /tmp/runtime/dockyard_server-*.whl && rm -rf /tmp/runtime
COPY app/models/ /var/azureml-app/
COPY app/source/ /var/azureml-app/
ENV PATH=/opt/venv/bin:$PATH AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/diabetes/1 \
    AZUREML_ENTRY_SCRIPT=diabetes/score.py AML_APP_ROOT=/var/azureml-app
WORKDIR /var/azureml-app
USER dockyard
CMD ["python", "-m", "dockyard.server", "--entry-script", "/var/azureml-app/diabetes/score.py", \
     "--host", "0.0.0.0", "--port", "5001"]
"""


def _build(client: Any, path: Path, tag: str, dockerfile: str, nocache: bool) -> float:
    started = time.monotonic()
    for item in client.api.build(path=str(path), dockerfile=dockerfile, tag=tag, rm=True,
                                 forcerm=True, decode=True, nocache=nocache,
                                 network_mode="host", use_config_proxy=False):  # fmt: skip
        if "error" in item:
            raise RuntimeError(item["error"])
    return time.monotonic() - started


def _du(client: Any, image: str, path: str) -> int:
    out = client.containers.run(image, ["du", "-sb", path], remove=True, user="root")
    return int(out.split()[0])


def _edit(script: Path, n: int) -> None:
    text = script.read_text().split("\n# bench edit")[0]
    script.write_text(f"{text}\n# bench edit {n}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuilds", type=int, default=5)
    args = parser.parse_args()

    from dockyard import Environment, InferenceConfig, Model, Workspace
    from dockyard.assets import _image_build
    from dockyard.assets.image import Image, start_build
    from dockyard.builders.base_image import DEFAULT_BASE_IMAGE
    from dockyard.builders.docker_builder import build_image
    from dockyard.builders.dockerfile import write_build_context
    from dockyard.targets.docker_engine import connect

    sys.path.insert(0, str(SAMPLE))
    from train import train  # type: ignore[import-not-found]

    client = connect()
    tmp = Path(tempfile.mkdtemp(prefix="dockyard-bench-images-"))
    made: list[str] = []
    try:
        project = tmp / "diabetes"
        shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
        model_file = train(tmp / "outputs")
        ws = Workspace.create(f"bench-images-{os.getpid()}", path=str(tmp / "ws"))
        model = Model.register(ws, model_path=str(model_file), model_name="diabetes")
        env = Environment.from_conda_specification("diabetes-env", str(project / "environment.yml"))
        inference = InferenceConfig(entry_script="score.py", source_directory=str(project),
                                    environment=env)  # fmt: skip
        script = project / "score.py"

        # First builds, layer cache off.
        spec = _image_build.image_spec(ws, inference, [model], client=client)
        started = time.monotonic()
        first = build_image(client, spec, "dockyard-bench/first:1", log_path=tmp / "first.log",
                            nocache=True)  # fmt: skip
        dockyard_first_wall = time.monotonic() - started
        made.append("dockyard-bench/first:1")
        context = write_build_context(spec, tmp / "hand")
        (tmp / "hand" / "Dockerfile.hand").write_text(
            HAND_DOCKERFILE.format(base=spec.resolved_base_image())
        )
        hand_first = _build(client, tmp / "hand", "dockyard-bench/hand:1", "Dockerfile.hand", True)
        made.append("dockyard-bench/hand:1")

        # score.py-only rebuilds (warm): dockyard through Image.create, hand through docker build.
        image = start_build(ws, "bench", [model], None, inference_config=inference)
        image.wait_for_creation()
        dockyard_times, hand_times, cached = [], [], []
        for n in range(args.rebuilds):
            _edit(script, n)
            started = time.monotonic()
            image = start_build(ws, "bench", [model], None, inference_config=inference)
            image.wait_for_creation()
            dockyard_times.append(time.monotonic() - started)
            cached.append(f"{image._record.spec['cached_steps']}/{image._record.spec['steps']}")
            _edit(context.path / "app" / "source" / "diabetes" / "score.py", n)
            hand_times.append(
                _build(client, tmp / "hand", "dockyard-bench/hand:1", "Dockerfile.hand", False)
            )
        made.extend(img.image_location for img in Image.list(ws))

        base = spec.resolved_base_image()
        base_size = int(client.images.get(base).attrs["Size"])
        sizes = {}
        for label, tag, venv in (("dockyard", "dockyard-bench/first:1", "/opt/venv"),
                                 ("hand", "dockyard-bench/hand:1", "/opt/venv")):  # fmt: skip
            total = int(client.images.get(tag).attrs["Size"])
            deps = _du(client, tag, venv)
            sizes[label] = {"over_base": total - base_size, "venv": deps,
                            "beyond_base_and_deps": total - base_size - deps}  # fmt: skip
        sizes["dockyard"]["runtime"] = _du(
            client, "dockyard-bench/first:1", "/opt/dockyard-runtime"
        )
        version = client.version()
        result = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": {
                "cpu": _cpu(),
                "cores": os.cpu_count(),
                "kernel": platform.release(),
                "load_before": os.getloadavg(),
            },  # fmt: skip
            "versions": {
                "docker": version.get("Version"),
                "api": version.get("ApiVersion"),
                "python": platform.python_version(),
                "base_image": base or DEFAULT_BASE_IMAGE,
                "dockyard": __import__("dockyard").__version__,
            },  # fmt: skip
            "first_build": {
                "dockyard_engine_s": round(first.seconds, 1),
                "dockyard_context_s": round(first.context_seconds, 1),
                "dockyard_wall_s": round(dockyard_first_wall, 1),
                "hand_engine_s": round(hand_first, 1),
            },  # fmt: skip
            "rebuild": {
                "dockyard_median_s": round(statistics.median(dockyard_times), 2),
                "dockyard_all_s": [round(t, 2) for t in dockyard_times],
                "dockyard_cached_steps": cached,
                "hand_median_s": round(statistics.median(hand_times), 2),
                "hand_all_s": [round(t, 2) for t in hand_times],
            },  # fmt: skip
            "sizes_bytes": sizes,
            "base_size_bytes": base_size,
        }
        OUT.mkdir(exist_ok=True)
        (OUT / f"images-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(
            json.dumps(result, indent=2)
        )
        print(json.dumps(result, indent=2))
    finally:
        for tag in made:
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
