"""Make uv use the package sources the user configured for pip.

uv does not read ``pip.conf`` or ``PIP_*`` variables, but offline, air-gapped and proxied users
configure pip. :func:`read_pip_settings` reads pip's configuration the way pip does (files in
pip's order, ``[global]`` then ``[install]``, then ``PIP_*`` environment variables);
:func:`uv_source_options` merges it with the spec's own options and gives uv's arguments and
environment:

==========================  ===================================================================
pip setting                 given to uv as
==========================  ===================================================================
``index-url``               ``--index-url`` (the spec's ``--index-url`` wins)
``extra-index-url``         ``--extra-index-url`` each (the spec's first); with more than one
                            index, ``--index-strategy unsafe-best-match`` (pip's behaviour:
                            the best version from any index)
``find-links``              ``--find-links`` each
``trusted-host``            ``--allow-insecure-host`` each
``no-index``                ``--no-index``
``cert``                    ``SSL_CERT_FILE`` (else ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE``
                            from the environment), and the system trust store is enabled
                            (``UV_SYSTEM_CERTS``/``UV_NATIVE_TLS``), as pip's truststore does
``proxy``                   ``HTTPS_PROXY``/``HTTP_PROXY`` unless already set
==========================  ===================================================================

Local locations that do not exist (a ``file://`` index, a find-links folder) are skipped with a
note, so one missing mirror does not break every build.
"""

from __future__ import annotations

import configparser
import functools
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from dockyard.builders.conda import InstallPlan
from dockyard.builders.install_errors import diagnose
from dockyard.errors import EnvironmentBuildError

Progress = Callable[[str], None]

_MULTI = ("extra-index-url", "find-links", "trusted-host")
_KEYS = ("index-url", *_MULTI, "cert", "proxy", "no-index")


@dataclass
class PipSettings:
    """The package-source part of the user's pip configuration."""

    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    trusted_hosts: list[str] = field(default_factory=list)
    cert: str | None = None
    proxy: str | None = None
    no_index: bool = False
    #: Files and variables the settings came from (for the build log).
    sources: list[str] = field(default_factory=list)


def find_uv() -> str:
    """Path of the uv binary (the ``uv`` PyPI package ships it)."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvironmentBuildError(
        "uv, which builds dockyard's environments, is not installed.",
        step="environment",
        hint="install it into dockyard's environment: pip install uv",
    )


def pip_config_files(environ: Mapping[str, str] | None = None) -> list[Path]:
    """pip's configuration files, lowest priority first (pip's own order on Linux and macOS)."""
    env = os.environ if environ is None else environ
    chosen = env.get("PIP_CONFIG_FILE")
    if chosen == os.devnull:
        return []
    home = Path(env.get("HOME") or Path.home())
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    files.append(home / ".pip" / "pip.conf")
    if sys.platform == "darwin":
        files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
    files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf")
    files.append(Path(sys.prefix) / "pip.conf")
    if chosen:
        files.append(Path(chosen))
    return files


def read_pip_settings(
    environ: Mapping[str, str] | None = None, files: Sequence[Path] | None = None
) -> PipSettings:
    """The user's pip package sources: config files in order, then ``PIP_*`` variables."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    settings = PipSettings()
    for path in pip_config_files(env) if files is None else files:
        parser = configparser.RawConfigParser()
        try:
            if not parser.read(path, encoding="utf-8"):
                continue
        except (configparser.Error, OSError, UnicodeDecodeError):
            settings.sources.append(f"{path} (unreadable, ignored)")
            continue
        settings.sources.append(str(path))
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    if key.replace("_", "-") in _KEYS:
                        values[key.replace("_", "-")] = value
    for key in _KEYS:
        name = "PIP_" + key.upper().replace("-", "_")
        if env.get(name):
            values[key] = env[name]
            settings.sources.append(name)
    settings.index_url = values.get("index-url") or None
    settings.extra_index_urls = values.get("extra-index-url", "").split()
    settings.find_links = values.get("find-links", "").split()
    settings.trusted_hosts = values.get("trusted-host", "").split()
    settings.cert = values.get("cert") or None
    settings.proxy = values.get("proxy") or None
    settings.no_index = values.get("no-index", "").strip().lower() in ("1", "true", "yes", "on")
    return settings


