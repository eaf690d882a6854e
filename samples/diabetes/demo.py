"""The README's main job: register the bundled sample model, deploy it on this machine, score it.

Run it with `scripts/demo` (which installs what it needs first). Every step uses the public,
Azure-ML-v1-shaped API, so this file doubles as a tour of it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train import train  # noqa: E402

from dockyard import Environment, InferenceConfig, Model, Workspace  # noqa: E402

# The seed guide's own test sample: two rows of 10 numbers.
test_sample = json.dumps({"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]})


def main() -> int:
    workspace_dir = Path(os.environ.get("DOCKYARD_DEMO_WORKSPACE", HERE.parents[1] / ".cache" / "demo-workspace"))
    print(f"1. Workspace at {workspace_dir}")
    ws = Workspace.create("demo", path=str(workspace_dir), exist_ok=True)

    print("2. Training the sample model (scikit-learn Ridge on the diabetes data)")
    model_file = train(HERE / "outputs")

    print("3. Registering it")
    model = Model.register(ws, model_path=str(model_file), model_name="diabetes", tags={"sample": "true"})
    print(f"   registered {model.name} version {model.version}")

    try:
        from dockyard import LocalWebservice  # noqa: F401  (deployment lands with the local target)
    except (ImportError, AttributeError):
        print("4. Registered models:")
        for m in Model.list(ws, name="diabetes"):
            print(f"   {m.name}:{m.version}  tags={m.tags}")
        return 0
    return _deploy_and_score(ws, model)


def _deploy_and_score(ws: Workspace, model: Model) -> int:
    from dockyard import LocalWebservice

    env = Environment.from_conda_specification(name="diabetes-env", file_path=str(HERE / "environment.yml"))
    inference_config = InferenceConfig(entry_script="score.py", source_directory=str(HERE), environment=env)
    print("4. Deploying it as a local web service (first run builds the environment)")
    service = Model.deploy(ws, "diabetes-demo", [model], inference_config, LocalWebservice.deploy_configuration())
    service.wait_for_deployment(show_output=True)
    print(f"   {service.name} is {service.state} at {service.scoring_uri}")

    print("5. Scoring the seed's test_sample")
    prediction = service.run(input_data=test_sample)
    print(f"   {prediction}")
    print(
        "\nExplore further:\n"
        f"  .venv/bin/dockyard service list --workspace {ws.path}\n"
        f"  .venv/bin/dockyard service logs diabetes-demo --workspace {ws.path}\n"
        f"  curl -s -X POST {service.scoring_uri} -H 'Content-Type: application/json' -d '{test_sample}'\n"
        f"  .venv/bin/dockyard service delete diabetes-demo --workspace {ws.path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
