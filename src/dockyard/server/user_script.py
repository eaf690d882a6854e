"""Loading the user's score.py: import it, check ``init``/``run``, decide how run() is called.

The rules are azmlinfsrv's: the script is imported as module ``entry_module`` from its path
(or ``import main`` when no entry script is configured); it must define ``init()`` and ``run()``;
a "driver module" (``driver_module`` attribute with its own ``run``) has its ``run`` called
directly; ``run`` may not take ``*args``, ``**kwargs`` or positional-only parameters; a
``request_headers`` parameter receives the request headers; ``@rawhttp`` and ``@input_schema``
pick the input mode (see :mod:`dockyard.server.run_input`) and may not be combined.

Failures raise :class:`ScriptLoadError` carrying the traceback as text (never a live exception):
the server logs it and exits with code 3, an embedding host shows it.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

from dockyard.server.compat import SHIM_DIR
from dockyard.server.run_input import SchemaParameters

logger = logging.getLogger("dockyard.server.user_script")

RAWHTTP_MODULE = "azureml.contrib.services.aml_request"


class ScriptLoadError(Exception):
    """Importing score.py, checking it, or its ``init()`` failed.

    ``phase`` is ``"import"``, ``"check"`` or ``"init"``; ``traceback_text`` is the formatted
    traceback (what the log shows); ``str(error)`` is a one-line summary saying what to fix.
    """

    def __init__(self, phase: str, summary: str, traceback_text: str) -> None:
        super().__init__(summary)
        self.phase = phase
        self.summary = summary
        self.traceback_text = traceback_text


def prepare_sys_path(app_root: str, source_dir: str | None, entry_script: str | None) -> None:
    """Append the app root, source dir and script folder, then the azureml shims, to ``sys.path``.

    Appended, not prepended (as azmlinfsrv does), so installed packages keep priority; the shim
    folder comes last so a real ``azureml`` package always wins.
    """
    wanted = [app_root]
    if source_dir:
        wanted.append(source_dir)
    if entry_script:
        wanted.append(os.path.dirname(entry_script))
    for path in wanted:
        if path and path not in sys.path:
            sys.path.append(path)
    if SHIM_DIR in sys.path:
        sys.path.remove(SHIM_DIR)
    sys.path.append(SHIM_DIR)


class UserScript:
    """A loaded score.py and how to call its run().

    ``mode`` is ``"plain"``, ``"schema"`` or ``"raw"``; ``param`` is run's input parameter name
    (plain and raw); ``schema`` extracts the arguments (schema mode); ``wants_headers`` is true when
    run() declares ``request_headers``.
    """

    def __init__(
        self, path: str | None, module: ModuleType, run: Callable[..., Any], init: Callable[[], Any]
    ) -> None:
        self.path = path
        self.module = module
        self.run = run
        self.init = init
        self.mode = "plain"
        self.param = ""
        self.schema: SchemaParameters | None = None
        self.wants_headers = False
        self.positional = False
        self._analyze()

    def _analyze(self) -> None:
        params = list(inspect.signature(self.run).parameters.values())
        allowed = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if any(p.kind not in allowed for p in params):
            raise ValueError("run() cannot accept positional-only arguments, *args, or **kwargs.")
        self.wants_headers = any(p.name == "request_headers" for p in params)
        params = [p for p in params if p.name != "request_headers"]
        if not params:
            if self.wants_headers:
                raise ValueError('run() needs to accept an argument other than "request_headers".')
            raise ValueError("run() needs to accept an argument for input data.")
        first = params[0]
        raw = bool(getattr(sys.modules.get(RAWHTTP_MODULE), "_rawHttpRequested", False))
        decorated = is_schema_decorated(self.run)
        if raw and decorated:
            raise ValueError("run() cannot be decorated with both @rawhttp and @input_schema")
        if raw:
            self.mode, self.param = "raw", first.name
            logger.info(
                "run() is decorated with @rawhttp. Server will invoke it with the request object."
            )
        elif decorated:
            self.mode = "schema"
            self.schema = SchemaParameters(params)
            names = ", ".join(p.name for p in params)
            logger.info(
                f"run() is decorated with @input_schema. Server will invoke it with the following arguments: {names}."
            )
        else:
            self.mode, self.param = "plain", first.name
            logger.info(
                "run() is not decorated. Server will invoke it with the input in JSON string."
            )
        self.positional = (
            self.mode != "schema"
            and not self.wants_headers
            and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        )


def is_schema_decorated(func: Callable[..., Any]) -> bool:
    """True when inference-schema's ``@input_schema``/``@output_schema`` decorate ``func``."""
    if "inference_schema" not in sys.modules:
        return False  # the script did not import it, so it cannot have used it
    try:
        from inference_schema.schema_util import is_schema_decorated as check
    except ImportError:
        return False
    return bool(check(func))


def _format_exc(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def load_script(entry_script: str | None, app_root: str) -> UserScript:
    """Import score.py (or ``main``) and check it; raises :class:`ScriptLoadError`."""
    try:
        if entry_script:
            spec = importlib.util.spec_from_file_location("entry_module", entry_script)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {entry_script}: not a Python file")
            module = importlib.util.module_from_spec(spec)
            # registered so that pickle and dataclasses can find the script's classes
            sys.modules["entry_module"] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop("entry_module", None)
                raise
        else:
            module = importlib.import_module("main")  # azmlinfsrv's fallback: main.py on sys.path
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        text = _format_exc(exc)
        where = entry_script or os.path.join(app_root, "main.py")
        if isinstance(exc, ModuleNotFoundError) and exc.name == "main" and not entry_script:
            summary = f"No score script found. Expected score script main.py in {app_root}; pass --entry-script."
        else:
            summary = (
                f"Failed to import the entry script {where}: {type(exc).__name__}: {exc}. "
                "Fix the error shown in the traceback (often a missing package in the environment)."
            )
        raise ScriptLoadError("import", summary, text) from None

    location = getattr(module, "__file__", entry_script)
    for name in ("init", "run"):
        if not hasattr(module, name):
            summary = f"User script at {location} does not have a {name}() function defined."
            raise ScriptLoadError("check", summary, summary + "\n")

    run = module.run
    driver = getattr(module, "driver_module", None)
    if isinstance(driver, ModuleType) and hasattr(driver, "run"):
        run = driver.run
        logger.info(
            f"Found driver script at {location} and the score script at {getattr(driver, '__file__', '?')}"
        )
    else:
        logger.info(f"Found user script at {location}")
    try:
        return UserScript(entry_script, module, run, module.init)
    except ValueError as exc:
        raise ScriptLoadError("check", f"{exc} (in {location})", f"{exc}\n") from None
    except Exception as exc:  # inspecting run() itself failed
        raise ScriptLoadError(
            "check", f"run() in {location} cannot be inspected: {exc}", _format_exc(exc)
        ) from None


def call_init(script: UserScript) -> None:
    """Call the script's ``init()``; raises :class:`ScriptLoadError` (phase ``init``) on failure."""
    logger.info("Invoking user's init function")
    try:
        script.init()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        summary = f"init() in {script.path or 'main.py'} raised {type(exc).__name__}: {exc}"
        raise ScriptLoadError("init", summary, _format_exc(exc)) from None
    logger.info("Users's init has completed successfully")
