"""Real scoring-server processes for the metrics tests (the server tests' launcher), and a parser
of the Prometheus text format good enough to assert exact values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ray.conftest import ray_cluster  # noqa: F401 - the cluster tests' fixture
from tests.integration.server.conftest import Server, launch

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(name, labels): value}`` of every sample line (comments checked for shape)."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(_LABEL.findall(match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    """Start servers for a test; every one is stopped (by PID) when the test ends."""
    started: list[Server] = []

    def start(script: str | None = None, **kwargs: object) -> Server:
        server = launch(tmp_path / f"app{len(started) + 1}", script, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
