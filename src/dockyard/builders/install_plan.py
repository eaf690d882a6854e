"""What an environment build installs: the :class:`InstallPlan` that ``conda.py`` (the conda
packages) and ``pip_lines.py`` (the ``pip:`` section and the files it includes) fill from an
environment spec, the packages every plan leaves out, and how the plan's Python compares with the
one that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

#: Installers that the virtual environment tool manages itself.
INSTALLER_PACKAGES: frozenset[str] = frozenset({"pip", "setuptools", "wheel"})

#: Azure's scoring-server packages: dockyard's server runtime takes their place.
RUNTIME_PROVIDED: frozenset[str] = frozenset({"azureml-defaults", "azureml-inference-server-http"})


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


def provided(plan: InstallPlan, requirement: str) -> None:
    plan.provided_by_runtime.append(requirement)
    plan.notes.append(
        f"{requirement!r} not installed: dockyard's scoring-server runtime provides what it does"
    )


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


__all__ = [
    "INSTALLER_PACKAGES",
    "RUNTIME_PROVIDED",
    "InstallPlan",
    "provided",
    "python_mismatch",
    "requirement_name",
]
