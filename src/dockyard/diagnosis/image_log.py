"""Reading an image's build log for the failures people meet (pure: text in, finding out).

The log is what :mod:`dockyard.builders.docker_builder` keeps: the host-side resolution of the
Python packages (``Python dependencies: resolving on the host for Python X`` and pip's output),
the engine's ``Step N/M : INSTRUCTION`` lines with their output, ``ERROR:`` lines, and the push.
:func:`scan` says which known failure it was:

* ``no-wheel``, ``no-version``, ``no-package``, ``conflict``: pip could not install a package for
  the image's Python (the diagnosis local environments get too:
  :func:`dockyard.builders.install_errors.diagnose`);
* ``tls``: a certificate was not trusted (a TLS-intercepting proxy, a private registry);
* ``network``: an index or registry could not be reached;
* ``base-image``: the base image is missing (the ``FROM`` step failed);
* ``steps``: a line of the user's ``Dockerfile.steps`` failed (the step sits between the app
  user's creation and the copy of the Python packages, where the Dockerfile puts those lines);
* ``push``: the registry refused the image (authentication, or unreachable);
* ``other``: the failing step and its error, as the log says them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.builders.install_errors import diagnose

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_RESOLVING = re.compile(r"^Python dependencies: resolving on the host for Python (\S+)")
_TLS = ("certificate_verify_failed", "certificate verify failed", "x509: certificate",
        "ssl: ", "sslerror", "self signed certificate", "self-signed certificate")  # fmt: skip
_MISSING_IMAGE = ("pull access denied", "repository does not exist", "manifest unknown",
                  "not found: manifest", "no such image", "manifest for")  # fmt: skip
_AUTH = ("unauthorized", "authentication required", "denied: requested access", "no basic auth")
_NETWORK = ("connection refused", "no such host", "i/o timeout", "network is unreachable",
            "temporary failure in name resolution", "could not fetch url")  # fmt: skip
_EVIDENCE_LINES = 30


@dataclass(frozen=True)
class LogFinding:
    """What failed, why (``cause``), the lines that show it, and what to do."""

    cause: str
    finding: str
    evidence: str
    fix: str


def scan(log: str, steps_file: str | None = None) -> LogFinding | None:
    """The known failure ``log`` shows, or None when it shows no failure."""
    lines = log.splitlines()
    push = next((i for i, ln in enumerate(lines) if ln.startswith("# docker push ")), None)
    if push is not None and _error_after(lines, push) is not None:
        return _push(lines, push)
    resolving = next((i for i, ln in enumerate(lines) if _RESOLVING.match(ln)), None)
    first_step = next((i for i, ln in enumerate(lines) if _STEP.match(ln)), len(lines))
    if (
        resolving is not None
        and resolving < first_step
        and _error_after(lines[:first_step], resolving)
    ):
        match = _RESOLVING.match(lines[resolving])
        python = match.group(1) if match else "?"
        return _pip(
            lines[resolving:first_step], python, "resolving the Python packages on the host"
        )
    failing = _failing_step(lines)
    if failing is None:
        error = _error_after(lines, 0)
        if error is None:
            return None
        return _classified(lines, error, "the build", steps_file, lines[-_EVIDENCE_LINES:])
    index, instruction = failing
    block = lines[index:]
    error = _error_after(lines, index) or lines[-1]
    if instruction.upper().startswith("FROM"):
        return _base_image(instruction, error, block)
    if "pip" in instruction and "install" in instruction:
        python = _python_of(lines)
        return _pip(block, python, f"the build step {instruction[:120]!r}", binary_only=False)
    if _is_extra_step(lines, index):
        return _extra_step(instruction, error, block, steps_file)
    return _classified(lines, error, f"the build step {instruction[:120]!r}", steps_file, block)


# --- where it failed ------------------------------------------------------------------------------
def _error_after(lines: list[str], start: int) -> str | None:
    for line in lines[start:]:
        if line.startswith("ERROR:") or line.startswith("ERROR "):
            return line[len("ERROR:") :].strip()
    return None


def _failing_step(lines: list[str]) -> tuple[int, str] | None:
    """The last ``Step N/M`` before the first ``ERROR:`` line (index, instruction)."""
    error = next((i for i, ln in enumerate(lines) if ln.startswith("ERROR")), None)
    if error is None:
        return None
    for index in range(error, -1, -1):
        match = _STEP.match(lines[index])
        if match:
            return index, match.group(3)
    return None


def _is_extra_step(lines: list[str], index: int) -> bool:
    """Is step ``index`` one of Dockerfile.steps' lines? Those come after the final stage's
    ``RUN useradd`` (the app user) and before ``COPY --from=builder`` (the Python packages)."""
    before = [m.group(3) for ln in lines[:index] if (m := _STEP.match(ln))]
    froms = [i for i, text in enumerate(before) if text.upper().startswith("FROM")]
    if len(froms) < 2:
        return False
    final = before[froms[-1] :]
    return any("useradd" in t for t in final) and not any("--from=builder" in t for t in final)


def _python_of(lines: list[str]) -> str:
    for line in lines:
        match = _RESOLVING.match(line)
        if match:
            return match.group(1)
    return "?"


def _tail(lines: list[str]) -> str:
    return "\n".join(lines[-_EVIDENCE_LINES:])


# --- the findings ---------------------------------------------------------------------------------
def _pip(lines: list[str], python: str, where: str, binary_only: bool = True) -> LogFinding:
    """pip's failure; ``binary_only``: the host-side resolution, which takes wheels only."""
    python = "" if python == "?" else python  # pip in the build: the log does not say it
    found = diagnose(lines, [], python, binary_only=binary_only, python_owner="the image's")
    cause = found.cause if found.cause != "other" else "pip"
    text = "\n".join(lines).lower()
    if cause == "pip" and ("conflicting dependencies" in text or "resolutionimpossible" in text):
        cause = "conflict"  # pip's words (uv's are read by the diagnosis itself)
    what = {
        "no-wheel": f"no wheel of a package fits the image's Python {python}".rstrip(),
        "no-version": "a pinned version does not exist",
        "no-package": "a package does not exist on the configured indexes",
        "conflict": "the requirements conflict (no set of versions satisfies them all)",
        "tls": "a package index's certificate is not trusted",
        "network": "a package index cannot be reached",
    }.get(cause, "pip failed")
    fix = found.hint
    if cause == "conflict" and found.cause == "other":
        fix = (
            "the requirements pip names cannot all hold: relax or drop one of the conflicting "
            "pins (pip's 'The conflict is caused by' lines above name them)"
        )
    return LogFinding(cause, f"{where}: {what}: {found.message}", _tail(lines), fix)


