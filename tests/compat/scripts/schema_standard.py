"""@input_schema / @output_schema with standard Python types."""

from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("a", StandardPythonParameterType(1))
@input_schema("b", StandardPythonParameterType("text"))
@input_schema("c", StandardPythonParameterType([1.0, 2.0]))
@output_schema(StandardPythonParameterType({"sum": 1.0, "label": "text"}))
def run(a, b, c=None):
    return {"sum": a + sum(c or []), "label": b * 2}
