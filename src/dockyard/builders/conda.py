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

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from dockyard.builders.install_plan import (
    INSTALLER_PACKAGES,
    RUNTIME_PROVIDED,
    InstallPlan,
    provided,
    python_mismatch,
)
from dockyard.builders.pip_lines import add_pip_lines
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

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")
_OPERATORS = ("==", ">=", "<=", "!=", "~=", ">", "<", "=")


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
    add_pip_lines(plan, spec, list(spec.pip_options), base, "", "pip options")
    add_pip_lines(plan, spec, list(spec.pip_packages), base, "", "pip packages")
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
        provided(plan, package)
        return
    pypi = CONDA_TO_PYPI.get(name.lower()) or CONDA_TO_PYPI.get(key)
    if pypi:
        plan.notes.append(f"conda package {package!r} installed as PyPI package {pypi!r}")
        name = pypi
    plan.requirements.append(f"{name}{specifier}")


__all__ = [
    "CONDA_SYSTEM_PACKAGES",
    "CONDA_TO_PYPI",
    "INSTALLER_PACKAGES",
    "RUNTIME_PROVIDED",
    "InstallPlan",
    "conda_version_to_specifier",
    "parse_conda_package",
    "plan_install",
    "python_mismatch",
]
