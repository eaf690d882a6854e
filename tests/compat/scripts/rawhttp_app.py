"""@rawhttp: run() gets the request object and reports what it sees."""

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request: AMLRequest):
    seen = {
        "method": request.method,
        "path": request.path,
        "full_path": request.full_path,
        "args": {k: request.args.getlist(k) for k in request.args},
        "x_headers": {k: v for k, v in request.headers.items() if k.lower().startswith("x-")},
        "content_type": request.headers.get("Content-Type"),
        "data": request.get_data(as_text=True) if not request.files else "<files>",
        "form": {k: request.form.getlist(k) for k in request.form},
        "files": {
            name: [f.filename, f.read().decode("utf-8", "replace")]
            for name, f in request.files.items()
        },
    }
    if request.is_json:
        seen["json"] = request.get_json()
    if request.method == "OPTIONS":
        return AMLResponse("options handled by run()", 200, {"X-Run-Options": "yes"})
    return seen
