"""Tests that fail today because of an open entry of MISMATCHES.md, by node id (relative to
tests/compat/). conftest.py marks each ``xfail(reason="MISMATCHES.md: <id>", strict=True)``,
so main stays green and a fix shows up as an XPASS failure: then delete the line here and move the
entry to "fixed" in MISMATCHES.md.
"""

OPEN: dict[str, str] = {}
