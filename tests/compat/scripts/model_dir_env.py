"""An MLOpsPython-style score.py: the model name is AZUREML_MODEL_DIR.split('/')[1].

run() reports what the script found in its environment; paths under the app root are shown
relative to it (the two servers run in copies of the app root).
"""

import os

from azureml.core.model import Model

model_name = None
model_path = None


def init():
    global model_name, model_path
    model_name = os.environ["AZUREML_MODEL_DIR"].split("/")[1]
    model_path = Model.get_model_path(model_name)


def _show(value):
    if value and os.path.isabs(value):
        root = os.path.realpath(os.environ["AML_APP_ROOT"])
        real = os.path.realpath(value)
        if real == root or real.startswith(root + os.sep):
            return "<app_root>/" + os.path.relpath(real, root)
    return value


def run(data):
    with open(model_path) as f:
        content = f.read()
    return {
        "model_name": model_name,
        "model_path": _show(model_path),
        "model_content": content,
        "AZUREML_MODEL_DIR": os.environ.get("AZUREML_MODEL_DIR"),
        "AZUREML_ENTRY_SCRIPT": _show(os.environ.get("AZUREML_ENTRY_SCRIPT")),
        "AZUREML_CONFIG_FILE": _show(os.environ.get("AZUREML_CONFIG_FILE")),
        "AML_APP_ROOT_is_cwd": os.path.samefile(os.environ["AML_APP_ROOT"], os.getcwd()),
        "WORKER_COUNT": os.environ.get("WORKER_COUNT"),
        "SCORING_TIMEOUT_MS": os.environ.get("SCORING_TIMEOUT_MS"),
        "model_dir_exists": os.path.isdir(os.environ["AZUREML_MODEL_DIR"]),
    }
