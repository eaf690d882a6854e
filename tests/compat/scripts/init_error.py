import os


def init():
    path = os.path.join(os.environ.get("AZUREML_MODEL_DIR", ""), "missing-model.pkl")
    with open(path, "rb") as f:
        f.read()


def run(raw_data):
    return raw_data
