"""Translate an environment spec (conda packages, the ``pip:`` section) into what uv installs.

Pure functions over :class:`~dockyard.builders.specs.EnvironmentSpec` (``-r`` files are read from
``spec.included_files`` first, then from ``spec.base_dir``). The rules, documented in
``docs/environments-build.md``:

* conda version syntax becomes PEP 440: ``numpy=1.15`` -> ``numpy==1.15.*``,
  ``numpy=1.15.4`` -> ``numpy==1.15.4``, ``numpy 1.15.*`` -> ``numpy==1.15.*``,
  ``numpy>=1.2`` stays, build strings (``=py37h...``) and channel prefixes (``conda-forge::``)
  are dropped;
* ``python`` gives the Python version wanted; ``pip``, ``setuptools`` and ``wheel`` are dropped;
* conda-only names map to PyPI names (:data:`CONDA_TO_PYPI`); native libraries that PyPI wheels
  bundle (:data:`CONDA_SYSTEM_PACKAGES`: mkl, cudatoolkit, libgcc, ...) are dropped with a warning;
* :data:`RUNTIME_PROVIDED` (``azureml-defaults``, ``azureml-inference-server-http``) are
  satisfied by dockyard's scoring-server runtime and are not installed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from dockyard.builders.specs import EnvironmentSpec
from dockyard.errors import SpecError

#: conda package names whose PyPI distribution has another name.
CONDA_TO_PYPI: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "tensorflow-mkl": "tensorflow",
    "tensorflow-eigen": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "tensorflow-base": "tensorflow",
    "py-lightgbm": "lightgbm",
    "py-opencv": "opencv-python-headless",
    "opencv": "opencv-python-headless",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "python-graphviz": "graphviz",
    "matplotlib-base": "matplotlib",
    "numpy-base": "numpy",
    "ruamel_yaml": "ruamel.yaml",
    "pyqt": "PyQt5",
}

#: conda packages of native libraries or tools with no PyPI counterpart to install: PyPI wheels
#: bundle what they provide (numpy ships OpenBLAS, torch wheels ship CUDA). Dropped, with a warning.
CONDA_SYSTEM_PACKAGES: frozenset[str] = frozenset(
    """mkl mkl-service mkl_fft mkl_random mkl-include intel-openmp nomkl blas libblas libcblas
    liblapack openblas libopenblas libgcc libgcc-ng _libgcc_mutex libstdcxx-ng libgfortran
    libgfortran-ng libgfortran5 libgomp _openmp_mutex llvm-openmp cudatoolkit cuda-toolkit
    cudnn nccl openssl ca-certificates libffi zlib libzlib xz bzip2 sqlite readline ncurses tk
    libuuid ld_impl_linux-64 tzdata libprotobuf libxgboost hdf5 libpng jpeg libjpeg-turbo
    freetype icu expat libedit libxml2 libiconv lz4-c zstd libopencv libtiff libwebp lcms2
    fontconfig glib conda conda-build vc vs2015_runtime""".split()  # noqa: SIM905
)

#: Installers that the virtual environment tool manages itself.
INSTALLER_PACKAGES: frozenset[str] = frozenset({"pip", "setuptools", "wheel"})

#: Azure's scoring-server packages: dockyard's server runtime takes their place.
RUNTIME_PROVIDED: frozenset[str] = frozenset({"azureml-defaults", "azureml-inference-server-http"})

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")
_OPERATORS = ("==", ">=", "<=", "!=", "~=", ">", "<", "=")
_OPTION_SPLIT_RE = re.compile(r"\s+(?=--?[A-Za-z])")
_ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


@dataclass
class InstallPlan:
    """What to install, and with which package sources, for one environment spec."""

    requirements: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    editables: list[str] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    trusted_hosts: list[str] = field(default_factory=list)
    no_index: bool = False
    pre: bool = False
    only_binary: list[str] = field(default_factory=list)
    no_binary: list[str] = field(default_factory=list)
    #: The Python version the spec asks for (``3.11``, ``>=3.8``), or None.
    python: str | None = None
    #: Requirements satisfied by dockyard's server runtime instead of being installed.
    provided_by_runtime: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to install: the environment needs no packages of its own."""
        return not (self.requirements or self.editables)

    def requirement_names(self) -> list[str]:
        """Canonical names of the requirements that parse as PEP 508 (for the version report)."""
        names = []
        for line in self.requirements:
            name = requirement_name(line)
            if name and name not in names:
                names.append(name)
        return names


