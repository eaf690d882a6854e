"""Virtual environments per build hash, built with uv, cached, shared safely between processes.

:func:`ensure_environment` turns an :class:`~dockyard.builders.specs.EnvironmentSpec` into a
:class:`ResolvedEnvironment` (an interpreter that can run ``python -m dockyard.server``):

* ``cache_dir/<build_hash>/`` holds the virtual environment; it is reused when its marker
  (``.dockyard-env.json``, written last) is there and its interpreter still exists;
* a build runs under a file lock (``cache_dir/.locks/<build_hash>.lock``): one process builds,
  the others wait and reuse it. It builds in ``cache_dir/.tmp-<build_hash>-*`` and renames the
  folder into place, so a killed or failed build leaves nothing a later call trusts;
* the full log is ``cache_dir/logs/<build_hash>.log`` (in the result and in every error);
* the server runtime (``runtime.py``) lives in ``cache_dir/runtime/<key>/`` and a ``.pth`` file
  appends it, then its ``azureml.*`` stand-ins, to the venv's ``sys.path`` (the user's pinned
  packages and any real Azure package win); any ``python`` of the venv finds the stand-ins.

Package sources follow the user's pip configuration (see ``uvtool.py``), because uv does not
read ``pip.conf``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dockyard
from dockyard.builders import runtime
from dockyard.builders.cache import build_once, write_json
from dockyard.builders.conda import InstallPlan, plan_install, python_mismatch
from dockyard.builders.specs import EnvironmentSpec
from dockyard.builders.uvtool import BuildLog, read_pip_settings, run_uv, uv_source_options
from dockyard.errors import EnvironmentBuildError, SpecError

Progress = Callable[[str], None]

#: Marker written last into a complete environment folder.
ENV_MARKER = ".dockyard-env.json"
_STEP = "environment"
_HASH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ResolvedEnvironment:
    """An interpreter ready to run the scoring server, and what is installed in it.

    ``kind`` is ``"venv"`` (built and cached by dockyard), ``"dockyard"`` (the spec needs no
    packages: dockyard's own interpreter, the fastest path) or ``"user-managed"``.
    """

    build_hash: str
    kind: str
    python: Path
    python_version: str
    #: Versions in use of the spec's packages and of the server runtime (for the start-up log).
    packages: dict[str, str]
    prefix: Path | None = None
    log_path: Path | None = None
    runtime_dir: Path | None = None
    reused: bool = False
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def server_command(self, *args: str) -> list[str]:
        """argv that starts ``python -m dockyard.server ARGS`` in this environment."""
        if self.kind == "user-managed":
            return runtime.bootstrap_command(self.python, self.runtime_dir, list(args))
        return [str(self.python), "-m", "dockyard.server", *args]


def ensure_environment(
    spec: EnvironmentSpec,
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    lock_timeout: float = 3600.0,
) -> ResolvedEnvironment:
    """Build (or reuse) the environment for ``spec`` under ``cache_dir`` and describe it.

    Raises :class:`~dockyard.errors.EnvironmentBuildError` (naming the requirements that cannot
    be installed, with the log tail and ``log_path``) or :class:`~dockyard.errors.SpecError`.
    """
    cache_dir = Path(cache_dir).expanduser().resolve()
    say = progress or (lambda _line: None)
    if spec.user_managed:
        return _user_managed(spec, cache_dir, say)
    plan = plan_install(spec)
    version = platform.python_version()
    warnings = list(plan.warnings)
    mismatch = python_mismatch(plan.python, version)
    if mismatch:
        warnings.append(mismatch)
    if plan.empty:
        for line in [*warnings, *plan.notes]:
            say(line)
        say(f"environment {spec.name!r} needs no packages: using dockyard's own interpreter")
        return ResolvedEnvironment(
            build_hash=spec.build_hash,
            kind="dockyard",
            python=Path(sys.executable),
            python_version=version,
            packages=runtime.own_versions(),
            reused=True,
            warnings=tuple(warnings),
            notes=tuple(plan.notes),
        )
    if not _HASH_RE.match(spec.build_hash):
        raise SpecError(
            f"Environment build hash {spec.build_hash!r} is not a safe folder name.",
            hint="use Environment.build_hash() (hex digits) as the spec's build_hash",
        )
    final = cache_dir / spec.build_hash
    log_path = cache_dir / "logs" / f"{spec.build_hash}.log"
    reused = True

    def build(tmp: Path) -> None:
        nonlocal reused
        reused = False
        _build_venv(spec, plan, tmp, cache_dir, log_path, warnings, say)

    build_once(final, cache_dir, _env_complete, build, say, lock_timeout)
    marker = _read_marker(final)
    if reused:
        say(f"environment {spec.name!r}: reusing {final}")
        marker = _refresh_runtime(final, marker, cache_dir, say, lock_timeout)
    return ResolvedEnvironment(
        build_hash=spec.build_hash,
        kind="venv",
        python=final / _venv_python_rel(),
        python_version=marker["python_version"],
        packages=dict(marker["packages"]),
        prefix=final,
        log_path=log_path,
        runtime_dir=runtime.attached_runtime(final),
        reused=reused,
        warnings=tuple(marker.get("warnings", ())),
        notes=tuple(marker.get("notes", ())),
    )


# --- the build ------------------------------------------------------------------------------------
def _build_venv(
    spec: EnvironmentSpec,
    plan: InstallPlan,
    tmp: Path,
    cache_dir: Path,
    log_path: Path,
    warnings: list[str],
    say: Progress,
) -> None:
    log = BuildLog(log_path, say)
    try:
        version = platform.python_version()
        log.write(f"dockyard {dockyard.__version__}: environment {spec.name!r} ({spec.build_hash})")
        log.write(
            f"started {time.strftime('%Y-%m-%d %H:%M:%S')}; Python {version} ({sys.executable})"
        )
        for note in plan.notes:
            log.write(f"note: {note}", say=True)
        for warning in warnings:
            log.write(f"WARNING: {warning}", say=True)
        settings = read_pip_settings()
        args, env, source_notes = uv_source_options(plan, settings)
        for note in source_notes:
            log.write(f"package sources: {note}")
        log.write(f"creating the virtual environment (uv, Python {version})", say=True)
        run_uv(
            ["venv", "--relocatable", "--no-project", "--python", sys.executable, str(tmp)],
            env,
            log,
        )
        python = tmp / _venv_python_rel()
        (tmp / "dockyard-requirements.txt").write_text("\n".join(plan.requirements) + "\n")
        # Bytecode at install time: a server start then imports scikit-learn & co. in about a
        # third of the time (the import, not the model, is most of a deploy or reload).
        install = ["pip", "install", "--compile-bytecode", "--python", str(python)]
        install += ["-r", str(tmp / "dockyard-requirements.txt")]
        if plan.constraints:
            (tmp / "dockyard-constraints.txt").write_text("\n".join(plan.constraints) + "\n")
            install += ["-c", str(tmp / "dockyard-constraints.txt")]
        for editable in plan.editables:
            install += ["--editable", editable]
        count = len(plan.requirements) + len(plan.editables)
        log.write(f"installing {count} requirement(s): {', '.join(plan.requirements)}", say=True)
        run_uv([*install, *args], env, log, plan=plan)
        runtime_dir = runtime.ensure_runtime(cache_dir, python, log, say, args, env)
        runtime.attach_runtime(tmp, runtime_dir)
        log.write(f"server runtime attached: {runtime_dir} (after the environment's own packages)")
        found = runtime.installed_versions(python, plan.requirement_names())
        log.write("versions in use: " + _format_versions(found["packages"]), say=True)
        marker = {
            "build_hash": spec.build_hash,
            "name": spec.name,
            "python_version": found["python"],
            "packages": found["packages"],
            "runtime_key": runtime_dir.name,
            "requirement_names": plan.requirement_names(),
            "warnings": warnings,
            "notes": plan.notes,
            "dockyard_version": dockyard.__version__,
            "created": time.time(),
        }
        write_json(tmp / ENV_MARKER, marker)  # last: the folder is complete
        log.write("environment complete", say=True)
    finally:
        log.close()


def _refresh_runtime(
    prefix: Path, marker: dict[str, Any], cache_dir: Path, say: Progress, lock_timeout: float
) -> dict[str, Any]:
    """Point a reused venv at the current server runtime (an edited server gives a new one)."""
    key = runtime.runtime_key(*runtime.current_python_tag())
    attached = runtime.attached_runtime(prefix)
    if attached == cache_dir / "runtime" / key and (attached / runtime.RUNTIME_MARKER).is_file():
        runtime.attach_runtime(prefix, attached)  # rewrites a .pth of an older dockyard
        return marker
    say("the server runtime changed: attaching the current one")
    python = prefix / _venv_python_rel()
    log = BuildLog(None, say)
    args, env, _notes = uv_source_options(InstallPlan(), read_pip_settings())
    runtime_dir = runtime.ensure_runtime(
        cache_dir, python, log, say, args, env, lock_timeout=lock_timeout
    )
    runtime.attach_runtime(prefix, runtime_dir)
    found = runtime.installed_versions(python, marker.get("requirement_names", []))
    marker = {**marker, "packages": found["packages"], "runtime_key": runtime_dir.name}
    write_json(prefix / ENV_MARKER, marker)
    return marker


def _user_managed(spec: EnvironmentSpec, cache_dir: Path, say: Progress) -> ResolvedEnvironment:
    """Use the user's interpreter as it is; add the server runtime only at start-up."""
    given = spec.interpreter_path
    if given is None or Path(given) == Path(sys.executable):
        say("user-managed environment: using dockyard's own interpreter")
        return ResolvedEnvironment(
            spec.build_hash,
            "user-managed",
            Path(sys.executable),
            platform.python_version(),
            runtime.own_versions(),
        )
    found = shutil.which(given)
    if found is None:
        raise EnvironmentBuildError(
            f"The user-managed environment's interpreter {given!r} was not found.",
            step=_STEP,
            hint="set python.interpreter_path to an existing Python (a path or a name on PATH)",
        )
    python = Path(found)
    probe = (
        "import importlib.util, json, sys, sysconfig\n"
        "try: found = importlib.util.find_spec('dockyard.server') is not None\n"
        "except ImportError: found = False\n"
        "print(json.dumps([sys.implementation.cache_tag, sysconfig.get_platform(), found]))"
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise EnvironmentBuildError(
            f"The user-managed interpreter {str(python)!r} does not run.",
            step=_STEP,
            log_tail=out.stderr[-2000:],
            hint="check python.interpreter_path",
        )
    cache_tag, plat, has_dockyard = json.loads(out.stdout)
    runtime_dir = None
    if not has_dockyard:
        log = BuildLog(cache_dir / "logs" / f"runtime-{spec.build_hash}.log", say)
        try:
            args, env, _notes = uv_source_options(InstallPlan(), read_pip_settings())
            runtime_dir = runtime.ensure_runtime(
                cache_dir, python, log, say, args, env, (cache_tag, plat)
            )
        finally:
            log.close()
    found_versions = runtime.installed_versions(python, [], extra_path=runtime_dir)
    say(f"user-managed environment: {python} (Python {found_versions['python']})")
    return ResolvedEnvironment(
        build_hash=spec.build_hash,
        kind="user-managed",
        python=python,
        python_version=found_versions["python"],
        packages=found_versions["packages"],
        runtime_dir=runtime_dir,
        reused=True,
    )


def _env_complete(path: Path) -> bool:
    try:
        marker = _read_marker(path)
    except (OSError, ValueError, KeyError):
        return False
    same_python = (
        marker["python_version"].split(".")[:2] == platform.python_version().split(".")[:2]
    )
    return same_python and (path / _venv_python_rel()).exists()


def _read_marker(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / ENV_MARKER).read_text(encoding="utf-8"))
    return data


def _venv_python_rel() -> Path:
    return Path("Scripts/python.exe") if os.name == "nt" else Path("bin/python")


def _format_versions(packages: dict[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(packages.items())) or "(none)"
