"""Scoring script for the sample diabetes model (the shape Azure ML v1 uses).

The server calls init() once when the service starts, then run() for every request.
The request body is JSON: {"data": [[10 numbers], [10 numbers], ...]}.
"""

import json
import os

import joblib
import numpy as np

model = None


def init():
    global model
    # AZUREML_MODEL_DIR is the folder holding the registered model's files.
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR", "."), "sklearn_regression_model.pkl")
    model = joblib.load(model_path)


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    result = model.predict(data)
    return result.tolist()
