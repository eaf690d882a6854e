"""An environment described for another machine: exact pins, its Python, the server wheel.

Targets whose services run on other machines (the cluster target) cannot use a virtual
environment built here. They get the same environment as exact pins instead: dockyard builds (or
reuses) the environment here first, exactly as for the local target (so the user's pins win and
a resolution failure is reported the same way), then reads back what was installed
(:func:`frozen_requirements`), and the server goes as a package folder (:func:`server_package`). :func:`check_compatible` resolves those pins together with what
the host needs (``ray[serve]==X``) before anything is deployed, so a conflict is named at deploy
time instead of failing on every replica.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from dockyard.builders import runtime
from dockyard.builders.conda import InstallPlan
from dockyard.builders.uvtool import find_uv, read_pip_settings, uv_source_options
from dockyard.errors import EnvironmentBuildError
from dockyard.store.layout import dockyard_home

#: Distributions that are never shipped as pins: the server runtime travels as its own wheel,
#: and packaging tools belong to the host.
_NOT_SHIPPED = {runtime.SERVER_DISTRIBUTION, "pip", "setuptools", "wheel", "uv"}


def frozen_requirements(python: Path | str) -> list[str]:
    """``name==version`` of every distribution installed in the environment of ``python``."""
    proc = subprocess.run(
        [find_uv(), "pip", "freeze", "--python", str(python)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise EnvironmentBuildError(
            f"Reading the packages of the environment at {python} failed: {proc.stderr.strip()}",
            step="environment",
            hint="rebuild it: delete the environment cache folder named in the message and deploy again",
        )
    pins = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("-e "):
            continue
        name = line.split("==", 1)[0].split(" @ ", 1)[0].strip().lower().replace("_", "-")
        if name not in _NOT_SHIPPED:
            pins.append(line)
    return sorted(pins, key=str.lower)


def check_compatible(pins: list[str], host: list[str], python_version: str, what: str) -> None:
    """Resolve ``pins`` together with ``host`` (``["ray[serve]==2.60.0"]``); raise an
    :class:`EnvironmentBuildError` naming the conflict when they cannot be installed together.

    A set that resolved once is remembered (``$DOCKYARD_HOME/cache/compatible/<hash>``, keyed by
    the pins, the host's packages, the Python version and the package indexes), so an update or
    a redeploy of the same environment does not resolve it again."""
    if not pins:
        return
    args, env, _notes = uv_source_options(InstallPlan(python=None), read_pip_settings())
    key = hashlib.sha256(
        json.dumps([sorted(pins), host, python_version, args, sorted(env.items())]).encode()
    ).hexdigest()[:32]
    known = dockyard_home() / "cache" / "compatible" / key
    if known.is_file():  # these pins were resolved beside the same host packages before
        return
    with tempfile.TemporaryDirectory(prefix="dockyard-compat-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text("\n".join([*pins, *host]) + "\n")
        proc = subprocess.run(
            [
                find_uv(), "pip", "compile", str(requirements), "--python-version",
                ".".join(python_version.split(".")[:2]), "--quiet", "--no-header", *args,
            ],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, **env, "NO_COLOR": "1"},
        )  # fmt: skip
    if proc.returncode == 0:
        known.parent.mkdir(parents=True, exist_ok=True)
        known.write_text("\n".join([*pins, *host]) + "\n")
        return
    explanation = proc.stderr.strip() or proc.stdout.strip()
    raise EnvironmentBuildError(
        f"The environment's packages cannot be installed beside {what} "
        f"({', '.join(host)}):\n{explanation}",
        step="environment",
        log_tail=explanation[-3000:],
        hint=f"change the pin named above to a version that {what} accepts (or drop it) in the "
        "environment's conda/pip file, then deploy again",
    )


def server_package(dest_dir: Path) -> Path:
    """dockyard's server runtime as a package folder (``.../dockyard``: the server part only, no
    dependencies, the host brings its HTTP stack), unpacked from the server wheel.

    A folder, not the wheel itself: Ray names a shipped wheel by its file name and, unlike a
    folder (named by its content), does not pin it while checking whether the cluster has it,
    so a wheel of the same name that the cluster is dropping at that moment is never uploaded
    again ("the package may have prematurely been deleted from the GCS", seen on Ray 2.60)."""
    wheel = runtime.build_server_wheel(Path(dest_dir) / "bare", with_requirements=False)
    folder = Path(dest_dir) / "unpacked" / wheel.stem
    package = folder / "dockyard"
    if (folder / ".complete").is_file():
        return package
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp)
    (tmp / ".complete").write_text(wheel.name)
    try:
        tmp.rename(folder)
    except OSError:  # another process unpacked it first
        shutil.rmtree(tmp, ignore_errors=True)
    return package
