"""dockyard stand-in for ``azureml.contrib.services.aml_response``: ``AMLResponse``.

Return ``AMLResponse(message, status_code, response_headers={}, json_str=False)`` from ``run()``
to choose the status, headers and body of the answer.
"""

from dockyard.server.run_output import AMLResponse

__all__ = ["AMLResponse"]
