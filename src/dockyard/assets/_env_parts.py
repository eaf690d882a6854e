"""The parts of an ``Environment``: its Python and Docker sections, naming rule and hashing.

Kept apart from ``environment.py`` so that each module reads in one sitting; everything here is
re-exported from :mod:`dockyard.assets.environment`, where users import it from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from dockyard.assets import _specfiles as sf
from dockyard.assets.conda import PYTHON, CondaDependencies
from dockyard.errors import ValidationError

log = logging.getLogger("dockyard.assets.environment")

#: Azure's rule for model and environment names.
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
HASH_FORMAT = 1  # bump when the hashed payload changes shape (old caches then miss, never collide)


def validate_name(name: Any) -> str:
    """Return ``name`` if it follows the naming rule, else raise ``ValidationError`` naming it."""
    if not isinstance(name, str) or not NAME_RULE.match(name):
        raise ValidationError(
            f"Environment name {name!r} is not valid: use letters, digits, '-', '_' and '.', "
            "start with a letter or digit, at most 255 characters.",
            hint="pick a name such as 'sklearn-env' or 'myenv.v2'",
        )
    return name


def canonical_sha256(payload: Any) -> str:
    """sha256 of ``payload`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ContainerRegistry:
    """Where a private base image lives (``address``, ``username``, ``password``).

    The password is never serialized; keep registry credentials in the workspace's key vault.
    """

    def __init__(self, address: str | None = None, username: str | None = None) -> None:
        self.address = address
        self.username = username
        self.password: str | None = None

    def __repr__(self) -> str:
        return f"ContainerRegistry(address={self.address!r}, username={self.username!r})"


class PythonSection:
    """Which Python interpreter and packages to use (``env.python``).

    :ivar conda_dependencies: the packages (a CondaDependencies), or None for none.
    :ivar user_managed_dependencies: True means "I provide the interpreter and packages myself":
        dockyard builds nothing and runs ``interpreter_path``.
    :ivar interpreter_path: the interpreter used when ``user_managed_dependencies`` is True.
    """

    def __init__(self, _skip_defaults: bool = False) -> None:
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies: CondaDependencies | None = (
            None if _skip_defaults else CondaDependencies()
        )
        self.base_conda_environment: str | None = None
        self.conda_dependencies_file: str | None = None


class DockerSection:
    """The image the environment is built on (``env.docker``).

    ``base_image`` and ``base_dockerfile`` exclude each other, as in azureml.core: setting one
    clears the other. Both None means dockyard's default base image. ``base_dockerfile`` accepts
    the Dockerfile text, a path to a Dockerfile, or an open file.
    """

    def __init__(self, _skip_defaults: bool = False) -> None:
        self._base_image: str | None = None
        self._base_dockerfile: str | None = None
        self.base_image_registry = ContainerRegistry()
        self.enabled = False
        self.shm_size: str | None = None
        self.shared_volumes = True
        self.arguments: list[str] = []
        self.gpu_support = True  # accepted for compatibility; GPUs are detected at run time
        self.build_context = None

    @property
    def base_image(self) -> str | None:
        """Base image reference such as ``python:3.11-slim`` (None: dockyard's default)."""
        return self._base_image

    @base_image.setter
    def base_image(self, value: str | None) -> None:
        self._base_image = value or None
        if value and self._base_dockerfile:
            log.warning("base_image and base_dockerfile exclude each other: base_dockerfile reset")
            self._base_dockerfile = None

    @property
    def base_dockerfile(self) -> str | None:
        """Text of the base Dockerfile (None when a base image is used instead)."""
        return self._base_dockerfile

    @base_dockerfile.setter
    def base_dockerfile(self, value: Any) -> None:
        if not value:
            self._base_dockerfile = None
            return
        if hasattr(value, "read"):
            text = value.read()
        elif isinstance(value, os.PathLike) or ("\n" not in value and os.path.isfile(value)):
            text = sf.read_text(Path(value), "Base Dockerfile")
        else:
            text = str(value)
        self._base_dockerfile = text
        if self._base_image:
            log.warning("base_image and base_dockerfile exclude each other: base_image reset")
            self._base_image = None


def build_payload(python: PythonSection, docker: DockerSection) -> dict[str, Any]:
    """What :meth:`Environment.build_hash` hashes: everything that changes what gets built."""
    conda = python.conda_dependencies
    packages = [norm(p) for p in conda.conda_packages] if conda else []
    pip = [norm(p) for p in conda.pip_packages] if conda else []
    return {
        "format": HASH_FORMAT,
        "user_managed": bool(python.user_managed_dependencies),
        "interpreter_path": python.interpreter_path if python.user_managed_dependencies else None,
        "python_version": conda.get_python_version() if conda else None,
        "conda_packages": sorted(p for p in packages if sf.conda_name(p) != PYTHON),
        "pip_packages": sorted(pip),
        "pip_options": [norm(o) for o in conda.pip_options] if conda else [],
        "channels": conda.conda_channels if conda else [],
        "included_files": (
            {k: text_or_none(v) for k, v in conda.included_files().items()} if conda else {}
        ),
        "local_files": local_file_digests(pip, conda._base_dir if conda else None),
        "base_image": docker.base_image,
        "base_dockerfile": text_or_none(docker.base_dockerfile),
    }


def norm(text: str) -> str:
    return " ".join(str(text).split())


def text_or_none(value: str | None) -> str | None:
    return None if value is None else value.replace("\r\n", "\n")


def local_file_digests(pip_lines: list[str], base_dir: Path | None) -> dict[str, str]:
    """sha256 of local wheel/sdist files named by path in the pip list (when they exist)."""
    digests: dict[str, str] = {}
    for line in pip_lines:
        candidate = line.split(" @ ", 1)[-1].split(";")[0].strip()
        candidate = candidate.removeprefix("file://")
        if not candidate.endswith((".whl", ".tar.gz", ".zip")) or "://" in candidate:
            continue
        path = Path(candidate).expanduser()
        path = path if path.is_absolute() else (base_dir or Path.cwd()) / path
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digests[candidate] = digest.hexdigest()
    return digests
