"""dockyard's scoring-server runtime, made available to environments it did not create.

A user's environment must run ``python -m dockyard.server`` without its pinned packages changing.
The server runtime is dockyard's package with its server part only (``dockyard/__init__.py``,
``dockyard/errors.py``, ``dockyard/server/**``) plus the server's dependencies (dockyard's base
requirements: uvicorn, httptools, uvloop, ...). It is

* packed as a wheel, ``dockyard_server-<version>+server.<hash>-py3-none-any.whl``
  (:func:`build_server_wheel`), whose ``<hash>`` covers the server's source files, so an edited
  server gives a new wheel; the container-image builder installs the same wheel;
* installed with ``uv pip install --target`` into a runtime folder per (dockyard version, server
  sources, Python tag, platform) under the environment cache (see ``envs.py``);
* attached to a virtual environment by a ``.pth`` file (:func:`attach_runtime`) whose lines
  *append* the runtime folder to ``sys.path``: the environment's own site-packages come first,
  so a user's pins (even an older uvicorn) win, and the runtime only fills what is missing. A
  second line appends the runtime's ``dockyard/server/compat`` folder (the ``azureml.*``
  stand-ins), so any ``python`` of the environment (``python -c "from azureml.core.model import
  Model; ..."``, the seed's debugging step) finds them, after any real Azure package.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import dockyard
from dockyard.builders.cache import build_once, write_json
from dockyard.builders.uvtool import BuildLog, Progress, run_uv
from dockyard.errors import EnvironmentBuildError

_VERSIONS_SCRIPT = (
    "import importlib.metadata as m, json, sys\n"
    "out = {}\n"
    "for n in sys.argv[1:]:\n"
    "    try: out[n] = m.version(n)\n"
    "    except m.PackageNotFoundError: pass\n"
    "print(json.dumps({'python': '%d.%d.%d' % sys.version_info[:3], 'packages': out}))\n"
)

#: Distribution name of the server-runtime wheel (its import package is ``dockyard``).
SERVER_DISTRIBUTION = "dockyard-server"
#: Name of the ``.pth`` file that appends the runtime folder to a venv's ``sys.path``.
PTH_NAME = "zz_dockyard_runtime.pth"
#: The ``azureml.*`` stand-ins inside a runtime folder (``dockyard.server.compat``).
COMPAT_SUBDIR = ("dockyard", "server", "compat")
#: Marker written last into a complete runtime folder.
RUNTIME_MARKER = ".dockyard-runtime.json"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def package_root() -> Path:
    """Folder of the installed ``dockyard`` package (a source checkout for editable installs)."""
    return Path(dockyard.__file__).resolve().parent


def server_files() -> list[tuple[str, Path]]:
    """``(path in the wheel, file)`` for every file of the server runtime, sorted."""
    root = package_root()
    files = [
        ("dockyard/__init__.py", root / "__init__.py"),
        ("dockyard/errors.py", root / "errors.py"),
    ]
    server = root / "server"
    if server.is_dir():
        for path in sorted(server.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((f"dockyard/{path.relative_to(root).as_posix()}", path))
    return files


def source_hash() -> str:
    """sha256 over the server runtime's file names and contents."""
    digest = hashlib.sha256()
    for name, path in server_files():
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


#: What the server runtime brings beyond dockyard's base requirements: debugpy, for services
#: deployed with the debugger (``debugger_port``), so it never has to be in the user's environment.
RUNTIME_EXTRA_REQUIREMENTS = ("debugpy>=1.8.1",)


