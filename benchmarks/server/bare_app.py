"""The practical limit: a bare ASGI app that calls the same score.py with no framework.

Run by the benchmark as ``uvicorn bare_app:app --loop uvloop --http httptools``; the entry
script comes from ``AZUREML_ENTRY_SCRIPT``. No request ids, no timeout, no error handling: only
read the body, call run(), json.dumps the result.
"""

import importlib.util
import json
import os

_spec = importlib.util.spec_from_file_location("entry_module", os.environ["AZUREML_ENTRY_SCRIPT"])
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.init()
_run = _module.run

_HEALTHY = [(b"content-type", b"text/plain"), (b"content-length", b"7")]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] != "/score":
        await send({"type": "http.response.start", "status": 200, "headers": _HEALTHY})
        await send({"type": "http.response.body", "body": b"Healthy"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    payload = json.dumps(_run(body.decode("utf-8"))).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
