"""run() answers with AMLResponse objects: custom headers, statuses, bodies."""

import json

from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    case = request.args.get("case", "plain")
    if case == "plain":
        return AMLResponse("created", 201)
    if case == "headers":
        return AMLResponse(
            "ok", 200, {"X-Custom": "one", "X-Multi": "a, b,c", "Cache-Control": "no-store"}
        )
    if case == "content_type":
        return AMLResponse(b"\x89PNG\r\n", 200, {"Content-Type": "image/png"})
    if case == "json_str":
        return AMLResponse({"a": [1, 2], "b": "\u00e9"}, 202, json_str=True)
    if case == "json_text":
        return AMLResponse(json.dumps({"a": 1}), 200, {"Content-Type": "application/json"})
    if case == "none":
        return AMLResponse(None, 200)
    if case == "error_500":
        return AMLResponse("model exploded", 500)
    if case == "error_503":
        return AMLResponse("busy", 503, {"Retry-After": "3"})
    if case == "error_500_flag":
        return AMLResponse("flagged", 502, {"x-ms-run-function-failed": "maybe"})
    if case == "bad_request":
        return AMLResponse({"error": "bad"}, 400, json_str=True)
    if case == "empty_204":
        return AMLResponse("", 204)
    return AMLResponse(f"unknown case {case}", 404)