def _project(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def server_requirements() -> list[str]:
    """The server's runtime dependencies: dockyard's base requirements (no extras) and
    :data:`RUNTIME_EXTRA_REQUIREMENTS`."""
    base = _base_requirements()
    names = {_project(r) for r in base}
    return sorted([*base, *(r for r in RUNTIME_EXTRA_REQUIREMENTS if _project(r) not in names)])


def _base_requirements() -> list[str]:
    try:
        requires = importlib.metadata.requires("dockyard") or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise EnvironmentBuildError(
            "dockyard's package metadata is missing, so the server's dependencies are unknown.",
            step="server runtime",
            hint="install dockyard with pip or uv (e.g. 'pip install -e .' in a checkout)",
        ) from exc
    # base requirements are those whose marker (after ';') does not mention an extra
    return sorted(r for r in requires if not re.search(r"\bextra\b", r.partition(";")[2]))


def wheel_version() -> str:
    """Version of the server wheel: dockyard's, with the server-source hash as local label."""
    label = f"server.{source_hash()[:12]}"
    version = dockyard.__version__
    return f"{version}.{label}" if "+" in version else f"{version}+{label}"


def runtime_key(python_tag: str, platform: str) -> str:
    """Key of a runtime folder: dockyard version, server sources, dependencies, Python, platform."""
    data = [dockyard.__version__, source_hash(), server_requirements(), python_tag, platform]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_server_wheel(dest_dir: Path, with_requirements: bool = True) -> Path:
    """Write the server-runtime wheel into ``dest_dir`` and return its path.

    Reproducible (sorted entries, fixed timestamps): the same sources give the same bytes, so an
    image layer that installs it stays cached. An existing wheel of the same name is reused.
    ``with_requirements=False`` leaves out its dependencies (for hosts that already have an
    HTTP stack, such as Ray Serve's replicas: installing uvicorn beside Ray's would shadow it);
    keep such wheels in a folder of their own.
    """
    version = wheel_version()
    dist = SERVER_DISTRIBUTION.replace("-", "_")
    path = Path(dest_dir) / f"{dist}-{version}-py3-none-any.whl"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    info = f"{dist}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {SERVER_DISTRIBUTION}",
        f"Version: {version}",
        "Summary: dockyard's scoring-server runtime (the server part of dockyard only)",
        "Requires-Python: >=3.11",
        *(f"Requires-Dist: {req}" for req in (server_requirements() if with_requirements else [])),
    ]
    wheel = ["Wheel-Version: 1.0", "Generator: dockyard.builders.runtime", "Root-Is-Purelib: true"]
    entries = [(name, file.read_bytes()) for name, file in server_files()]
    entries += [
        (f"{info}/METADATA", ("\n".join(metadata) + "\n").encode()),
        (f"{info}/WHEEL", ("\n".join([*wheel, "Tag: py3-none-any"]) + "\n").encode()),
        (f"{info}/top_level.txt", b"dockyard\n"),
    ]
    record = [f"{name},{_record_hash(data)},{len(data)}" for name, data in entries]
    entries.append((f"{info}/RECORD", ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    os.replace(tmp, path)
    return path


def site_packages(prefix: Path) -> Path:
    """The ``site-packages`` folder of the virtual environment at ``prefix``."""
    if os.name == "nt":
        return prefix / "Lib" / "site-packages"
    found = sorted(prefix.glob("lib/python3*/site-packages"))
    if not found:
        raise EnvironmentBuildError(
            f"The virtual environment at {prefix} has no lib/python3*/site-packages folder.",
            step="server runtime",
            hint="delete that folder; dockyard rebuilds it on the next call",
        )
    return found[0]


def pth_text(runtime_line: str, sep: str = os.sep) -> str:
    """The ``.pth`` file's text: the runtime folder, then its ``azureml`` stand-ins folder.

    ``site`` appends both after site-packages, in this order, so installed packages (a real
    ``azureml-core`` included) always win over the runtime and the stand-ins.
    """
    return f"{runtime_line}\n{sep.join((runtime_line, *COMPAT_SUBDIR))}\n"


def attach_runtime(prefix: Path, runtime_dir: Path) -> bool:
    """Write the ``.pth`` that appends ``runtime_dir`` (and its stand-ins) to the venv's ``sys.path``.

    The lines are relative to site-packages when both live under one folder (the cache), so the
    cache can move. Returns True when the file changed.
    """
    site = site_packages(prefix)
    try:
        line = os.path.relpath(runtime_dir, site)
    except ValueError:  # another drive on Windows
        line = str(runtime_dir)
    text = pth_text(line)
    pth = site / PTH_NAME
    if pth.is_file() and pth.read_text(encoding="utf-8") == text:
        return False
    tmp = pth.with_name(f".{PTH_NAME}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, pth)
    return True


def attached_runtime(prefix: Path) -> Path | None:
    """The runtime folder a venv's ``.pth`` points to, or None."""
    try:
        pth = site_packages(prefix) / PTH_NAME
        lines = pth.read_text(encoding="utf-8").split("\n")
    except (OSError, EnvironmentBuildError):
        return None
    line = lines[0].strip()
    return (pth.parent / line).resolve() if line else None


def bootstrap_command(python: Path | str, runtime_dir: Path | None, args: list[str]) -> list[str]:
    """argv that runs ``python -m dockyard.server ARGS``, with ``runtime_dir`` appended to sys.path.

    For interpreters dockyard must not modify (user-managed environments): the runtime is added
    after the interpreter's own packages at start-up instead of through a ``.pth`` file.
    """
    if runtime_dir is None:
        return [str(python), "-m", "dockyard.server", *args]
    code = (
        "import runpy, sys; sys.argv[0] = 'dockyard.server'; "
        f"sys.path.append({str(runtime_dir)!r}); "
        "runpy.run_module('dockyard.server', run_name='__main__', alter_sys=True)"
    )
    return [str(python), "-c", code, *args]


def current_python_tag() -> tuple[str, str]:
    """``(cache tag, platform)`` of the running interpreter, e.g. ``('cpython-311', 'linux-x86_64')``."""
    import sysconfig

    return sys.implementation.cache_tag or "py3", sysconfig.get_platform()


def python_tag(python: Path) -> tuple[str, str]:
    """``(cache tag, platform)`` of ``python``: the running one's, for venvs built from it."""
    return current_python_tag()


def ensure_runtime(
    cache_dir: Path,
    python: Path,
    log: BuildLog,
    say: Progress,
    args: list[str],
    env: dict[str, str],
    tag: tuple[str, str] | None = None,
    lock_timeout: float = 3600.0,
) -> Path:
    """The runtime folder for ``python`` (built once per key, under its own lock)."""
    key = runtime_key(*(tag or python_tag(python)))
    final = cache_dir / "runtime" / key

    def build(tmp: Path) -> None:
        log.write("installing dockyard's server runtime (uvicorn, httptools, ...)", say=True)
        wheel = build_server_wheel(cache_dir / "runtime" / "wheels")
        run_uv(
            [
                "pip",
                "install",
                "--compile-bytecode",
                "--python",
                str(python),
                "--target",
                str(tmp),
                str(wheel),
                *args,
            ],  # fmt: skip
            env,
            log,
        )
        write_json(tmp / RUNTIME_MARKER, {"key": key, "wheel": wheel.name})

    build_once(final, cache_dir, lambda p: (p / RUNTIME_MARKER).is_file(), build, say, lock_timeout)
    return final


def installed_versions(
    python: Path, names: list[str], extra_path: Path | None = None
) -> dict[str, Any]:
    wanted = sorted({*names, *runtime_package_names(), SERVER_DISTRIBUTION})
    code = _VERSIONS_SCRIPT
    if extra_path is not None:
        code = f"import sys; sys.path.append({str(extra_path)!r})\n{code}"
    out = subprocess.run(
        [str(python), "-c", code, *wanted], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise EnvironmentBuildError(
            f"The environment's interpreter {python} cannot start.",
            step="environment",
            log_tail=out.stderr[-3000:],
            hint="delete the environment folder and try again",
        )
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def runtime_package_names() -> list[str]:
    """Project names of the server runtime's direct dependencies (uvicorn, httptools, ...)."""
    return sorted({re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0] for r in server_requirements()})


def own_versions() -> dict[str, str]:
    import importlib.metadata as metadata

    found = {"dockyard": dockyard.__version__}
    for name in runtime_package_names():
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found
