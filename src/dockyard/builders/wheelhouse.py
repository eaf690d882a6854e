"""Python packages for images: a wheelhouse resolved on the host, or pip's config for the build.

An image build that installs from a wheelhouse in its context needs no network and no
certificates: ``pip install --no-index --find-links WHEELS``. The host does the resolving, with
everything it already has: its pip configuration (``file://`` indexes, ``find-links`` folders),
its CA bundle and proxy settings. That is what makes dockyard's builds work offline and behind
TLS-intercepting proxies without any secret or certificate reaching the image.

Resolution runs ``python -m pip wheel`` (sdists are built into wheels on the host) when the host's
Python has the image's ``major.minor``, else ``pip download --only-binary=:all:`` for the image's
Python version and platform. Results are cached per key (requirements, constraints, Python,
platform, and size/mtime of local files they name) in ``cache_dir``, so a rebuild reuses them in
milliseconds; the cached files are hard-linked into the build context, and their unchanged
content keeps Docker's ``COPY`` step cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.builders.conda import plan_install, python_mismatch
from dockyard.builders.install_errors import diagnose, requirement_lines
from dockyard.builders.specs import EnvironmentSpec
from dockyard.errors import ImageBuildError, ValidationError

_MARKER = ".dockyard-wheelhouse.json"
RESOLVE_STEP = "resolve Python dependencies (pip on the host)"


@dataclass(frozen=True)
class Wheelhouse:
    """A resolved wheelhouse copied into ``path``."""

    path: Path
    wheels: tuple[str, ...]  # file names, sorted
    key: str
    cached: bool  # True when it came from the cache without running pip
    seconds: float


def default_cache_dir() -> Path:
    """``$DOCKYARD_HOME/cache/wheelhouses`` (``~/.dockyard/cache/wheelhouses``)."""
    home = Path(os.environ.get("DOCKYARD_HOME") or Path.home() / ".dockyard").expanduser()
    return home / "cache" / "wheelhouses"


def resolve_wheelhouse(
    requirements: str,
    dest: Path,
    *,
    constraints: str = "",
    python_version: str = "3.11",
    cache_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> Wheelhouse:
    """Resolve ``requirements`` (requirements-file text, options lines allowed) into ``dest``.

    ``dest`` is created (emptied first). Raises :class:`~dockyard.errors.ImageBuildError` naming
    the step :data:`RESOLVE_STEP`, with pip's last lines, when resolution fails.
    """
    say = log or (lambda _line: None)
    started = time.monotonic()
    key = wheelhouse_key(requirements, constraints, python_version)
    cache = (cache_dir or default_cache_dir()) / key
    cached = (cache / _MARKER).is_file()
    if cached:
        say(f"Python dependencies: reusing the resolved wheelhouse {key[:12]}")
    else:
        _resolve_into_cache(requirements, constraints, python_version, cache, say)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    wheels = []
    for wheel in sorted(cache.iterdir()):
        if wheel.name == _MARKER:
            continue
        _link_or_copy(wheel, dest / wheel.name)
        wheels.append(wheel.name)
    return Wheelhouse(dest, tuple(wheels), key, cached, time.monotonic() - started)


def wheelhouse_key(requirements: str, constraints: str, python_version: str) -> str:
    """Cache key: the inputs, the target Python and platform, and local files' size and mtime."""
    local = []
    for token in (requirements + "\n" + constraints).split():
        candidate = Path(token.removeprefix("file://").removeprefix("file:"))
        if candidate.is_absolute() and candidate.exists():
            stat = candidate.stat()
            local.append([str(candidate), stat.st_size, stat.st_mtime_ns])
    data = [requirements, constraints, python_version, _machine(), local, 1]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:24]


def _machine() -> str:
    return f"{sys.platform}-{platform.machine()}"


def _host_matches(python_version: str) -> bool:
    return f"{sys.version_info.major}.{sys.version_info.minor}" == python_version


def _pip_command(python_version: str, out: Path, req: Path, con: Path | None) -> list[str]:
    base = [sys.executable, "-m", "pip"]
    tail = ["--progress-bar", "off", "--disable-pip-version-check", "-r", str(req)]
    if con is not None:
        tail += ["-c", str(con)]
    if _host_matches(python_version) and sys.platform == "linux":
        return [*base, "wheel", "--wheel-dir", str(out), *tail]
    # Another Python in the image than on the host: binary wheels for the image's interpreter.
    machine = platform.machine() or "x86_64"
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(36, 16, -1)]
    platforms += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    plats = [arg for p in platforms for arg in ("--platform", p)]
    nodot = python_version.replace(".", "")
    return [
        *base,
        "download",
        "--dest",
        str(out),
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--abi",
        f"cp{nodot}",
        "--abi",
        "abi3",
        "--abi",
        "none",
        *plats,
        *tail,
    ]


def _resolve_into_cache(
    requirements: str,
    constraints: str,
    python_version: str,
    cache: Path,
    say: Callable[[str], None],
) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    work = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    (work / "wheels").mkdir(parents=True)
    req = work / "requirements.txt"
    req.write_text(requirements)
    con = None
    if constraints.strip():
        con = work / "constraints.txt"
        con.write_text(constraints)
    argv = _pip_command(python_version, work / "wheels", req, con)
    say(f"Python dependencies: resolving on the host for Python {python_version}")
    say("$ " + " ".join(argv))
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    lines: list[str] = []
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=env,
        cwd=work,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        say(line.rstrip("\n"))
    if proc.wait() != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise resolve_error(
            lines, requirements, python_version, proc.returncode, binary_only="download" in argv
        )
    wheels = sorted(p.name for p in (work / "wheels").iterdir())
    (work / "wheels" / _MARKER).write_text(json.dumps({"wheels": wheels}))
    shutil.rmtree(cache, ignore_errors=True)
    os.replace(work / "wheels", cache)
    shutil.rmtree(work, ignore_errors=True)


