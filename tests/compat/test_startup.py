"""Start-up failures: a bad run() signature, missing init/run, a failing import, a failing init().

Both servers must exit with code 3 and log the same key lines (the user's traceback, the
message naming the problem, and for init() failures a listing of the model directory).
"""

from __future__ import annotations

import re

import pytest

from .compare import assert_same
from .startup_requests import EARLY_REQUESTS, answers_sent_at_port_open

pytestmark = [pytest.mark.oracle, pytest.mark.slow]

CASES: dict[str, list[str | re.Pattern[str]]] = {
    "star_args": ["run() cannot accept positional-only arguments, *args, or **kwargs."],
    "no_init": ["does not have a init() function defined."],
    "no_run": ["does not have a run() function defined."],
    "import_error": [
        "Traceback (most recent call last):",
        "ModuleNotFoundError: No module named 'this_module_does_not_exist'",
    ],
    "init_error": [
        "User's init function failed",
        "Traceback (most recent call last):",
        'in init\n    with open(path, "rb") as f:',
        "FileNotFoundError: [Errno 2] No such file or directory: '{model_dir}/missing-model.pkl'",
        "Model Directory Contents:",
        # the tree of AZUREML_MODEL_DIR: one line per entry, 4 spaces per level
        re.compile(r"(^|\s)1/$", re.M),
        re.compile(r"\S\s{5}model\.joblib$", re.M),
    ],
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_failing_start_exits_3_with_the_key_log_lines(pool, iris_model_dir, script: str) -> None:
    kinds = ("oracle", pool.second_kind)
    servers = [pool.start_one(kind, script) for kind in kinds]
    try:
        codes = [server.wait_exit(timeout=90) for server in servers]
    finally:
        for server in servers:
            server.stop()
    logs = [server.log() for server in servers]
    assert codes == [3, 3], f"exit codes oracle={codes[0]} {kinds[1]}={codes[1]}\n{logs[1][-3000:]}"
    for line in CASES[script]:
        if isinstance(line, str):
            line = re.compile(re.escape(line.format(model_dir=iris_model_dir)))
        assert line.search(logs[0]), f"key line not in the oracle's log: {line.pattern!r}"
        assert line.search(logs[1]), (
            f"key line missing from {kinds[1]}'s log: {line.pattern!r}\n{logs[1][-3000:]}"
        )


def test_requests_sent_during_init_get_the_oracle_answers(pool) -> None:
    """One worker: every request sent the moment the port opens gets the oracle's answer."""
    compare_early_answers(pool, workers=None)


def compare_early_answers(pool, workers: int | None) -> None:  # type: ignore[no-untyped-def]
    env = {"WORKER_COUNT": str(workers)} if workers else None
    answers = []
    for kind in ("oracle", pool.second_kind):
        server = pool.start_one(kind, "slow_init", env=env, model=False)
        try:
            answers.append(answers_sent_at_port_open(server))
        finally:
            server.stop()
    for (method, path, _), oracle, dockyard in zip(EARLY_REQUESTS, *answers, strict=True):
        assert oracle.status != 503, f"oracle answered {method} {path} with 503"
        assert_same(oracle, dockyard, f"{method} {path} sent while init() runs")
