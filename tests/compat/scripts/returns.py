"""run() returns the Python value named by the body, to compare how each one is serialised."""

import decimal
import math

import numpy as np

VALUES = {
    "none": lambda: None,
    "int": lambda: 5,
    "float": lambda: 1.5,
    "bool": lambda: True,
    "str": lambda: "abc",
    "unicode": lambda: {"text": "h\u00e9llo \u2603 \U0001f600"},
    "list": lambda: [1, "two", 3.0, None, False],
    "tuple": lambda: (1, 2),
    "nested": lambda: {"b": [1, {"c": None}], "a": 1},
    "nan": lambda: [math.nan, math.inf, -math.inf],
    "empty_dict": lambda: {},
    "empty_str": lambda: "",
    "big_int": lambda: 2**70,
    "numpy_array": lambda: np.array([1, 2, 3]),
    "numpy_int": lambda: np.int64(3),
    "numpy_float": lambda: np.float64(0.25),
    "bytes": lambda: b"raw",
    "set": lambda: {1},
    "decimal": lambda: decimal.Decimal("1.5"),
}


def init():
    pass


def run(raw_data):
    return VALUES[raw_data]()
