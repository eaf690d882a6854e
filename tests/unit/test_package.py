"""The package's public surface and its import-weight promise."""

from __future__ import annotations

import subprocess
import sys

import dockyard

HEAVY = ("sqlalchemy", "docker", "ray", "typer", "rich", "alembic", "pydantic")


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert dockyard.__all__ == sorted(dockyard.__all__)
    for name in dockyard.__all__:
        assert getattr(dockyard, name) is not None, name


def test_importing_the_server_pulls_in_no_sdk_modules() -> None:
    code = (
        "import sys, dockyard.server, dockyard.server.app\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"dockyard.server imported: {out.stdout.strip()}"


def test_unknown_attribute_is_a_clear_attribute_error() -> None:
    try:
        dockyard.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