def resolve_error(
    lines: list[str],
    requirements: str,
    python_version: str,
    returncode: int,
    *,
    binary_only: bool,
) -> ImageBuildError:
    """What pip's failure means for the image (the diagnosis local environments get too: no
    wheel for the image's Python, a version or package that does not exist, the network)."""
    found = diagnose(
        lines,
        requirement_lines(requirements),
        python_version,
        binary_only=binary_only,
        python_owner="the image's",
    )
    return ImageBuildError(
        f"{found.message} (pip exit code {returncode})",
        step=RESOLVE_STEP,
        log_tail="\n".join(lines[-40:]),
        hint=found.hint,
        requirements=found.named,
    )


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


# --- requirements for an image, and pip's configuration in the builder stage (network mode) ----
def requirements_for(
    environment: EnvironmentSpec | None, python_version: str, notes: list[str]
) -> tuple[str, str]:
    """``(requirements.txt text, constraints.txt text)`` for an environment spec.

    Conda packages are translated to pip requirements by :func:`dockyard.builders.conda.plan_install`
    (``azureml-defaults`` is satisfied by the server runtime). Notes and warnings of the
    translation are appended to ``notes``. A user-managed environment installs nothing.
    """
    if environment is None or environment.user_managed:
        return "", ""

    plan = plan_install(environment)
    notes.extend(plan.notes)
    notes.extend(plan.warnings)
    mismatch = python_mismatch(plan.python, python_version)
    if mismatch:
        notes.append(mismatch.replace("this machine builds environments", "the base image has"))
    lines: list[str] = []
    if plan.no_index:
        lines.append("--no-index")
    if plan.index_url:
        lines.append(f"--index-url {plan.index_url}")
    lines += [f"--extra-index-url {url}" for url in plan.extra_index_urls]
    lines += [f"--find-links {link}" for link in plan.find_links]
    lines += [f"--trusted-host {host}" for host in plan.trusted_hosts]
    lines += ["--pre"] if plan.pre else []
    lines += [f"--only-binary {value}" for value in plan.only_binary]
    lines += [f"--no-binary {value}" for value in plan.no_binary]
    packages = [*plan.requirements, *plan.editables]
    if not packages:
        return "", ""
    return "\n".join([*lines, *packages]) + "\n", "\n".join(plan.constraints) + "\n"


def check_network_requirements(requirements: str) -> None:
    """Network mode installs inside the build: host paths and ``file://`` URLs cannot work there."""
    for line in requirements.splitlines():
        for token in line.split():
            if token.startswith("file:") or token.startswith("/"):
                raise ValidationError(
                    f"The requirement {line.strip()!r} names a file on this machine, which a "
                    "build with python_deps='network' cannot read",
                    hint="use python_deps='wheelhouse' (the default): it resolves on this machine",
                )


def host_ca_bundle() -> Path | None:
    """The CA bundle this machine's pip uses (``PIP_CERT``, ``REQUESTS_CA_BUNDLE``,
    ``SSL_CERT_FILE``, then Debian's ``/etc/ssl/certs/ca-certificates.crt``)."""
    for var in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value)
    debian = Path("/etc/ssl/certs/ca-certificates.crt")
    return debian if debian.is_file() else None


def host_pip_indexes() -> tuple[str | None, list[str]]:
    """The http(s) ``index-url`` and ``extra-index-url`` of this machine's pip configuration.

    ``file://`` indexes and ``find-links`` folders are left out: a build cannot reach them.
    """
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None, []
    index: str | None = None
    extras: list[str] = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        urls = [
            u for u in value.strip().strip("'\"").split() if u.startswith(("http://", "https://"))
        ]
        if key.endswith(".index-url") and urls:
            index = urls[0]
        elif key.endswith(".extra-index-url"):
            extras += [u for u in urls if u not in extras]
    return index, extras


def write_pip_config(folder: Path, ca_bundle: Path | None, notes: list[str]) -> None:
    """Write ``pip.conf`` (and ``ca.crt``) for the builder stage into ``folder``.

    These files reach only the builder stage: the final image copies nothing from that folder.
    Proxy settings come from this machine's ``HTTPS_PROXY``/``HTTP_PROXY`` (builder stage only).
    """
    folder.mkdir(parents=True, exist_ok=True)
    conf = ["[global]", "no-cache-dir = true", "disable-pip-version-check = true"]
    bundle = ca_bundle or host_ca_bundle()
    if bundle is not None:
        if not bundle.is_file():
            raise ValidationError(
                f"CA bundle {bundle} does not exist", hint="fix ca_bundle, or leave it unset"
            )
        shutil.copyfile(bundle, folder / "ca.crt")
        conf.append("cert = /tmp/dockyard/pip/ca.crt")
        notes.append(f"pip in the builder stage trusts {bundle} (not in the final image)")
    index, extras = host_pip_indexes()
    if index:
        conf.append(f"index-url = {index}")
    if extras:
        conf.append("extra-index-url = " + " ".join(extras))
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    proxy = proxy or os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy")
    if proxy:
        conf.append(f"proxy = {proxy}")
    (folder / "pip.conf").write_text("\n".join(conf) + "\n")
