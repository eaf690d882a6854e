"""Undecorated run(): the body arrives as a str; no try/except (a bad body is a 500)."""

import json

offset = None


def init():
    global offset
    offset = 10
    print("plain: init done")


def run(raw_data):
    data = json.loads(raw_data)["data"]
    return {"result": [x + offset for x in data]}
