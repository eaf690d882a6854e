"""What a diagnosis found: one :class:`Step` per isolation step, in order, in a
:class:`DiagnosisReport`.

A step is ``passed``, ``failed`` or ``skipped``; a failed one says what exactly failed
(``finding``), shows the ``evidence`` (a traceback, log lines, a folder listing) and the ``fix``
(a command or call that works where it is shown). :func:`run_steps` runs checks in order and
stops at the first failure: the steps after it are reported as skipped, naming the one that
failed, as the seed's advice goes (split the deployment into steps, find the first that fails).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import DockyardError, StepError

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class Step:
    """One isolation step and what it found."""

    step: str
    status: str
    finding: str
    evidence: str = ""
    fix: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, str]:
        return {
            "step": self.step,
            "status": self.status,
            "finding": self.finding,
            "evidence": self.evidence,
            "fix": self.fix,
        }


@dataclass
class DiagnosisReport:
    """Every step of one diagnosis; ``failed`` is the first failed step (None when all passed)."""

    subject: str
    steps: list[Step] = field(default_factory=list)

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.status == FAILED), None)

    @property
    def ok(self) -> bool:
        return self.failed is None

    def step(self, name: str) -> Step:
        """The step called ``name`` (KeyError names the steps there are)."""
        for item in self.steps:
            if item.step == name:
                return item
        raise KeyError(f"no step {name!r}; the steps are: {', '.join(s.step for s in self.steps)}")

    def to_dict(self) -> dict[str, Any]:
        failed = self.failed
        return {
            "subject": self.subject,
            "ok": failed is None,
            "failedStep": failed.step if failed else None,
            "steps": [s.to_dict() for s in self.steps],
        }

    def __str__(self) -> str:
        lines = [f"diagnosis of {self.subject}"]
        for item in self.steps:
            status = item.status.upper() if item.status == FAILED else item.status
            lines.append(f"  {status:8} {item.step}: {item.finding}")
        failed = self.failed
        if failed is not None:
            if failed.evidence:
                lines += ["evidence:", *("  " + ln for ln in failed.evidence.splitlines())]
            if failed.fix:
                lines.append(f"fix: {failed.fix}")
        return "\n".join(lines)


#: A check: returns its step, or its steps for a check that covers several at once.
Check = Callable[[], "Step | Sequence[Step]"]


def run_steps(checks: Iterable[tuple[str | tuple[str, ...], Check]]) -> list[Step]:
    """Run ``(step name(s), check)`` pairs in order until a step fails; later ones are skipped.

    A check that covers several steps names them all; the ones it did not report (it stops at
    its own first failure) are skipped too. A :class:`~dockyard.errors.DockyardError` raised by a
    check is the failure of its first step (its message is the finding, its hint the fix, a step
    error's log tail the evidence).
    """
    steps: list[Step] = []
    failed: str | None = None
    for names, check in checks:
        names = (names,) if isinstance(names, str) else names
        if failed is None:
            try:
                found = check()
            except DockyardError as exc:
                found = failure_of(names[0], exc)
            for item in [found] if isinstance(found, Step) else list(found):
                steps.append(item)
                if item.status == FAILED:
                    failed = item.step
                    break
        reported = {s.step for s in steps}
        why = f"not checked: step {failed!r} failed first" if failed else "not checked"
        steps += [Step(name, SKIPPED, why) for name in names if name not in reported]
    return steps


def failure_of(name: str, exc: DockyardError) -> Step:
    """A dockyard error as the failure of step ``name``."""
    evidence = (exc.log_tail or "") if isinstance(exc, StepError) else ""
    return Step(name, FAILED, exc.message, evidence=evidence, fix=exc.hint or "")


__all__ = [
    "FAILED",
    "PASSED",
    "SKIPPED",
    "DiagnosisReport",
    "Step",
    "failure_of",
    "run_steps",
]
