"""The NAT switch of the Docker target is idempotent: exactly one REDIRECT rule in the holder's
namespace, however often ``redirect`` runs (start, start again, update), none for port 5001."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.targets import _docker_parts


class _Chain:
    """A fake ``iptables -t nat`` PREROUTING chain (the commands redirect() runs)."""

    def __init__(self, rules: list[str]) -> None:
        self.rules = list(rules)
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> str:
        self.commands.append(command)
        action, *rest = command[1:]
        if action == "-S":
            return "-P PREROUTING ACCEPT\n" + "".join(f"-A PREROUTING {r}\n" for r in self.rules)
        rule = " ".join(x if x != "--dport" else "-m tcp --dport" for x in rest[1:])
        if action == "-A":
            self.rules.append(rule)
        elif action == "-R":
            self.rules[int(rest[1]) - 1] = " ".join(rest[2:]).replace("--dport", "-m tcp --dport")
        elif action == "-D":
            del self.rules[int(rest[1]) - 1]
        return ""


def _rule(port: int) -> str:
    return f"-p tcp -m tcp --dport 5001 -j REDIRECT --to-ports {port}"


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> _Chain:
    fake = _Chain([])
    monkeypatch.setattr(_docker_parts, "_nat", lambda client, holder: ["nat"])
    monkeypatch.setattr(_docker_parts, "_iptables", lambda command: fake(command))
    return fake


def test_repeated_redirects_leave_one_rule(chain: Any) -> None:
    for _ in range(3):
        assert _docker_parts.redirect(None, "holder", 5002)
    assert chain.rules == [_rule(5002)]
    writes = [c for c in chain.commands if c[1] != "-S"]
    assert len(writes) == 1  # the second and third calls changed nothing


def test_a_switch_replaces_the_rule_and_drops_duplicates(chain: Any) -> None:
    chain.rules = [_rule(5002), _rule(5002), _rule(5003)]  # what repeated starts used to leave
    assert _docker_parts.redirect(None, "holder", 5003)
    assert chain.rules == [_rule(5003)]
    assert _docker_parts.redirect(None, "holder", 5001)  # back on the published port: no rule
    assert chain.rules == []