def local_location_missing(location: str) -> bool:
    """True for a ``file://`` URL or a plain path that does not exist; remote URLs are False."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return not Path(unquote(parsed.path)).exists()
    if parsed.scheme and len(parsed.scheme) > 1:
        return False
    return not Path(location).expanduser().exists()


def uv_source_options(
    plan: InstallPlan, pip: PipSettings, environ: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str], list[str]]:
    """uv arguments and environment for ``plan``'s package sources merged with ``pip``'s.

    Returns ``(args, env, notes)``: ``notes`` say where settings came from and what was skipped.
    """
    env_in = os.environ if environ is None else environ
    args: list[str] = []
    env: dict[str, str] = {}
    notes = [f"pip configuration read from {', '.join(pip.sources)}"] if pip.sources else []

    def usable(location: str, what: str) -> bool:
        if local_location_missing(location):
            notes.append(f"{what} {location} skipped: it does not exist on this machine")
            return False
        return True

    index = plan.index_url or pip.index_url
    if index and usable(index, "index-url"):
        args += ["--index-url", index]
    extras = _unique([*plan.extra_index_urls, *pip.extra_index_urls])
    extras = [u for u in extras if usable(u, "extra-index-url")]
    for url in extras:
        args += ["--extra-index-url", url]
    if extras:
        args += ["--index-strategy", "unsafe-best-match"]
    for location in _unique([*plan.find_links, *pip.find_links]):
        if usable(location, "find-links"):
            args += ["--find-links", location]
    for host in _unique([*plan.trusted_hosts, *pip.trusted_hosts]):
        args += ["--allow-insecure-host", host]
    if plan.no_index or pip.no_index:
        args.append("--no-index")
    if plan.pre:
        args += ["--prerelease", "allow"]
    for value in plan.only_binary:
        args += ["--only-binary", value]
    for value in plan.no_binary:
        args += ["--no-binary", value]
    cert = pip.cert or env_in.get("SSL_CERT_FILE") or env_in.get("REQUESTS_CA_BUNDLE")
    if cert and usable(cert, "certificate bundle"):
        env["SSL_CERT_FILE"] = cert
        notes.append(f"TLS: trusting {cert} and the system store")
    if not (env_in.get("UV_NATIVE_TLS") or env_in.get("UV_SYSTEM_CERTS")):
        env["UV_SYSTEM_CERTS" if uv_has_system_certs() else "UV_NATIVE_TLS"] = "1"
    if pip.proxy and not any(env_in.get(k) for k in ("HTTPS_PROXY", "https_proxy")):
        env["HTTPS_PROXY"] = env["HTTP_PROXY"] = pip.proxy
        notes.append(f"proxy {pip.proxy} (from pip's configuration)")
    return args, env, notes


@functools.lru_cache(maxsize=4)
def _help_text(uv: str) -> str:
    try:
        out = subprocess.run([uv, "pip", "install", "--help"], capture_output=True, text=True)
    except OSError:
        return ""
    return out.stdout


def uv_has_system_certs() -> bool:
    """True when this uv knows ``UV_SYSTEM_CERTS`` (newer uv; older ones read ``UV_NATIVE_TLS``)."""
    return "--system-certs" in _help_text(find_uv())


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


class BuildLog:
    """The build log file plus the progress callback."""

    def __init__(self, path: Path | None, progress: Progress | None) -> None:
        self.path = path
        self.progress = progress
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def write(self, text: str, *, say: bool = False) -> None:
        if self._file is not None:
            self._file.write(text if text.endswith("\n") else text + "\n")
            self._file.flush()
        if say and self.progress is not None:
            self.progress(text.rstrip())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


# --- running uv ----------------------------------------------------------------------------------
_SAY_PREFIXES = ("Resolved ", "Prepared ", "Installed ", "Uninstalled ", "Audited ")


def run_uv(
    args: list[str], env: dict[str, str], log: BuildLog, plan: InstallPlan | None = None
) -> None:
    command = [find_uv(), *args]
    log.write("$ " + subprocess.list2cmdline(command))
    full_env = {**os.environ, **env, "NO_COLOR": "1", "UV_NO_PROGRESS": "1"}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        log.write(line, say=line.startswith(_SAY_PREFIXES))
    if proc.wait() != 0:
        raise install_error(lines, plan, log.path)


def install_error(
    lines: list[str], plan: InstallPlan | None, log_path: Path | None
) -> EnvironmentBuildError:
    """An error naming the requirements uv could not install, with its explanation (the same
    diagnosis images get: :func:`dockyard.builders.install_errors.diagnose`)."""
    requirements = [*(plan.requirements if plan else []), *(plan.editables if plan else [])]
    found = diagnose(lines, requirements, platform.python_version(), log_path=log_path)
    return EnvironmentBuildError(
        found.message,
        step="environment",
        log_tail="".join(lines[-30:]),
        hint=found.hint,
        log_path=str(log_path) if log_path else None,
        requirements=found.named,
    )
