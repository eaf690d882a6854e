"""run() resolves Model.get_model_path(name, version) from the query, as azureml-core does in a deployment."""

import os

from azureml.contrib.services.aml_request import rawhttp
from azureml.core.model import Model


def init():
    pass


def _relative(text):
    # os.listdir() order depends on the file system: sort the "Found [...]" list of the message.
    head, sep, listing = text.partition("Found [")
    if sep:
        text = head + sep + ", ".join(sorted(listing.rstrip("]").split(", "))) + "]"
    return text.replace(os.getcwd(), "<app_root>")


@rawhttp
def run(request):
    name = request.args.get("name")
    version = request.args.get("version")
    if version is not None and version.lstrip("-").isdigit():
        version = int(version)
    try:
        path = Model.get_model_path(name, version=version)
    except Exception as e:
        return {"error": type(e).__name__, "message": _relative(getattr(e, "message", str(e)))}
    return {"path": _relative(path), "is_abs": os.path.isabs(path), "exists": os.path.exists(path)}
