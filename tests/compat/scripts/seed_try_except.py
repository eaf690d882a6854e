"""The seed's troubleshooting pattern: run() catches everything and returns the error text."""

import json
import os

import joblib
import numpy as np

model = None


def init():
    global model
    model_path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.joblib")
    model = joblib.load(model_path)


def run(input_data):
    try:
        data = json.loads(input_data)["data"]
        data = np.array(data)
        result = model.predict(data)
        return json.dumps({"result": result.tolist()})
    except Exception as e:
        result = str(e)
        # return error message back to the client
        return json.dumps({"error": result})
