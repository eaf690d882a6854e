"""``dockyard.diagnose``: the seed guide's isolation steps, run for you, stopping at the first
that fails with what exactly failed, the evidence and the fix.

Three forms (one per call)::

    import dockyard
    report = dockyard.diagnose(ws, entry_script="score.py", source_directory="src",
                               models=["diabetes:3"], conda_file="env.yml",
                               sample={"data": [[1, 2, 3]]})      # before deploying
    report = dockyard.diagnose(ws, "mysvc")                         # a deployed service
    report = dockyard.diagnose(ws, image="myimg:2")                 # an image's build
    print(report)            # one line per step, then the finding, evidence and fix
    report.failed            # the first failed Step, or None
    report.to_dict()         # {"subject", "ok", "failedStep", "steps": [{step, status, ...}]}

Before deploying (:mod:`~dockyard.diagnosis.before_deploy`): ``models``, ``environment``,
``layout``, ``import``, ``signatures``, ``init``, ``score``. For a service
(:mod:`~dockyard.diagnosis.service_steps`): ``port``, ``state``, ``readiness``, ``errors``,
``overload``; it never changes the service. For an image
(:mod:`~dockyard.diagnosis.image_steps`): ``image``, ``build log``.

(The package is ``dockyard.diagnosis``, not ``dockyard.diagnose``: the name ``dockyard.diagnose``
is the function, and a subpackage of that name would replace it once imported.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dockyard.diagnosis.before_deploy import DEFAULT_TIMEOUT, diagnose_script
from dockyard.diagnosis.image_steps import diagnose_image
from dockyard.diagnosis.report import FAILED, PASSED, SKIPPED, DiagnosisReport, Step
from dockyard.diagnosis.service_steps import diagnose_service
from dockyard.errors import ValidationError

if TYPE_CHECKING:
    from dockyard.workspace import Workspace


def diagnose(
    workspace: Workspace,
    service: str | None = None,
    *,
    entry_script: Any = None,
    source_directory: Any = None,
    models: Sequence[Any] | None = None,
    environment: Any = None,
    conda_file: Any = None,
    inference_config: Any = None,
    sample: Any = None,
    image: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    show_output: bool = False,
) -> DiagnosisReport:
    """Find the first failing step of a deployment, before or after it is made.

    * ``service``: the name of a deployed service (any target); read-only.
    * ``entry_script`` (with ``source_directory``, ``models`` as ``Model`` objects or
      ``"NAME[:VERSION]"``, and ``conda_file`` or ``environment``: an ``Environment`` or a
      registered ``"NAME[:VERSION]"``), or an ``inference_config``: a score.py before deploying.
      ``sample`` is a request body (JSON text, ``"@file"``, or a JSON-ready value); without it,
      run()'s ``@input_schema`` example is sent, if it has one. ``timeout`` bounds import,
      ``init()`` and the sample together (seconds).
    * ``image``: ``"NAME[:VERSION]"`` of an image whose build log is scanned for known failures.

    ``show_output`` prints progress (environment builds) on stderr.
    """
    forms = [service is not None, entry_script is not None or inference_config is not None,
             image is not None]  # fmt: skip
    if sum(forms) != 1:
        raise ValidationError(
            "Say what to diagnose: a service, a score.py before deploying, or an image; "
            f"{sum(forms)} of them were given.",
            hint="name one thing: a service by its name, a score.py before deploying by its "
            "entry script (with its models and environment), or an image by NAME:VERSION",
        )
    if service is not None:
        return diagnose_service(workspace, service)
    if image is not None:
        return diagnose_image(workspace, image)
    if inference_config is not None:
        if entry_script is not None or environment is not None or conda_file is not None:
            raise ValidationError(
                "Give inference_config or entry_script/environment/conda_file, not both.",
                hint="give the inference config alone: it names the script and its environment",
            )
        entry_script = inference_config.entry_script
        source_directory = inference_config.source_directory
        environment = inference_config.environment
    return diagnose_script(
        workspace, entry_script, source_directory=source_directory, models=list(models or ()),
        environment=environment, conda_file=conda_file, sample=sample, timeout=timeout,
        progress=_stderr if show_output else None,
    )  # fmt: skip


def _stderr(line: str) -> None:
    import sys  # progress lines only when asked for

    print(line, file=sys.stderr, flush=True)


__all__ = ["FAILED", "PASSED", "SKIPPED", "DiagnosisReport", "Step", "diagnose"]
