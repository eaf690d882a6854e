"""check_compatible remembers a set of pins that resolved (no second `uv pip compile` for the
same pins, host packages and Python), and never remembers a conflict."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from dockyard.builders import portable
from dockyard.errors import EnvironmentBuildError


def test_a_resolved_set_is_not_resolved_again_and_a_conflict_is_never_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        if "compile" in argv:
            calls.append(argv)
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(portable.subprocess, "run", counting_run)
    portable.check_compatible(["packaging==24.1"], ["six==1.16.0"], "3.11", "the host")
    assert len(calls) == 1
    portable.check_compatible(["packaging==24.1"], ["six==1.16.0"], "3.11", "the host")
    assert len(calls) == 1  # remembered
    portable.check_compatible(["packaging==24.1"], ["six==1.16.0"], "3.12", "the host")
    assert len(calls) == 2  # another Python is another question

    for _ in range(2):  # a conflict is resolved (and reported) every time
        with pytest.raises(EnvironmentBuildError, match="cannot be installed beside the host"):
            portable.check_compatible(["six==1.15.0"], ["six==1.16.0"], "3.11", "the host")
    assert len(calls) == 4
