"""Steps ``import``, ``signatures``, ``init`` and ``score``: what the probe found, in the words
of the person who wrote score.py.

Tracebacks point into the user's own files (the probe ran a copy in an app root: its paths are
mapped back to the source directory or the entry script), every finding names the file and line,
and every fix says what to change there (or which model or package to give).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.builders.app_root import MODELS_DIR, AppRoot
from dockyard.builders.specs import ModelSpec
from dockyard.diagnosis.probe import ProbeResult
from dockyard.diagnosis.report import FAILED, PASSED, SKIPPED, Step

STEPS = ("import", "signatures", "init", "score")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)
_NOT_USERS = re.compile(r"[/\\]dockyard[/\\]server[/\\]|^<frozen |^<string>$")
_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)|[A-Z]\w*Error)\b.*$",
    re.MULTILINE,
)
_MARKERS = re.compile(r"^\s*[\^~]+\s*$")
_NO_MODULE = re.compile(r"No module named '([^']+)'")
#: Modules whose package is named otherwise (what to write under ``pip:``).
PACKAGE_OF = {
    "inference_schema": "inference-schema",
    "sklearn": "scikit-learn",
    "cv2": "opencv-python-headless",
    "yaml": "PyYAML",
    "PIL": "Pillow",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "google.protobuf": "protobuf",
    "onnxruntime": "onnxruntime",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
}
_MODES = {
    "plain": "run() gets the request body as a string",
    "schema": "run() gets the JSON object's fields as typed arguments (@input_schema)",
    "raw": "run() gets the request object (@rawhttp)",
}


@dataclass(frozen=True)
class ScriptContext:
    """Where the user's files are, where the probe's copies were, and what was deployed."""

    entry_script: Path
    source_directory: Path | None
    app_root: AppRoot
    models: Sequence[ModelSpec]
    #: What the environment was (``the conda file env.yml``), None for dockyard's own Python.
    environment: str | None

    def user_paths(self, text: str) -> str:
        """``text`` with the app root's copies of the user's files named by their originals,
        and the rest of the (temporary) app root as ``<app root>``."""
        root = self.app_root.path
        if self.source_directory is not None and self.app_root.source_directory:
            copy, original = root / self.app_root.source_directory, self.source_directory
        else:
            copy, original = root / self.app_root.entry_script, self.entry_script
        return text.replace(str(copy), str(original)).replace(str(root), "<app root>")

    def traceback(self, text: str) -> str:
        """A traceback as the user reads it: their paths, their frames."""
        return clean(self.user_paths(text))

    def is_users(self, path: str) -> bool:
        if self.source_directory is not None:
            return path.startswith(str(self.source_directory))
        return path == str(self.entry_script)

    def where(self, traceback: str) -> str | None:
        """``file, line N`` of the innermost frame of ``traceback`` in the user's files."""
        frames = [m for m in _FRAME.finditer(traceback) if self.is_users(m["file"])]
        return f"{frames[-1]['file']}, line {frames[-1]['line']}" if frames else None


def clean(traceback: str) -> str:
    """``traceback`` without the frames of the server, the probe and importlib (as the
    server's own start-failure report shows it): the user's frames and the error remain, and
    the ``^^^`` markers of frames cut before are dropped."""
    out: list[str] = []
    skipping = False
    for line in traceback.splitlines():
        frame = _FRAME.match(line)
        if frame is not None:
            skipping = bool(_NOT_USERS.search(frame["file"]))
            if skipping:
                continue
        elif skipping and line.startswith("    "):
            continue
        elif _MARKERS.match(line) and out and _MARKERS.match(out[-1]):
            continue  # the markers of a code line that is not shown
        else:
            skipping = False
        out.append(line)
    return "\n".join(out).rstrip()


