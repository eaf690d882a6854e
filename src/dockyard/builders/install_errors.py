"""Why a package installation failed, read from the installer's output (uv or pip).

One diagnosis for every place dockyard installs packages: local environments (uv, see
:func:`dockyard.builders.uvtool.install_error`) and images (pip resolving the wheelhouse on the host,
see :mod:`dockyard.builders.wheelhouse`). It names the requirements the installer complained about
and says which of the usual causes it was:

* **no wheel for this Python**: the installer fell back to the source distribution and building it
  failed (the seed's ``numpy==1.15.4`` and ``scikit-learn==0.19.1`` on Python 3.11);
* **no such version / no wheel for the target Python**: nothing matches the pin (pip lists the
  versions it could use; with ``--only-binary`` those are the versions with a wheel);
* **no such package**: a typo, or a conda-only name;
* **TLS** or **network** trouble reaching an index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Phrases uv and pip print when building a package from its source distribution failed.
_SOURCE_BUILD_FAILED = (
    "failed to build",
    "failed building wheel",
    "metadata-generation-failed",
    "subprocess-exited-with-error",
    "did not run successfully",
)

#: Where each installer names the package it gave up on.
_NAMED_BY_INSTALLER = (
    re.compile(r"Failed to build `([^`]+)`"),  # uv
    re.compile(r"Failed to build '([^']+)'"),  # pip >= 25
    re.compile(r"Failed building wheel for (\S+)"),  # older pip
    re.compile(
        r"^\s*╰─>\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*$", re.MULTILINE
    ),  # pip: "× Encountered error ..."
    re.compile(
        r"Failed to build installable wheels for some pyproject\.toml based projects \(([^)]+)\)"
    ),
    re.compile(r"satisfies the requirement (\S+)"),  # pip: no version matches
    re.compile(r"No matching distribution found for (\S+)"),
)
#: pip's words for an index it could not reach.
_PIP_NETWORK = (
    "could not fetch url",
    "max retries exceeded",
    "newconnectionerror",
    "name resolution",
)
_NO_VERSION = re.compile(r"satisfies the requirement (\S+) \(from versions: ([^)]*)\)")
_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b:?.*)$")


@dataclass(frozen=True)
class Diagnosis:
    """What went wrong, in words a user can act on."""

    message: str
    hint: str
    #: The requirements (as the user wrote them) the installer complained about.
    named: list[str] = field(default_factory=list)
    #: ``no-wheel``, ``no-version``, ``no-package``, ``conflict``, ``tls``, ``network`` or ``other``.
    cause: str = "other"


def bare_name(requirement: str) -> str:
    """``"Scikit_Learn[alldeps]>=0.19 ; python_version>'3'"`` -> ``"scikit-learn"``."""
    name = requirement.split(";")[0].strip()
    name = re.split(r"[\s\[<>=!~@;(]", name, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(text: str) -> list[str]:
    """The requirements of a requirements file (option lines, comments and blanks left out)."""
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            out.append(line)
    return out


def diagnose(
    lines: Sequence[str],
    requirements: Sequence[str],
    python_version: str,
    *,
    log_path: Path | None = None,
    binary_only: bool = False,
    python_owner: str = "",
) -> Diagnosis:
    """Read an installer's output (``lines``) and say what failed and what to do.

    ``requirements`` are the user's requirements (to name them as written); ``python_version``
    is the Python the packages are for and ``python_owner`` says whose it is (``"the image's"``
    gives "the image's Python 3.11").
    ``binary_only``: the installer was limited to wheels (``pip download --only-binary``), so the
    versions it lists are the versions with a wheel for that Python.
    """
    lines = [ln.rstrip("\n") for ln in lines]
    start = next(
        (i for i, ln in enumerate(lines) if ln.lstrip().lower().startswith(("error:", "×"))), 0
    )
    text = "\n".join(lines[start:])
    lowered = text.lower()
    python = f"{python_owner} Python {python_version}".strip()

    by_installer = _named_by_installer(text)
    named = _match_requirements(by_installer, requirements)
    if not named:
        named = _mentioned(lowered, requirements)
    shown = named or by_installer

    reason = next(
        (ln.strip() for ln in lines[start:] if "because" in ln.lower()),
        lines[start].strip() if lines else "the installer failed",
    )
    reason = re.sub(r"^(error:|ERROR:|cause:|×|╰─▶)\s*", "", reason).strip()
    cause = "other"
    no_version = _NO_VERSION.search(text)
    if any(phrase in lowered for phrase in _SOURCE_BUILD_FAILED):
        cause = "no-wheel"
        built = by_installer[0] if by_installer else (shown[0] if shown else "a package")
        if not reason.lower().startswith("failed to build"):
            reason = f"Failed to build {built!r}"
        why = _last_exception(lines[start:])
        reason += (
            f" (no wheel fits {python} on this platform, and building it from source failed"
            f"{': ' + why if why else ''})"
        )
    elif no_version:
        pin = no_version.group(1)
        versions = [v.strip() for v in no_version.group(2).split(",")]
        versions = [v for v in versions if v and v != "none"]
        if not versions:
            cause = "no-package"
            reason = f"no package named {bare_name(pin)!r} on the configured indexes" + (
                f", or none with a wheel for {python}" if binary_only else ""
            )
        elif binary_only:
            cause = "no-wheel"
            reason = (
                f"no wheel of {pin} fits {python} on this platform (versions with one: "
                f"{_span(versions)})"
            )
        else:
            cause = "no-version"
            reason = f"there is no version {pin} (versions available: {_span(versions)})"
    elif "because" in reason.lower() and "depends on" in reason.lower():
        cause = "conflict"
    elif "not found in the package registry" in lowered or "no version of" in lowered:
        cause = "no-version" if "no version of" in lowered else "no-package"

    where = f"; the full log is {log_path}" if log_path else ""
    if shown:
        message = f"Cannot install {', '.join(repr(n) for n in shown)}: {reason}"
    else:
        message = f"Installing the environment's packages failed: {reason}"

    everything = "\n".join(lines).lower()  # pip's retry warnings come before its error
    if "certificate" in lowered or "certificate_verify_failed" in everything:
        cause = "tls"
        hint = (
            "a package index's TLS certificate is not trusted: behind a TLS-intercepting proxy, "
            f"set 'cert' in pip.conf (or SSL_CERT_FILE) to its CA bundle{where}"
        )
    elif (
        "failed to fetch" in lowered
        or any(phrase in everything for phrase in _PIP_NETWORK)
        or ("connect" in lowered and not named)
    ):
        cause = "network"
        hint = (
            "a package index cannot be reached: check the network, the proxy (HTTPS_PROXY) and "
            f"the index URLs in pip.conf; offline, point find-links at a folder of wheels{where}"
        )
    elif cause == "no-wheel":
        hint = (
            f"pick versions that have wheels for {python} (newer releases usually do), or remove "
            f"these requirements; replace conda-only packages by their PyPI names{where}"
        )
    elif cause == "no-version":
        first = bare_name(shown[0]) if shown else "NAME"
        hint = (
            f"pin a version that exists (`python -m pip index versions {first}` lists them), "
            f"or drop the pin{where}"
        )
    elif cause == "no-package":
        hint = (
            "check the spelling of the package name on PyPI (conda-only packages need their "
            f"PyPI name){where}"
        )
    else:
        hint = (
            f"change or remove these requirements (pick versions with wheels for {python}; "
            f"replace conda-only packages by their PyPI names){where}"
        )
    return Diagnosis(message=message, hint=hint, named=list(named), cause=cause)


def _named_by_installer(text: str) -> list[str]:
    found: list[str] = []
    for pattern in _NAMED_BY_INSTALLER:
        for match in pattern.finditer(text):
            for item in match.group(1).split(","):
                item = item.strip()
                if item and item not in found:
                    found.append(item)
    return found


def _match_requirements(names: Sequence[str], requirements: Sequence[str]) -> list[str]:
    wanted = {bare_name(n) for n in names}
    return [r for r in requirements if bare_name(r) in wanted]


def _mentioned(lowered: str, requirements: Sequence[str]) -> list[str]:
    """Requirements whose name appears in the error text (uv's explanations name them)."""
    named = []
    for requirement in requirements:
        bare = bare_name(requirement)
        for candidate in {bare, bare.replace("-", "_")}:
            if candidate and re.search(rf"(?<![\w.-]){re.escape(candidate)}(?![\w-])", lowered):
                named.append(requirement)
                break
    return named


def _last_exception(lines: Sequence[str]) -> str:
    """The last ``SomeError: ...`` line of a failed build's output (its real reason)."""
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line)
        if match and not line.lstrip().lower().startswith(("error:", "hint:", "note:")):
            return match.group(1).strip()
    return ""


def _span(versions: Sequence[str]) -> str:
    if len(versions) <= 4:
        return ", ".join(versions)
    return f"{versions[0]} ... {versions[-1]}"


__all__ = ["Diagnosis", "bare_name", "diagnose", "requirement_lines"]
