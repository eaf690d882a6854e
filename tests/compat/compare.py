"""What counts as "the same answer" for the compatibility suite.

Status code, body bytes and every header are compared, except:

* ``IGNORED_HEADERS``: set by the HTTP stack, not by the scoring logic (the date, the server's
  name, and connection management: gunicorn's sync workers close every connection, an ASGI server
  keeps it alive).
* ``PRESENCE_ONLY_HEADERS``: must be present on the same responses, but their values are a version
  or a measured time.
* Request ids the server generates (uuid4) compare as ``<generated-uuid>``; ids the client sends
  are compared as they are.
* ``Allow`` compares as a set of methods: Flask builds it from a Python set, so its order changes
  from one oracle process to the next.

The reason phrase ("METHOD NOT ALLOWED" vs "Method Not Allowed") is not compared: HTTP/1.1 clients
must ignore it, and it is not in HTTP/2.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx

IGNORED_HEADERS = frozenset({"date", "server", "connection", "keep-alive"})
PRESENCE_ONLY_HEADERS = frozenset({"x-ms-server-version", "x-ms-run-fn-exec-ms"})
REQUEST_ID_HEADERS = frozenset({"x-request-id", "x-ms-request-id", "x-ms-client-request-id"})

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_EXEC_MS = re.compile(r"^\d+\.\d{3}$")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]  # lower-cased names, in the order received
    body: bytes

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        return cls(response.status_code, tuple(response.headers.multi_items()), response.content)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return ", ".join(values) if values else None

    def json(self) -> object:
        return json.loads(self.body)

    def normalised(self) -> dict[str, object]:
        headers = []
        for name, value in self.headers:
            if name in IGNORED_HEADERS:
                continue
            if name in PRESENCE_ONLY_HEADERS:
                value = "<present>"
            elif name in REQUEST_ID_HEADERS and _UUID.match(value):
                value = "<generated-uuid>"
            elif name == "allow":
                value = ", ".join(sorted(m.strip().upper() for m in value.split(",")))
            headers.append((name, value))
        return {"status": self.status, "headers": sorted(headers), "body": self.body}

    def check_formats(self) -> None:
        """Invariants of one answer on its own (both servers must satisfy them)."""
        exec_ms = self.header("x-ms-run-fn-exec-ms")
        if exec_ms is not None:
            assert _EXEC_MS.match(exec_ms), f"x-ms-run-fn-exec-ms {exec_ms!r} is not N.NNN"


def describe(answer: Answer) -> str:
    lines = [f"  status {answer.status}"]
    lines += [f"  {k}: {v}" for k, v in answer.headers]
    body = answer.body if len(answer.body) < 2000 else answer.body[:2000] + b"..."
    lines.append(f"  body {body!r}")
    return "\n".join(lines)


def assert_same(oracle: Answer, dockyard: Answer, context: str = "") -> None:
    oracle.check_formats()
    dockyard.check_formats()
    expected, actual = oracle.normalised(), dockyard.normalised()
    if expected == actual:
        return
    differences = []
    for key in ("status", "body"):
        if expected[key] != actual[key]:
            differences.append(f"{key}: oracle {expected[key]!r} != dockyard {actual[key]!r}")
    if expected["headers"] != actual["headers"]:
        exp_h, act_h = expected["headers"], actual["headers"]
        assert isinstance(exp_h, list) and isinstance(act_h, list)
        only_oracle = [h for h in exp_h if h not in act_h]
        only_dockyard = [h for h in act_h if h not in exp_h]
        differences.append(f"headers only in oracle: {only_oracle}")
        differences.append(f"headers only in dockyard: {only_dockyard}")
    raise AssertionError(
        f"{context}\n"
        + "\n".join(differences)
        + f"\noracle:\n{describe(oracle)}\ndockyard:\n{describe(dockyard)}"
    )
