"""``CondaDependencies``: the packages of a Python environment, in conda's YAML format.

The class mirrors ``azureml.core.conda_dependencies.CondaDependencies`` so that v1 code runs after
changing its import line::

    from dockyard import CondaDependencies

    myenv = CondaDependencies.create(conda_packages=["numpy==1.15.4", "scikit-learn==0.19.1"],
                                     pip_packages=["azureml-defaults==1.0.17", "ptvsd"])
    with open("myenv.yml", "w") as f:
        f.write(myenv.serialize_to_string())

Underneath it is the plain content of a conda environment file (``name``, ``channels``,
``dependencies`` with an optional ``pip:`` list). ``serialize_to_string()`` writes that content as
YAML that parses back to an equal object. Every package you add is checked; a bad one raises
:class:`~dockyard.errors.ValidationError` (or :class:`~dockyard.errors.SpecError` with the file and
line when it comes from a file).

Differences from azureml.core, on purpose: no Python version is pinned unless you ask for one (the
environment builder then uses the interpreter dockyard runs on); ``pin_sdk_version`` is accepted and
ignored (``azureml-*`` packages are satisfied by dockyard's own runtime, see docs/environments.md);
adding a conda package that is already listed under another version replaces it instead of listing
both; the property getters return lists (copies) rather than iterators.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from dockyard.assets import _specfiles as sf
from dockyard.assets._conda_yaml import checked_dict, dump_conda_yaml, load_conda_yaml
from dockyard.errors import ValidationError

PYTHON = "python"
DEFAULT_NAME = "project_environment"
DEFAULT_SDK_ORIGIN = "https://pypi.python.org/simple"
CONDA_FILE_NAME = "auto_conda_dependencies.yml"


class CondaDependencies:
    """The conda and pip packages, channels and Python version of an environment.

    :param conda_dependencies_file_path: a conda environment YAML file to load. Without it, the
        object holds only ``azureml-defaults`` as a pip package (as in azureml.core).
    """

    def __init__(
        self,
        conda_dependencies_file_path: str | os.PathLike[str] | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        #: folder that relative ``-r`` files and local wheels resolve against (None: the cwd).
        self._base_dir: Path | None = None
        #: content of files included with ``-r``/``-c``, recorded when last read.
        self._included: dict[str, str] = {}
        #: True for content restored from the registry or a saved folder: recorded ``-r`` file
        #: content wins over the files on disk, so a registered version never changes.
        self._frozen_includes = False
        self._source = "<conda dependencies>"
        if conda_dependencies_file_path is not None:
            path = Path(os.path.normpath(os.fspath(conda_dependencies_file_path)))
            self._source = str(path)
            text = sf.read_text(path, "Conda environment file")
            self._data: dict[str, Any] = load_conda_yaml(text, self._source)
            self._base_dir = path.resolve().parent
        elif _underlying_structure is not None:
            self._data = checked_dict(_underlying_structure, "<conda dependencies dict>")
        else:
            self._data = {"name": DEFAULT_NAME, "dependencies": [{"pip": ["azureml-defaults"]}]}
        self._data.setdefault("dependencies", None)
        if self._data["dependencies"] is None:
            self._data["dependencies"] = []

    # --- construction -------------------------------------------------------------------------
    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """A new object with the given packages (azureml.core's argument order).

        Without ``pip_packages`` the pip list is ``azureml-defaults``. ``pip_indexurl`` becomes
        ``--find-links URL`` plus ``--extra-index-url`` PyPI, as in azureml.core; for a private
        index that replaces PyPI use ``set_pip_option("--index-url URL")`` instead.
        ``pin_sdk_version`` is accepted for compatibility and has no effect.
        """
        del pin_sdk_version  # azureml-* packages are provided by dockyard's runtime
        cd = CondaDependencies()
        if pip_indexurl:
            cd.set_pip_option(f"--find-links {pip_indexurl}")
            cd.set_pip_option(f"--extra-index-url {DEFAULT_SDK_ORIGIN}")
        if python_version:
            cd.set_python_version(str(python_version))
        if pip_packages is not None:
            for package in cd.pip_packages:
                cd.remove_pip_package(package)
            for package in pip_packages:
                cd.add_pip_package(package)
        for conda_package in conda_packages or []:
            cd.add_conda_package(conda_package)
        return cd

    # --- reading --------------------------------------------------------------------------------
    @property
    def _deps(self) -> list[Any]:
        deps = self._data.setdefault("dependencies", [])
        assert isinstance(deps, list)
        return deps

    def _pip_list(self, create: bool = False) -> list[str] | None:
        for item in self._deps:
            if isinstance(item, dict) and "pip" in item:
                if item["pip"] is None:
                    item["pip"] = []
                return item["pip"]  # type: ignore[no-any-return]
        if not create:
            return None
        pip: list[str] = []
        self._deps.append({"pip": pip})
        return pip

    @property
    def conda_packages(self) -> list[str]:
        """Conda package specs, including ``python=...`` when set (a copy)."""
        return [d for d in self._deps if isinstance(d, str)]

    @property
    def pip_packages(self) -> list[str]:
        """Pip requirement lines, without options (a copy)."""
        return [p for p in self._pip_list() or [] if not sf.is_option(p)]

    @property
    def pip_options(self) -> list[str]:
        """Pip option lines such as ``--extra-index-url URL`` or ``-r other.txt`` (a copy)."""
        return [p for p in self._pip_list() or [] if sf.is_option(p)]

    @property
    def conda_channels(self) -> list[str]:
        """Conda channels, in priority order (a copy)."""
        return list(self._data.get("channels") or [])

    channels = conda_channels

    @property
    def name(self) -> str | None:
        """The ``name:`` of the conda environment file, if any."""
        return self._data.get("name")

    @staticmethod
    def package_name(conda_package: str) -> str:
        """The package name of a conda spec (``'conda-forge::numpy=1.15'`` -> ``'numpy'``)."""
        return sf.conda_name(conda_package)

    def get_python_version(self) -> str | None:
        """The Python version the spec asks for (``'3.11'`` from ``python=3.11``), or None."""
        for spec in self.conda_packages:
            if sf.conda_name(spec) == PYTHON:
                return sf.python_version_of(spec)
        return None

    # --- editing --------------------------------------------------------------------------------
    def set_python_version(self, version: str) -> None:
        """Ask for Python ``version`` (written ``python=VERSION``), replacing any earlier pin."""
        entry = f"{PYTHON}={version}"
        problem = sf.check_conda_spec(entry)
        if problem:
            raise ValidationError(
                f"Python version {version!r} is not valid: {problem}.",
                hint="give a version such as '3.11' or '3.11.9'",
            )
        deps = self._deps
        for i, item in enumerate(deps):
            if isinstance(item, str) and sf.conda_name(item) == PYTHON:
                deps[i] = entry
                return
        deps.insert(0, entry)

    def add_channel(self, channel: str) -> None:
        """Add a conda channel (at the lowest priority) unless it is already listed."""
        channels = self._data.get("channels") or []
        if channel not in channels:
            channels.append(channel)
        self._data["channels"] = channels

    def remove_channel(self, channel: str) -> None:
        """Remove a conda channel if it is listed."""
        channels = self._data.get("channels") or []
        if channel in channels:
            channels.remove(channel)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package spec; one with the same name is replaced. ``python=X`` sets the
        Python version."""
        problem = sf.check_conda_spec(conda_package)
        if problem:
            raise ValidationError(
                f"Conda package {conda_package!r} is not valid: {problem}.", hint=sf.CONDA_HINT
            )
        name = sf.conda_name(conda_package)
        if name == PYTHON:
            version = sf.python_version_of(conda_package)
            if version:
                self.set_python_version(version)
            return
        deps = self._deps
        for i, item in enumerate(deps):
            if isinstance(item, str) and sf.conda_name(item) == name:
                deps[i] = conda_package
                return
        pip_at = next((i for i, d in enumerate(deps) if isinstance(d, dict)), len(deps))
        deps.insert(pip_at, conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove a conda package (the exact spec, or every spec of that name)."""
        if sf.conda_name(conda_package) == PYTHON:
            raise ValidationError(
                "python must not be removed from the conda dependencies.",
                hint="use set_python_version() to change it",
            )
        deps = self._deps
        exact = [d for d in deps if isinstance(d, str) and d == conda_package]
        named = [
            d for d in deps if isinstance(d, str) and sf.conda_name(d) == conda_package.strip()
        ]
        for item in exact or named:
            deps.remove(item)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement; an earlier requirement for the same project is replaced."""
        if sf.is_option(pip_package):
            raise ValidationError(
                f"{pip_package!r} is a pip option, not a package.",
                hint="use set_pip_option() for options",
            )
        problem = sf.check_pip_line(pip_package)
        if problem:
            raise ValidationError(
                f"Pip package {pip_package!r} is not a valid requirement: {problem}.",
                hint=sf.PIP_HINT,
            )
        self.remove_pip_package(pip_package)
        pip = self._pip_list(create=True)
        assert pip is not None
        pip.append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove every pip requirement for the project that ``pip_package`` names."""
        if sf.is_option(pip_package):
            raise ValidationError(
                f"{pip_package!r} is a pip option, not a package.",
                hint="use remove_pip_option() for options",
            )
        pip = self._pip_list()
        if pip is None:
            return
        name = sf.pip_name(pip_package)
        pip[:] = [p for p in pip if sf.is_option(p) or sf.pip_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option (``--index-url URL``); one with the same flag is replaced."""
        if not sf.is_option(pip_option):
            raise ValidationError(
                f"{pip_option!r} is not a pip option (options start with '-').",
                hint="use add_pip_package() for packages",
            )
        problem = sf.check_pip_line(pip_option)
        if problem:
            raise ValidationError(f"Pip option {pip_option!r} is not valid: {problem}.")
        pip = self._pip_list(create=True)
        assert pip is not None
        flag = sf.option_parts(pip_option)[0]
        for i, item in enumerate(pip):
            if sf.is_option(item) and sf.option_parts(item)[0] == flag:
                pip[i] = pip_option
                return
        pip.insert(len(self.pip_options), pip_option)

    def set_pip_index_url(self, index_url: str) -> None:
        """Add a pip index option (azureml.core passes the whole option, e.g. ``--index-url U``)."""
        self.set_pip_option(index_url)

    def remove_pip_option(self, pip_option: str) -> None:
        """Remove the pip option with the same flag as ``pip_option``."""
        pip = self._pip_list()
        if pip is None:
            return
        flag = sf.option_parts(pip_option)[0]
        pip[:] = [p for p in pip if not (sf.is_option(p) and sf.option_parts(p)[0] == flag)]

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Replace the whole pip list (packages and options) after checking every line."""
        for line in pip_requirements:
            problem = sf.check_pip_line(line)
            if problem:
                raise ValidationError(
                    f"Pip line {line!r} is not valid: {problem}.", hint=sf.PIP_HINT
                )
        pip = self._pip_list(create=True)
        assert pip is not None
        pip[:] = list(pip_requirements)

    # --- output ---------------------------------------------------------------------------------
    def serialize_to_string(self) -> str:
        """The content as conda environment YAML; parsing it back gives an equal object."""
        return dump_conda_yaml(self.as_dict())

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the YAML to ``path`` (a file path whose folder exists); return the path."""
        if path is None:
            raise ValidationError("save() needs a file path.", hint="e.g. cd.save('myenv.yml')")
        target = Path(path)
        if target.is_dir():
            raise ValidationError(
                f"Cannot save the conda file to {str(target)!r}: it is a folder.",
                hint="give a file path such as 'myenv.yml'",
            )
        if not target.parent.is_dir():
            raise ValidationError(
                f"Cannot save the conda file to {str(target)!r}: folder "
                f"{str(target.parent)!r} does not exist.",
                hint="create the folder first or pick another path",
            )
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(path)

    def save_to_file(self, base_directory: str, conda_file_path: str | None = None) -> str:
        """Write the YAML under ``base_directory`` (azureml.core's older API); return the
        relative path. Default file: ``.dockyard/auto_conda_dependencies.yml``."""
        relative = conda_file_path or f".dockyard/{CONDA_FILE_NAME}"
        full = Path(base_directory).resolve() / relative
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(self.serialize_to_string(), encoding="utf-8")
        return relative.replace(os.sep, "/")

    def as_dict(self) -> dict[str, Any]:
        """A deep copy of the content as plain dicts and lists."""
        return copy.deepcopy(self._data)

    def included_files(self) -> dict[str, str]:
        """Content of the files the pip options include with ``-r``/``-c``, read now.

        Keys are paths as written (relative to the spec file's folder). Raises ``SpecError``
        naming the option when a file is missing and was never read before. For a registered or
        saved environment the recorded content is used, not the file on disk.
        """
        self._included = sf.collect_included_files(
            self.pip_options, self._base_dir, self._included, self._source, self._frozen_includes
        )
        return dict(self._included)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CondaDependencies):
            return NotImplemented
        return self._data == other._data

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"CondaDependencies(python={self.get_python_version()!r}, "
            f"conda_packages={self.conda_packages!r}, pip_packages={self.pip_packages!r})"
        )
