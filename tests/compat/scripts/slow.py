"""run() sleeps for the number of seconds in the body; no try/except."""

import time


def init():
    pass


def run(raw_data):
    time.sleep(float(raw_data))
    return {"slept": float(raw_data)}