def requirement_name(line: str) -> str | None:
    """Canonical project name of a requirement line, or None for paths and URLs."""
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def conda_version_to_specifier(version: str, *, fuzzy: bool) -> str:
    """One conda version constraint as a PEP 440 specifier.

    ``fuzzy`` is conda's ``name=1.15`` form (prefix match when fewer than three components);
    otherwise a bare version is exact (``name 1.15.4`` -> ``==1.15.4``).
    """
    version = version.strip()
    if "|" in version:
        raise SpecError(
            f"conda version {version!r} uses '|' (one of several versions), which pip cannot express.",
            hint="pin a single version or a range (e.g. '>=1.11,<1.12')",
        )
    parts = []
    for part in (p.strip() for p in version.split(",")):
        if part in ("", "*"):
            continue
        op = next((o for o in _OPERATORS if part.startswith(o)), "")
        value = part[len(op) :].strip()
        if op == "=":
            op, fuzzy_part = "", True
        else:
            fuzzy_part = fuzzy and not op
        if op in ("", "==", "!="):
            star = value.endswith("*")
            value = value.rstrip("*").rstrip(".")
            if not value:
                continue
            prefix = star or (fuzzy_part and value.count(".") < 2)
            parts.append(f"{op or '=='}{value}{'.*' if prefix else ''}")
        else:
            parts.append(f"{op}{value.rstrip('*').rstrip('.')}")
    result = ",".join(parts)
    try:
        SpecifierSet(result)
    except InvalidSpecifier as exc:
        raise SpecError(
            f"conda version {version!r} has no pip equivalent ({result!r} is not a PEP 440 version).",
            hint="write the version as pip would (e.g. '1.2.3', '>=1.2')",
        ) from exc
    return result


def parse_conda_package(spec: str) -> tuple[str, str]:
    """Split a conda match spec into its name and a PEP 440 specifier (build strings dropped).

    ``numpy=1.15.4=py37h7e9f1db_0`` -> ``('numpy', '==1.15.4')``; ``conda-forge::numpy`` ->
    ``('numpy', '')``; ``numpy[version='>=1.8']`` -> ``('numpy', '>=1.8')``.
    """
    text = spec.strip().split("::")[-1]
    bracket = re.search(r"\[(.*)\]\s*$", text)
    if bracket:
        text = text[: bracket.start()]
        found = re.search(r"version\s*=\s*['\"]?([^'\",\]]+(?:,[^'\",\]]+)*)", bracket.group(1))
        text = f"{text} {found.group(1)}" if found else text
    match = _NAME_RE.match(text)
    if not match:
        raise SpecError(
            f"{spec!r} is not a conda package spec.",
            hint="write it as 'name', 'name=1.2' or 'name>=1.2'",
        )
    name, rest = match.group(1), match.group(2).strip()
    if not rest:
        return name, ""
    if rest.startswith("=") and not rest.startswith("=="):
        version = rest[1:].split("=")[0]  # '=1.15.4=build' -> '1.15.4'
        return name, conda_version_to_specifier(version, fuzzy=True)
    if rest.startswith("=="):
        return name, conda_version_to_specifier(rest.split()[0].split("=")[2], fuzzy=False)
    version = rest.split()[0]  # 'numpy 1.15.4 py37_0' or 'numpy >=1.8,<2': the build goes
    if rest.startswith(("<", ">", "!", "~")) and " " in rest and rest.split()[1][:1].isdigit():
        version = "".join(rest.split()[:2])  # '>= 1.8'
    return name, conda_version_to_specifier(version, fuzzy=False)


