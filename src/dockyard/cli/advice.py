"""The SDK's advice in the CLI's words: errors as a CLI user should read them.

The SDK's hints are written for Python callers ("pass overwrite=True", "service.reload()");
:func:`render_error` rewrites them with the rules of :func:`_rules` into the CLI's flags and
commands ("pass --overwrite", "dockyard service reload NAME"), using what the running command
works on (:func:`dockyard.cli.common.context`). A unit test reads every hint of the SDK and fails
on Python advice left after the rewrite.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from dockyard.cli.common import context


# --- errors: the SDK's advice in the CLI's words ------------------------------------------------
def render_error(exc: BaseException) -> str:
    """The text of an error as a CLI user should read it.

    A ``cli_hint`` attribute on the error (set by a command, or one day by the SDK) replaces its
    hint; then :func:`cli_advice` rewrites advice given for Python callers into flags and commands.
    Notes added with ``exc.add_note()`` (e.g. a request id) follow the message.
    """
    from dockyard import DockyardError  # lazy: `dockyard --help` stays fast

    if not isinstance(exc, DockyardError):
        return str(exc)
    saved = exc.message, exc.hint
    hint = getattr(exc, "cli_hint", None) or exc.hint
    exc.message = cli_advice(exc.message)
    exc.hint = cli_advice(hint) if hint else hint
    try:
        text = str(exc)
    finally:
        exc.message, exc.hint = saved
    notes = [n for n in getattr(exc, "__notes__", ()) if n not in text]
    if notes:
        head, sep, rest = text.partition("\n  What to do:")
        text = head + "".join(f"\n  {n}" for n in notes) + sep + rest
    return text


def _ctx(key: str, default: str) -> str:
    value = context().get(key)
    return str(value) if value else default


def _argv() -> list[str]:
    return list(context().get("argv") or [])


def _command() -> str:
    """``noun verb`` of the command being run (e.g. ``model deploy``)."""
    words = [a for a in _argv() if not a.startswith("-")]
    return " ".join(words[:2])


#: Commands whose inference-config settings are flags (or keys of an --ic file).
_INFERENCE_COMMANDS = ("model deploy", "image create", "service update")


def _has_flag(*flags: str) -> bool:
    return any(a in flags or a.split("=", 1)[0] in flags for a in _argv())


def _uses_ic_file() -> bool:
    return any(a in ("--ic", "--inference-config") or a.startswith("--ic=") for a in _argv())


def _service_words() -> dict[str, str]:
    s = _ctx("service", "NAME")
    return {
        "logs": f"`dockyard service logs {s}`",
        "show": f"`dockyard service show {s}`",
        "reload": f"`dockyard service reload {s}`",
        "update": f"`dockyard service update {s} --ic inferenceconfig.json`",
        "update_any": f"`dockyard service update {s} [--model NAME:VERSION] [--ic inferenceconfig.json]`",
        "deploy": f"`dockyard model deploy --name {s} ... --overwrite`",
        "delete": f"`dockyard service delete {s}`",
        "start": f"`dockyard service start {s}`",
        "keys": f"`dockyard service keys {s}`",
    }


Rule = tuple[str, Callable[[re.Match[str]], str]]

#: The SDK's ``Model.deploy(ws, 'NAME', [Model(ws, 'm', version=1), ...], ...)`` advice.
_DEPLOY_CALL = r"Model\.deploy\(ws, '([^']+)', \[([^\]]*)\],[^)]*\)"


def _deploy_command(match: re.Match[str]) -> str:
    """``dockyard model deploy`` for a ``Model.deploy(...)`` call in the SDK's advice: the user's
    own command line when the failing command was that deployment, else one naming the models."""
    if _same_deploy(match.group(1)):
        argv = [a for a in _argv() if a != "--overwrite"]
        return f"`dockyard {shlex.join(argv)} --overwrite`"
    models = re.findall(r"Model\(ws, '([^']+)'(?:, version=(\d+))?\)", match.group(2))
    flags = "".join(
        f" -m {name}:{version}" if version else f" -m {name}" for name, version in models
    )
    return f"`dockyard model deploy --name {match.group(1)}{flags} ... --overwrite`"


def _same_deploy(name: str) -> bool:
    """The command being run is ``dockyard model deploy --name NAME``."""
    return _command() == "model deploy" and _ctx("service", "") == name


def _redeploy(match: re.Match[str], files: str) -> str:
    if _same_deploy(match.group(1)):
        return (
            f"deploy again with the same command once the files are fixed: {_deploy_command(match)}"
        )
    return f"deploy again: {_deploy_command(match)} ({files})"


def _rules() -> list[Rule]:
    """SDK advice -> CLI advice. Specific sentences first, then the SDK names one by one."""
    w = _service_words()
    image = _ctx("image", "NAME:VERSION")
    ic = _uses_ic_file()
    ic_file = "the --ic file"

    def lit(text: str) -> Callable[[re.Match[str]], str]:
        return lambda _m: text

    def param(flag: str, key: str) -> Callable[[re.Match[str]], str]:
        if _command() not in _INFERENCE_COMMANDS:
            return lambda m: m.group(0)  # another command: leave the text alone
        return lit(f"{key} (in {ic_file})" if ic else flag)

    return [
        # --- services --------------------------------------------------------------------------
        (r"pick another name, delete it first, or pass overwrite=True",
         lit(f"pick another --name, delete it first ({w['delete']}), or pass --overwrite to replace it")),
        (r"use service\.update\(inference_config=\.\.\.\) to roll out a changed script",
         lit(f"roll out a changed script with {w['update']}")),
        (r"use service\.update\(image=\.\.\.\) or update\(inference_config=\.\.\.\)",
         lit(f"roll out the script again with {w['update']}")),
        (r"reload\(\) works for local services only", lit("`dockyard service reload` works for local services only")),
        (r"deploy with deploy_configuration\(auth_enabled=True\) to get keys",
         lit(f"deploy it again with keys: `dockyard model deploy --name {_ctx('service', 'NAME')} ... "
             '--dc deploymentconfig.json --overwrite`, where the file holds {"authEnabled": true}')),
        (r"deploy it again with Model\.deploy\(\.\.\.\) or `dockyard model deploy`", lit(f"deploy it again: {w['deploy']}")),
        (r"deploy (the service|it) again \(overwrite=True\)", lambda m: f"deploy {m.group(1)} again: {w['deploy']}"),
        (r"delete and deploy again to change the port",
         lit(f"{w['delete']}, then deploy it again with --port PORT")),
        (r"choose another port in (?:LocalWebservice\.)?deploy_configuration\(port=\.\.\.\), or omit it",
         lit('choose another --port (or "port" in the --dc file), or leave it out')),
        (r"deploy with LocalWebservice\.deploy_configuration\(\) for now",
         lit('deploy locally for now (no --dc, or a --dc file with "computeType": "local")')),
        (r"fix the named argument; see docs/deploy\.md",
         lit("fix that setting in the --dc file; see docs/deploy.md" if _has_flag("--dc")
             else "fix that setting; see docs/deploy.md")),
        (r"cannot answer run\(\)", lit("cannot answer requests")),
        # --- cluster services ------------------------------------------------------------------
        (r"pass deployment_target=ComputeTarget\(ws, NAME\), or create one: dockyard compute create NAME",
         lit("pass --compute-target NAME (`dockyard compute list` shows them), or create one: "
             "`dockyard compute create NAME`")),
        (r"use AksWebservice\.deploy_configuration\(\.\.\.\) with deployment_target, or drop it",
         lit('use a --dc file with "computeType": "aks" with --compute-target, or drop --compute-target')),
        (r"its keys authenticate callers \(service\.get_keys\(\)\); for tokens deploy with "
         r"AksWebservice\.deploy_configuration\(auth_enabled=False, token_auth_enabled=True\)",
         lit(f"its keys authenticate callers ({w['keys']}); for tokens deploy with a --dc file "
             'holding {"computeType": "aks", "authEnabled": false, "tokenAuthEnabled": true}')),
        (r"deploy it first: Model\.deploy\(ws, name, models, inference_config, deployment_config\)",
         lit(f"deploy it first: {w['deploy']}")),
        (r"regen_key: unknown key", lit("--regen: unknown key")),
        (r'use "Primary" or "Secondary"', lit("use --regen Primary or --regen Secondary")),
        (r"check service\.state \(([^)]*)\) and service\.get_logs\(\)",
         lambda m: f"the service is {m.group(1)}: see {w['show']} and {w['logs']}"),
        (r"service\.reload\(\) \(local\) or service\.update\(\)",
         lit(f"{w['reload']} (local services) or {w['update']}")),
        (r"deploy again with the fixed inference_config and the same deployment_config: " + _DEPLOY_CALL,
         lambda m: _redeploy(m, "with the fixed --ic file or --entry-script, and the --dc file you deployed with")),
        (r"deploy again with the fixed inference_config: " + _DEPLOY_CALL,
         lambda m: _redeploy(m, "with the fixed --ic file or --entry-script")),
        (_DEPLOY_CALL, _deploy_command),
        (r"service\.get_logs\(request_id=['\"]?([\w.:-]+)['\"]?\)",
         lambda m: f"`dockyard service logs {_ctx('service', 'NAME')} --request-id {m.group(1)}`"),
        (r"WebserviceException\.request_id", lit("the `Request id:` line of `dockyard service run`")),
        (r"service\.start\(\), then service\.wait_for_deployment\(\)", lit(w["start"] + " (it waits until Healthy)")),
        (r"service\.start\(\)", lit(w["start"])),
        (r"wait longer \(service\.wait_for_deployment\(timeout_sec=\.\.\.\)\)",
         lit(f"wait longer ({w['show']} shows its state)")),
        (r"wait until it is Healthy: service\.wait_for_deployment\(\)",
         lit(f"wait until it is Healthy ({w['show']} shows its state)")),
        (r"service\.wait_for_deployment\(\) says why", lit(f"{w['show']} says why")),
        (r"service\.wait_for_deployment\([^)]*\)", lit(w["show"])),
        (r"dockyard\.diagnose\(ws, '([\w-]+)'\)", lambda m: f"`dockyard diagnose {m.group(1)}`"),
        (r"pass window_s=(\d+)", lambda m: f"pass --window {m.group(1)}"),
        (r"deploy with a larger scoring_timeout_ms \(service\.update\(deployment_config=\.\.\.\)\)",
         lambda m: "deploy again with a larger scoringTimeoutMs in the --dc file (`dockyard "
         f"model deploy --name {_ctx('service', 'NAME')} ... --dc deploymentconfig.json --overwrite`)"),
        (r"service\.get_logs\(\)", lit(w["logs"])),
        (r"service\.reload\(\)", lit(w["reload"])),
        (r"service\.update\(inference_config=[^)]*\)", lit(w["update"])),
        (r"service\.update\(models=[^)]*\)", lit(f"`dockyard service update {_ctx('service', 'NAME')} --model NAME:VERSION`")),
        (r"service\.update\([^)]*\)", lit(w["update_any"])),
        (r"service\.state\b", lit(w["show"])),
        # --- images ----------------------------------------------------------------------------
        (r"wait for the build \(image\.wait_for_creation\(\)\) or create the image again",
         lit(f"`dockyard image show {image}` shows how the build is going; if it failed, "
             "create the image again with `dockyard image create`")),
        (r" or Image\.list\(ws\)", lit("")),
        (r"\(Image\.create\)", lit("(`dockyard image create`)")),
        (r"Image\.set_container_registry\(ws, \"([^\"]+)\", username=\"USER\", password=\"PASSWORD\"\)",
         lambda m: f"`dockyard image registry {m.group(1)} --username USER --password-stdin` (the password on stdin)"),
        (r"Image\.set_container_registry\(ws, address\)", lit("`dockyard image registry ADDRESS`")),
        (r"to change the base, set base_image instead", lit("to change the base, use --base-image instead")),
        # --- models ----------------------------------------------------------------------------
        (r" or Model\.list\(ws\)", lit("")),
        (r"Pass exist_ok=True \(--exist-ok\)", lit("Pass --exist-ok")),
        (r"Pass model_framework too, e\.g\. Model\.Framework\.SCIKITLEARN\.",
         lit("Pass --framework too, e.g. --framework ScikitLearn.")),
        (r"\bmodel_framework_version\b", lit("--framework-version")),
        (r"use child_paths to pick", lit("use --child-path to pick")),
        (r"child_paths are relative to model_path\.", lit("--child-path values are relative to PATH.")),
        (r"\bchild_paths\b", lit("--child-path values")),
        (r"Delete or update those services first \(`dockyard service delete NAME`\)",
         lit("Delete those services first (`dockyard service delete NAME`), or move them to "
             "another model version (`dockyard service update NAME --model NAME:VERSION`)")),
        # --- environments ----------------------------------------------------------------------
        (r"register it with env\.register\(ws\) / ", lit("register it with ")),
        (r"ask for a version instead: Environment\.get\(ws, name, version='2'\)",
         lit("ask for a version instead: --version 2")),
        (r"use one of those versions, or omit the version for the latest",
         lit("pass one of those with --version, or leave --version out for the latest")),
        (r"omit the version to get the latest", lit("leave --version out to get the latest")),
        # --- workspaces ------------------------------------------------------------------------
        (r"Create it with Workspace\.create\([^)]*\) or (`dockyard workspace create [^`]*`)",
         lambda m: f"Create it with {m.group(1)}"),
        (r"Pass exist_ok=True to open it", lit("Leave out --no-exist-ok to open it")),
        (r"open the existing one with Workspace\.get\(NAME\)",
         lit("use the existing one with --workspace PATH")),
        (r"open it with Workspace\.from_path\(PATH\)", lit("use it with --workspace PATH")),
        (r"Use Workspace\.get\(NAME\), Workspace\.from_config\(\) or Workspace\.create\(NAME\)\.",
         lit("Pass --workspace PATH, or create one with `dockyard workspace create NAME`.")),
        (r"Run `dockyard workspace create NAME` and then ws\.write_config\(\) in your project "
         r"folder, or pass the config file's path: Workspace\.from_config\(path=\.\.\.\)\.",
         lit("Run `dockyard workspace create NAME --write-config` in your project folder, "
             "or pass --workspace PATH.")),
        (r"recreate it with ws\.write_config\(\)",
         lit("recreate it with `dockyard workspace create NAME --write-config`")),
        (r"fix database_url / DOCKYARD_DATABASE_URL", lit("fix --database-url / DOCKYARD_DATABASE_URL")),
        (r"use one of (.+?), or pass suite=\.\.\. explicitly",
         lambda m: f"use --python with one of {m.group(1)}"),
        # --- inference config: flags (model deploy, image create) or keys of the --ic file -------
        (r"keep entry_script='score\.py'", lit("keep only entryScript" if ic else "keep --entry-script score.py")),
        (r"e\.g\. InferenceConfig\(entry_script='score\.py', environment=env\)",
         lit('e.g. {"entryScript": "score.py"}' if ic else "e.g. --entry-script score.py")),
        (r"InferenceConfig\(entry_script='score\.py', environment=myenv\)",
         lit('an inference config with an environment, e.g. --ic inferenceconfig.json holding '
             '{"entryScript": "score.py", "environment": {...}}')),
        (r"use runtime='python' or leave it out", lit('use "runtime": "python" or leave it out')),
        (r"fix InferenceConfig\((\w+)=\.\.\.\)", lambda m: f"fix {m.group(1)}"),
        (r"\bentry_script\b", param("--entry-script", "entryScript")),
        (r"\bsource_directory\b", param("--source-directory", "sourceDirectory")),
        (r"\bconda_file\b", param("--conda-file", "condaFile")),
        (r"env\.python\.conda_dependencies", lit("the environment's python.condaDependencies")),
        (r"env\.docker\.base_image", lit("its docker.baseImage")),
        (r"\bpython\.interpreter_path\b", lit("python.interpreterPath")),
    ]  # fmt: skip


def cli_advice(text: str) -> str:
    """Rewrite advice meant for Python callers into the CLI's flags and commands."""
    for pattern, replace in _rules():
        text = re.sub(pattern, replace, text)
    return text
