"""dockyard stand-in for ``azureml.exceptions`` (the names a score.py may catch)."""

from typing import Any


class AzureMLException(Exception):
    """Base of the azureml exceptions; ``message`` holds the text."""

    def __init__(self, exception_message: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(exception_message)
        self.message = exception_message

    def __str__(self) -> str:
        return self.message


class UserErrorException(AzureMLException):
    """A problem with what the caller passed."""


class WebserviceException(AzureMLException):
    """A failure around models and web services (azureml-core raises it from get_model_path)."""

    def __init__(
        self,
        exception_message: str = "",
        status_code: Any = None,
        logger: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(exception_message)
        self.status_code = status_code


class ModelNotFoundException(AzureMLException):
    """The model is not where it was looked for."""

    def __init__(self, exception_message: str = "", logger: Any = None, **kwargs: Any) -> None:
        super().__init__(exception_message)


__all__ = [
    "AzureMLException",
    "ModelNotFoundException",
    "UserErrorException",
    "WebserviceException",
]
