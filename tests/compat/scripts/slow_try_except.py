"""run() sleeps inside the seed's try/except, so a timeout raised inside run() is caught."""

import json
import time


def init():
    pass


def run(raw_data):
    try:
        time.sleep(float(raw_data))
        return json.dumps({"slept": float(raw_data)})
    except Exception as e:
        return json.dumps({"error": f"{type(e).__name__}: {e}"})
