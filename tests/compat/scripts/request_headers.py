"""run() with a request_headers parameter."""

import json


def init():
    pass


def run(data, request_headers):
    return {
        "data": json.loads(data) if data else None,
        "names": sorted(k for k in request_headers if k.lower() != "host"),
        "x": {k: v for k, v in request_headers.items() if k.lower().startswith("x-")},
        "content_type": request_headers.get("Content-Type"),
    }
