"""One exception tree for all of dockyard.

Every error says what failed and what to do next. Families are grouped by cause, so that code can
catch a whole family (``except UserError``) or one precise error. Azure ML v1 names are kept as
aliases so that ported code which catches ``WebserviceException`` or ``ModelNotFoundException``
still works after changing only its imports.

Each class knows the HTTP status that best describes it (``http_status``); the CLI uses it to pick
an exit code and any HTTP front end can use it to answer.
"""

from __future__ import annotations

from typing import Any


class DockyardError(Exception):
    """Base of every error dockyard raises on purpose."""

    http_status: int = 500
    #: Exit code the CLI uses for this family.
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        self.message = message
        self.hint = hint
        self.details = details
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  What to do: {self.hint}"
        return self.message


# --- bad input from the user -------------------------------------------------------------------
class UserError(DockyardError):
    """The request cannot be carried out as given: a bad name, path, file or argument."""

    http_status = 400
    exit_code = 2


class ValidationError(UserError):
    """An input broke a documented rule (a name, a path, a setting)."""


class SpecError(UserError):
    """A specification file (conda YAML, requirements, JSON config) could not be read."""


# --- things that are not there ------------------------------------------------------------------
class NotFoundError(DockyardError):
    """A named object (workspace, model, environment, image, service, secret) does not exist."""

    http_status = 404
    exit_code = 3


class WorkspaceNotFoundError(NotFoundError):
    pass


class EnvironmentNotFoundError(NotFoundError):
    pass


class ImageNotFoundError(NotFoundError):
    pass


class ServiceNotFoundError(NotFoundError):
    pass


class SecretNotFoundError(NotFoundError):
    pass


# --- conflicts with existing state --------------------------------------------------------------
class ConflictError(DockyardError):
    """The request clashes with what exists (a name taken, a model in use, a port taken)."""

    http_status = 409
    exit_code = 4


# --- data damage --------------------------------------------------------------------------------
class IntegrityError(DockyardError):
    """Stored data does not match its checksum or its record: it was damaged or removed."""

    http_status = 500
    exit_code = 5


def _with_step(text: str, step: str | None, log_tail: str | None) -> str:
    if step:
        text = f"[{step}] {text}"
    if log_tail:
        text = f"{text}\n--- last log lines ---\n{log_tail.rstrip()}"
    return text


# --- the pipeline steps -------------------------------------------------------------------------
class StepError(DockyardError):
    """A pipeline step failed. ``step`` names it and ``log_tail`` carries the evidence."""

    http_status = 500
    exit_code = 6

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        log_tail: str | None = None,
        hint: str | None = None,
        **details: Any,
    ) -> None:
        self.step = step
        self.log_tail = log_tail
        if isinstance(self, WebserviceError):  # Azure's WebserviceException calls the tail `logs`
            details.setdefault("logs", log_tail)
        super().__init__(message, hint=hint, **details)

    def __str__(self) -> str:
        return _with_step(DockyardError.__str__(self), self.step, self.log_tail)


class EnvironmentBuildError(StepError):
    """Creating a Python environment (virtual environment or image layer) failed."""


class ImageBuildError(StepError):
    """Building a container image failed."""


class EngineUnavailableError(DockyardError):
    """An engine dockyard needs (Docker, Ray, a database) cannot be reached."""

    http_status = 503
    exit_code = 7


# --- web services (Azure's WebserviceException carries status and body) -------------------------
class WebserviceError(DockyardError):
    """A web service call or operation failed.

    ``status_code`` and ``content`` are set when a scoring endpoint answered with an error, and
    ``request_id`` names the request (``service.get_logs(request_id=...)`` prints its log lines
    and traceback). ``state`` is the service's state when the call failed because the service
    is not running (CrashLoopBackOff, Failed, Stopped ...).
    """

    exit_code = 8

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        content: str | bytes | None = None,
        logs: str | None = None,
        hint: str | None = None,
        request_id: str | None = None,
        state: str | None = None,
        **details: Any,
    ) -> None:
        self.status_code = status_code
        self.content = content
        self.logs = logs
        self.request_id = request_id
        self.state = state
        super().__init__(message, hint=hint, **details)


class ModelNotFoundError(NotFoundError, WebserviceError):
    """No registered model matches. Also a ``WebserviceError``: azureml.core raises
    ``WebserviceException`` when ``Model(ws, name)`` finds nothing, and v1 code catches that."""


class DeploymentError(StepError, WebserviceError):
    """Deploying, starting, reloading or updating a service failed.

    Its evidence (the failing ``step``: environment, layout, start, readiness ...; the
    ``log_tail``; the hint) comes from :class:`StepError`, the one base of errors that carry
    evidence; it is also a ``WebserviceError``, so v1 code catching ``WebserviceException``
    sees it (``logs`` is the log tail there).
    """

    exit_code = WebserviceError.exit_code


class ImageCreationError(ImageBuildError, WebserviceError):
    """An image build failed: ``step`` names the failing step, ``log_tail`` holds the evidence.

    Also a ``WebserviceError`` (Azure's ``WebserviceException``), which v1 code catches."""

    exit_code = ImageBuildError.exit_code


# --- Azure ML v1 names, so that ported ``except`` clauses keep working --------------------------
AzureMLException = DockyardError
UserErrorException = UserError
WebserviceException = WebserviceError
ModelNotFoundException = ModelNotFoundError
ProjectSystemException = WorkspaceNotFoundError

__all__ = [
    "AzureMLException",
    "ConflictError",
    "DeploymentError",
    "DockyardError",
    "EngineUnavailableError",
    "EnvironmentBuildError",
    "EnvironmentNotFoundError",
    "ImageBuildError",
    "ImageCreationError",
    "ImageNotFoundError",
    "IntegrityError",
    "ModelNotFoundError",
    "ModelNotFoundException",
    "NotFoundError",
    "ProjectSystemException",
    "SecretNotFoundError",
    "ServiceNotFoundError",
    "SpecError",
    "StepError",
    "UserError",
    "UserErrorException",
    "ValidationError",
    "WebserviceError",
    "WebserviceException",
    "WorkspaceNotFoundError",
]
