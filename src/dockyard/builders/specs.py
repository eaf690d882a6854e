"""Plain, validated specs that ``build/`` and ``targets/`` accept.

User-facing objects (``Environment``, ``InferenceConfig``, ``Model``, deployment configs) translate
themselves into these and call down; nothing in ``build/`` or ``targets/`` imports them back.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnvironmentSpec(_Spec):
    """What a Python environment must contain.

    ``conda_packages`` keep conda's spelling (``numpy=1.15``, ``scikit-learn``); the environment
    builder translates them. ``pip_packages`` are pip requirement lines; ``pip_options`` are
    pip's global options from the spec (``--extra-index-url URL``, ``--index-url URL``,
    ``--find-links DIR``); ``included_files`` maps a ``-r`` file's path (as written in the spec) to
    its content, so that the spec is self-contained and hashable.
    """

    name: str
    version: str | None = None
    python_version: str | None = None
    conda_packages: tuple[str, ...] = ()
    pip_packages: tuple[str, ...] = ()
    pip_options: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    included_files: dict[str, str] = Field(default_factory=dict)
    base_image: str | None = None
    base_dockerfile: str | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    #: The user manages the interpreter and packages themselves: build nothing.
    user_managed: bool = False
    #: Interpreter of a user-managed environment (a path, or a name on PATH such as ``python``);
    #: None means the interpreter dockyard runs on.
    interpreter_path: str | None = None
    #: Key of virtual environments and image layers (see Environment.build_hash()).
    build_hash: str
    #: Spec source folder: relative ``-r`` files and local wheel paths resolve against it.
    base_dir: Path | None = None


class ModelFileSpec(_Spec):
    """One file of a registered model: where it goes (relative) and where its bytes are."""

    relative_path: str
    blob_path: Path
    sha256: str
    size: int


class ModelSpec(_Spec):
    """A registered model version as the app-root layout needs it."""

    name: str
    version: int
    files: tuple[ModelFileSpec, ...]