def plan_install(spec: EnvironmentSpec) -> InstallPlan:
    """Everything uv needs to build ``spec``: requirements, constraints and package sources."""
    plan = InstallPlan(python=_clean_python(spec.python_version))
    if spec.channels:
        plan.notes.append(
            f"conda channels {', '.join(spec.channels)} ignored: packages come from PyPI indexes"
        )
    for package in spec.conda_packages:
        _add_conda_package(plan, package)
    base = spec.base_dir
    _add_pip_lines(plan, spec, list(spec.pip_options), base, "", "pip options")
    _add_pip_lines(plan, spec, list(spec.pip_packages), base, "", "pip packages")
    return plan


def _clean_python(version: str | None) -> str | None:
    if version is None or not version.strip():
        return None
    return version.strip()


def _add_conda_package(plan: InstallPlan, package: str) -> None:
    name, specifier = parse_conda_package(package)
    key = canonicalize_name(name)
    if key == "python":
        plan.python = specifier or plan.python
        return
    if key in INSTALLER_PACKAGES:
        plan.notes.append(f"conda package {package!r} dropped: the environment tool manages {key}")
        return
    if name.lower() in CONDA_SYSTEM_PACKAGES or key in CONDA_SYSTEM_PACKAGES:
        plan.warnings.append(
            f"conda package {package!r} dropped: it is a native library or tool with no PyPI "
            "package to install (PyPI wheels bundle what they need)"
        )
        return
    if key in RUNTIME_PROVIDED:
        _provided(plan, package)
        return
    pypi = CONDA_TO_PYPI.get(name.lower()) or CONDA_TO_PYPI.get(key)
    if pypi:
        plan.notes.append(f"conda package {package!r} installed as PyPI package {pypi!r}")
        name = pypi
    plan.requirements.append(f"{name}{specifier}")


def _provided(plan: InstallPlan, requirement: str) -> None:
    plan.provided_by_runtime.append(requirement)
    plan.notes.append(
        f"{requirement!r} not installed: dockyard's scoring-server runtime provides what it does"
    )


def _add_pip_lines(
    plan: InstallPlan,
    spec: EnvironmentSpec,
    lines: list[str],
    folder: Path | None,
    key_prefix: str,
    origin: str,
    depth: int = 0,
) -> None:
    for raw in _logical_lines(lines):
        line = _expand_env(raw)
        if line.startswith("-"):
            _add_option(plan, spec, line, folder, key_prefix, origin, depth)
            continue
        parts = _OPTION_SPLIT_RE.split(line)
        if len(parts) > 1:
            plan.notes.append(f"per-requirement options {parts[1:]} of {parts[0]!r} ignored")
        requirement = _local_path(parts[0], folder, origin)
        name = requirement_name(requirement)
        if name in RUNTIME_PROVIDED:
            _provided(plan, requirement)
        elif name in INSTALLER_PACKAGES:
            plan.notes.append(
                f"pip package {requirement!r} dropped: the environment tool manages it"
            )
        else:
            plan.requirements.append(requirement)


def _logical_lines(lines: list[str]) -> list[str]:
    """Join ``\\`` continuations, drop comments and blank lines."""
    out: list[str] = []
    pending = ""
    for line in "\n".join(lines).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        if pending:
            line = line.lstrip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def _expand_env(line: str) -> str:
    return _ENV_VAR_RE.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)


def _split_option(line: str) -> tuple[str, str]:
    """``'--index-url=URL'``, ``'--index-url URL'``, ``'-rfile'`` -> ``(option, value)``."""
    if line.startswith("--"):
        option, _, value = line.partition("=") if "=" in line.split()[0] else line.partition(" ")
        return option.strip(), value.strip()
    return line[:2], line[2:].strip()


