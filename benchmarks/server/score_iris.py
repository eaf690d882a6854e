"""Benchmark workload "model": the iris LogisticRegression, the seed's score.py shape."""

import json
import os

import joblib
import numpy as np

model = None


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.joblib"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    return {"result": model.predict(data).tolist()}
