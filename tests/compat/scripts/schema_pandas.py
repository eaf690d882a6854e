"""@input_schema with a pandas DataFrame and a request_headers parameter."""

import pandas as pd
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema

sample = pd.DataFrame({"sepal_length": [5.1], "species": ["setosa"], "count": [3]})


def init():
    pass


@input_schema("frame", PandasParameterType(sample))
@input_schema("scale", StandardPythonParameterType(2.0))
@output_schema(StandardPythonParameterType({"rows": [{"sepal_length": 10.2}]}))
def run(frame, scale, request_headers):
    frame["sepal_length"] = frame["sepal_length"] * scale
    return {
        "rows": frame.to_dict(orient="records"),
        "dtypes": {k: str(v) for k, v in frame.dtypes.items()},
        "agent_seen": "User-Agent" in request_headers,
    }
