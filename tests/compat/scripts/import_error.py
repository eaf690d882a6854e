import json  # noqa: F401

import this_module_does_not_exist  # noqa: F401


def init():
    pass


def run(raw_data):
    return raw_data
