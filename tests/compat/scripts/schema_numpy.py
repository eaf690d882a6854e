"""@input_schema with numpy types and an iris model; output as a list."""

import os

import joblib
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema, output_schema

model = None


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.joblib"))


@input_schema("data", NumpyParameterType(np.array([[5.1, 3.5, 1.4, 0.2]])))
@output_schema(NumpyParameterType(np.array([0])))
def run(data):
    if not data.any():
        return np.array([7])  # azmlinfsrv answers 500: a numpy array is not JSON serialisable
    return model.predict(data).tolist()
