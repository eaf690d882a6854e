"""dockyard stand-in for ``azureml.contrib.services.aml_request``: ``rawhttp`` and ``AMLRequest``.

Decorating ``run`` with ``@rawhttp`` makes the server call ``run(request)`` with the HTTP request
itself (an :class:`AMLRequest`, Flask-compatible) instead of the body text.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from dockyard.server.request import AMLRequest

__all__ = ["AMLRequest", "rawhttp"]

_rawHttpRequested = False

F = TypeVar("F", bound=Callable[..., Any])


def rawhttp(func: F) -> F:
    """Ask the server to pass the raw HTTP request to ``run()``."""
    global _rawHttpRequested
    _rawHttpRequested = True
    return func