def shorten(text: str, limit: int = 200) -> str:
    """One line of at most ``limit`` characters (the evidence has the whole text)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def error_line(text: str) -> str:
    """The last exception line of ``text`` (``RuntimeError: no model``), else its last line."""
    found = _EXCEPTION.findall(text)
    return found[-1].strip() if found else last_line(text)


def last_line(traceback: str) -> str:
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def steps_of(result: ProbeResult, ctx: ScriptContext, timeout: float) -> list[Step]:
    """One step per probe phase, in order, up to the first that did not pass (the steps after
    it are left out: the caller reports them as not checked)."""
    steps: list[Step] = []
    for name in STEPS:
        phase = result.phase(name)
        # every phase before this one passed: a missing one is where the child was cut short
        steps.append(
            _cut_short(name, result, ctx, timeout) if phase is None else _BUILDERS[name](phase, ctx)
        )
        if steps[-1].status != PASSED:
            break
    return steps


def _cut_short(name: str, result: ProbeResult, ctx: ScriptContext, timeout: float) -> Step:
    """The step the child was in when it was stopped or exited on its own."""
    output = ctx.user_paths(result.output_tail)
    if result.timed_out:
        what = "import" if name == "import" else "init()" if name == "init" else "run()"
        return Step(
            name,
            FAILED,
            f"{what} did not finish within {timeout:g} s (stopped)",
            evidence=output,
            fix=f"find what {what} waits for in {ctx.entry_script} (the output above ends where "
            "it stopped), or allow more time: --timeout SECONDS (timeout=... in the SDK)",
        )
    return Step(
        name,
        FAILED,
        f"the process running score.py exited with code {result.exit_code} during {name} "
        "(os._exit, a crash in native code, or the machine ran out of memory)",
        evidence=output,
        fix=f"run `python {ctx.entry_script}` in the environment to see the crash, and fix "
        "what it shows",
    )


# --- import ---------------------------------------------------------------------------------------
def _import(phase: dict[str, Any], ctx: ScriptContext) -> Step:
    if phase["ok"]:
        return Step("import", PASSED, f"{ctx.entry_script} imports ({phase['seconds']:.2f} s)")
    traceback = ctx.traceback(phase.get("traceback") or "")
    error = last_line(traceback)
    where = ctx.where(traceback)
    at = f" at {where}" if where else ""
    missing = _NO_MODULE.search(error)
    if missing:
        module = missing.group(1).split(".")[0]
        known = PACKAGE_OF.get(module)
        package = f"{known} (it provides {module!r})" if known else (
            f"the package that provides {module!r}"
        )  # fmt: skip
        environment = (
            f"add {package} to {ctx.environment}"
            if ctx.environment
            else f"give an environment that installs {package} "
            "(--conda-file env.yml listing it under pip:, or --environment NAME)"
        )
        fix = f"{environment}, or remove the import{at}"
    else:
        fix = f"fix the error{at} (the traceback above shows the line)"
    finding = f"{ctx.entry_script.name} does not import: {error}" + (f" ({where})" if where else "")
    return Step("import", FAILED, finding, traceback, fix)


# --- signatures -----------------------------------------------------------------------------------
def _signatures(phase: dict[str, Any], ctx: ScriptContext) -> Step:
    if phase["ok"]:
        mode = _MODES.get(phase.get("mode", ""), "")
        return Step("signatures", PASSED, f"{phase['init']} and {phase['run']} are usable ({mode})")
    summary = ctx.user_paths(phase.get("summary") or "")
    evidence = ctx.traceback(phase.get("traceback") or "")
    if evidence.strip() in summary:
        evidence = ""
    script = ctx.entry_script
    if "run() function defined" in summary:
        fix = f"define run() in {script}: def run(data): ... (it gets each request's input; return a JSON value)"
    elif "init() function defined" in summary:
        fix = f"define init() in {script}: def init(): ... (called once before traffic; load the model there)"
    elif "init() requires" in summary:
        fix = f"declare init() without parameters in {script}: def init(): (read paths from os.environ['AZUREML_MODEL_DIR'])"
    elif "@rawhttp and @input_schema" in summary:
        fix = f"decorate run() in {script} with one of @rawhttp and @input_schema"
    else:
        fix = f"give run() in {script} one named parameter for the input: def run(data): (no *args, **kwargs or positional-only parameters)"
    return Step("signatures", FAILED, summary, evidence, fix)


# --- init -----------------------------------------------------------------------------------------
def _init(phase: dict[str, Any], ctx: ScriptContext) -> Step:
    calls = phase.get("calls") or []
    resolved = [_resolved(c, ctx) for c in calls if "result" in c]
    if phase["ok"]:
        found = f"; {'; '.join(resolved)}" if resolved else ""
        return Step("init", PASSED, f"init() succeeded in {phase['seconds']:.2f} s{found}")
    traceback = ctx.traceback(phase.get("traceback") or "")
    model_dir = ctx.app_root.model_dir_value
    listing = (
        f"the app root's models folder (AZUREML_MODEL_DIR={model_dir}):\n{phase.get('listing', '')}"
    )
    made = "\n".join(["Model.get_model_path calls:", *resolved]) if resolved else ""
    evidence = "\n".join(part for part in (traceback.rstrip(), made, listing) if part)
    if phase.get("swagger"):
        return Step(
            "init",
            FAILED,
            f"init() succeeded, but the server's start fails: {phase['summary']}",
            evidence,
            f"fix or remove the swagger file named above (in {ctx.source_directory or ctx.entry_script.parent})",
        )
    failed_call = next((c for c in calls if "error" in c), None)
    if failed_call is not None:
        return _model_path_failure(failed_call, ctx, evidence)
    where = ctx.where(traceback)
    at = f" at {where}" if where else ""
    return Step(
        "init",
        FAILED,
        f"init() raised {last_line(traceback)}{at}",
        evidence,
        f"fix init(){at} (the traceback above shows the line; the model files are where the "
        f"listing shows them: os.environ['AZUREML_MODEL_DIR'] is {model_dir!r}, relative to "
        "the app root, the working directory)",
    )


def _resolved(call: dict[str, Any], ctx: ScriptContext) -> str:
    """``Model.get_model_path('x') -> path``, saying when the path is no deployed model."""
    path = ctx.user_paths(str(call["result"]))
    text = f"Model.get_model_path({call['model_name']!r}) -> {path}"
    if MODELS_DIR not in path:
        text += " (a file or folder of the app root by that name, not a deployed model)"
    return text


def _model_path_failure(call: dict[str, Any], ctx: ScriptContext, evidence: str) -> Step:
    name, version = call["model_name"], call.get("version")
    file = ctx.user_paths(str(call["file"]))
    where = f"{file}, line {call['line']}" if ctx.is_users(file) else f"{file}:{call['line']}"
    asked = f"{name!r}" + (f", version={version}" if version is not None else "")
    deployed = {m.name: m.version for m in ctx.models}
    if name in deployed and version is not None:
        fix = (
            f"the deployment has {name} version {deployed[name]}: call "
            f"Model.get_model_path({name!r}) (the deployed version) at {where}, or pass "
            f"--model {name}:{version}"
        )
    elif deployed:
        names = ", ".join(repr(n) for n in deployed)
        first = next(iter(deployed))
        fix = (
            f"call Model.get_model_path({first!r}) at {where} (the models deployed: {names}), or "
            f"deploy the model registered as {name!r} too: --model {name}"
        )
    else:
        fix = f"deploy the model the script loads: --model {name} (Model(ws, {name!r}) in the SDK)"
    return Step(
        "init",
        FAILED,
        f"init() failed: Model.get_model_path({asked}) at {where} raised "
        f"{call['error'].split(': ', 1)[0]}: the deployment has no such model "
        f"({', '.join(f'{n}:{v}' for n, v in deployed.items()) or 'no model'} deployed)",
        evidence,
        fix,
    )


# --- score ----------------------------------------------------------------------------------------
def _score(phase: dict[str, Any], ctx: ScriptContext) -> Step:
    if phase["ok"] is None:
        return Step(
            "score",
            SKIPPED,
            "no sample to send: pass --sample '<request body JSON>' (or --sample @file.json; "
            "sample= in the SDK), or decorate run() with @input_schema so that its example is used",
        )
    status, body, source = phase["status"], phase.get("body", ""), phase.get("source", "")
    sent = f"the sample ({source})"
    if phase["ok"]:
        shown = body if len(body) <= 300 else body[:300] + "..."
        return Step(
            "score",
            PASSED,
            f"{sent} scored: 200 in {phase['seconds'] * 1000:.0f} ms, the answer is JSON: {shown}",
        )
    evidence = f"sample: {phase.get('sample', '')}\nanswer: {status} {_message(body)}"
    if phase.get("not_json"):
        return Step(
            "score",
            FAILED,
            f"run() answered {sent}, but its value is not JSON: {phase['not_json']}",
            evidence,
            f"return plain lists, dicts, numbers and strings from run() in {ctx.entry_script} "
            "(e.g. sorted(a_set), array.tolist()), or an AMLResponse",
        )
    if phase.get("headers", {}).get("x-ms-run-function-failed") == "True":
        return _run_raised(status, body, sent, evidence, ctx)
    message = _message(body)
    if status in (400, 415):
        return Step(
            "score",
            FAILED,
            f"{sent} does not fit run()'s input: {status} {message}",
            evidence,
            "send a JSON object whose keys are run()'s parameters (--sample '{\"data\": ...}')"
            if "parameter" in message or "dictionary" in message
            else "send the body run() expects: --sample '<JSON>' (or @file.json)",
        )
    return Step(
        "score", FAILED, f"{sent} got {status}: {message}", evidence, "see the evidence above"
    )


def _run_raised(status: int, body: str, sent: str, evidence: str, ctx: ScriptContext) -> Step:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    traceback = ctx.traceback(str(answer.get("traceback") or ""))
    error = str(answer.get("error") or _message(body))
    where = ctx.where(traceback)
    at = f" at {where}" if where else ""
    if "Scoring timeout" in body:
        return Step(
            "score",
            FAILED,
            f"run() did not answer {sent} in time: {_message(body)}",
            evidence,
            "make run() faster, or raise scoring_timeout_ms in the deployment configuration",
        )
    return Step(
        "score",
        FAILED,
        f"run() raised {error}{at} for {sent}",
        f"{traceback.rstrip()}\n{evidence}".strip(),
        f"fix run(){at}; while you debug, the seed's try/except in run() can return the error "
        "text to the caller (never in production)",
    )


def _message(body: str) -> str:
    try:
        return str(json.loads(body).get("message", body))
    except (ValueError, AttributeError):
        return body


_BUILDERS = {"import": _import, "signatures": _signatures, "init": _init, "score": _score}


__all__ = ["STEPS", "ScriptContext", "clean", "error_line", "last_line", "shorten", "steps_of"]
