"""init() takes 3 s: requests sent the moment the port opens must wait for it."""

import json
import time


def init():
    time.sleep(3)


def run(raw_data):
    return {"echo": json.loads(raw_data)}