def _add_option(
    plan: InstallPlan,
    spec: EnvironmentSpec,
    line: str,
    folder: Path | None,
    key_prefix: str,
    origin: str,
    depth: int,
) -> None:
    option, value = _split_option(line)
    if option in ("-r", "--requirement", "-c", "--constraint"):
        key, text, path = _included(spec, value, folder, key_prefix, origin)
        if depth > 20:
            raise SpecError(f"{origin}: '-r' files nest more than 20 levels deep.")
        if option in ("-c", "--constraint"):
            plan.constraints.extend(ln for ln in _logical_lines([text]) if not ln.startswith("-"))
            return
        parent_key = str(PurePosixPath(key).parent).lstrip(".")
        sub_folder = path.parent if path is not None else None
        _add_pip_lines(plan, spec, [text], sub_folder, parent_key, value, depth + 1)
    elif option in ("-i", "--index-url"):
        plan.index_url = value
    elif option == "--extra-index-url":
        plan.extra_index_urls.append(value)
    elif option in ("-f", "--find-links"):
        plan.find_links.append(_local_path(value, folder, origin, force=True))
    elif option == "--trusted-host":
        plan.trusted_hosts.append(value)
    elif option == "--no-index":
        plan.no_index = True
    elif option == "--pre":
        plan.pre = True
    elif option in ("--only-binary", "--no-binary"):
        target = plan.only_binary if option == "--only-binary" else plan.no_binary
        target.append(value)
    elif option in ("-e", "--editable"):
        plan.editables.append(_local_path(value, folder, origin))
    else:
        plan.warnings.append(
            f"pip option {line!r} ({origin}) is not supported by uv and was ignored"
        )


def _included(
    spec: EnvironmentSpec, value: str, folder: Path | None, key_prefix: str, origin: str
) -> tuple[str, str, Path | None]:
    """Find the content of a ``-r``/``-c`` file: ``spec.included_files`` first, then on disk."""
    key = "/".join(p for p in f"{key_prefix}/{value}".split("/") if p not in ("", "."))
    for candidate in (key, value):
        if candidate in spec.included_files:
            path = folder / value if folder is not None else None
            return key, spec.included_files[candidate], path
    path = Path(value) if Path(value).is_absolute() else (folder / value if folder else None)
    if path is not None and path.is_file():
        try:
            return key, path.read_text(encoding="utf-8"), path
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"{origin}: cannot read {str(path)!r}: {exc}.") from exc
    where = str(path) if path is not None else "(the spec has no source folder)"
    raise SpecError(
        f"{origin}: the requirements file {value!r} is not in the spec and not at {where}.",
        hint="create the environment from the folder that holds the file, or fix the path",
    )


def _local_path(token: str, folder: Path | None, origin: str, *, force: bool = False) -> str:
    """Make a relative local path (``./pkg``, ``dist/x.whl``) absolute against ``folder``."""
    if "://" in token or token.startswith("file:") and not token.startswith("file:."):
        return token
    bare = token.removeprefix("file:")
    looks_local = force or bare.startswith((".", "/")) or bare.endswith(_ARCHIVE_SUFFIXES)
    if not looks_local or Path(bare).is_absolute():
        return bare if looks_local else token
    if folder is None:
        raise SpecError(
            f"{origin}: {token!r} is a relative path, but the spec has no source folder to resolve it.",
            hint="use an absolute path, or create the environment from its spec file",
        )
    return str((folder / bare).resolve())


def python_mismatch(wanted: str | None, available: str) -> str | None:
    """A warning when the spec's Python (``3.7``, ``>=3.8``) does not match ``available``."""
    if not wanted:
        return None
    text = wanted.strip()
    try:
        if text[0].isdigit():
            given = text.rstrip("*").rstrip(".").split(".")
            ok = available.split(".")[: len(given)] == given
        else:
            ok = SpecifierSet(text).contains(available, prereleases=True)
    except (InvalidSpecifier, IndexError):
        return f"the spec asks for Python {wanted!r}, which dockyard cannot read; using {available}"
    if ok:
        return None
    return (
        f"the spec asks for Python {wanted}, but this machine builds environments with Python "
        f"{available}; packages are resolved for {available}. Pin versions that support "
        f"{available}, or run dockyard with the Python you need."
    )