def _base_image(instruction: str, error: str, block: list[str]) -> LogFinding:
    image = instruction.split()[1] if len(instruction.split()) > 1 else "?"
    lowered = error.lower()
    if any(p in lowered for p in _TLS):
        return _tls(f"pulling the base image {image} failed", block)
    return LogFinding(
        "base-image",
        f"the base image {image} is missing: {error}",
        _tail(block),
        f"create it with `dockyard base-image bootstrap`, pull it (`docker pull {image}`), or "
        "set the environment's base image (env.docker.base_image) to one the engine has "
        "(`docker images`)",
    )


def _extra_step(
    instruction: str, error: str, block: list[str], steps_file: str | None
) -> LogFinding:
    where = f" ({steps_file})" if steps_file else ""
    return LogFinding(
        "steps",
        f"a line of Dockerfile.steps{where} failed: `{instruction}`: {error}",
        _tail(block),
        f"fix or remove that line in Dockerfile.steps{where} (it runs as root on the base "
        "image, before Python: try it with `docker run --rm -it BASE_IMAGE sh`), then build "
        "the image again",
    )


def _push(lines: list[str], start: int) -> LogFinding:
    reference = lines[start][len("# docker push ") :].strip()
    error = _error_after(lines, start) or ""
    lowered = error.lower()
    block = lines[start:]
    if any(p in lowered for p in _TLS):
        return _tls(f"pushing {reference} failed", block)
    registry = reference.split("/")[0]
    if any(p in lowered for p in _AUTH):
        return LogFinding(
            "push",
            f"the registry refused {reference}: {error}",
            _tail(block),
            f"give the workspace's registry its credentials: Image.set_container_registry(ws, "
            f'"{registry}", username="USER", password="PASSWORD") (kept as a workspace secret), '
            f"or log the engine in with `docker login {registry}`, then build the image again",
        )
    return LogFinding(
        "push",
        f"pushing {reference} failed: {error}",
        _tail(block),
        f"check that the registry {registry} is reachable from the Docker engine, then build again",
    )


def _tls(what: str, block: list[str]) -> LogFinding:
    return LogFinding(
        "tls",
        f"{what}: a certificate is not trusted (a TLS-intercepting proxy, or a registry with a "
        "private CA)",
        _tail(block),
        "give pip the proxy's CA: set 'cert' in pip.conf (or SSL_CERT_FILE) to its CA bundle; "
        "for a registry, put its CA in /etc/docker/certs.d/REGISTRY/ca.crt",
    )


def _classified(
    lines: list[str], error: str, where: str, steps_file: str | None, block: list[str]
) -> LogFinding:
    lowered = "\n".join(lines).lower()
    if any(p in lowered for p in _TLS):
        return _tls(f"{where} failed", block)
    if any(p in error.lower() for p in _NETWORK):
        return LogFinding(
            "network",
            f"{where} failed: a server could not be reached: {error}",
            _tail(block),
            "check the network and the proxy (HTTPS_PROXY) of the machine and of the Docker "
            "engine; offline, give pip a folder of wheels (find-links in pip.conf)",
        )
    return LogFinding(
        "other",
        f"{where} failed: {error}",
        _tail(block),
        "read the lines above (the full log: `dockyard image logs NAME:VERSION`), fix what they "
        "name, then build again",
    )


__all__ = ["LogFinding", "scan"]
