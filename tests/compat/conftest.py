"""Fixtures of the compatibility suite: the oracle venv, the iris model, and server pairs.

A *pair* is azmlinfsrv (the oracle) and dockyard's server, started on the same score.py, in
copies of the same app root, with the same environment variables. Pairs are started on first use
and shared by the whole session (stopped at its end, by process group).

``DOCKYARD_COMPAT_AGAINST=oracle`` runs the suite with a second oracle in dockyard's place: a check
of the harness itself (every comparison must pass, so the ignore list is complete).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_engine

from .compare import Answer, assert_same
from .oracle import OracleUnavailable, ensure_oracle_venv
from .servers import Server, dockyard_server_available, start_server

SCRIPTS = Path(__file__).with_name("scripts")
AGAINST = os.environ.get("DOCKYARD_COMPAT_AGAINST", "dockyard")


@pytest.fixture(scope="session")
def oracle_bin() -> Path:
    try:
        return ensure_oracle_venv()
    except OracleUnavailable as exc:
        require_engine("azmlinfsrv (oracle venv)", str(exc))
        raise  # unreachable: require_engine skips or fails


@pytest.fixture(scope="session")
def second_kind() -> str:
    if AGAINST == "oracle":
        return "oracle"
    if not dockyard_server_available():
        pytest.skip("dockyard.server (python -m dockyard.server) does not exist yet")
    return "dockyard"


def train_iris(target: Path) -> Path:
    """Train the iris LogisticRegression into ``target/model.joblib`` (sklearn ships the data)."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    target.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, target / "model.joblib")
    return target


@pytest.fixture(scope="session")
def iris_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/azureml-models/iris/1`` holding ``model.joblib``, as a single-model deployment."""
    root = tmp_path_factory.mktemp("iris-app")
    return train_iris(root / "azureml-models" / "iris" / "1")


@dataclass
class Pair:
    oracle: Server
    dockyard: Server

    def exchange(self, method: str, path: str, **kwargs: object) -> tuple[Answer, Answer]:
        answers = []
        for server in (self.oracle, self.dockyard):
            response = httpx.request(method, server.base_url + path, timeout=30.0, **kwargs)  # type: ignore[arg-type]
            answers.append(Answer.of(response))
        return answers[0], answers[1]

    def check(self, method: str, path: str, **kwargs: object) -> Answer:
        """Send the same request to both; assert the same answer; return the oracle's."""
        oracle, dockyard = self.exchange(method, path, **kwargs)
        assert_same(oracle, dockyard, f"{method} {path} {kwargs}")
        return oracle

    def stop(self) -> None:
        self.oracle.stop()
        self.dockyard.stop()


def prepare_app_root(
    base: Path, script: str, files: dict[str, str] | None, model_dir: Path | None
) -> tuple[Path, Path]:
    """An app root holding the script (and extra files); returns (app_root, entry_script)."""
    base.mkdir(parents=True)
    entry = base / "score.py"
    shutil.copy(SCRIPTS / f"{script}.py", entry)
    for name, text in (files or {}).items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
    return base, entry


class PairPool:
    def __init__(self, root: Path, second_kind: str, model_dir: Path) -> None:
        self.root = root
        self.second_kind = second_kind
        self.model_dir = model_dir
        self.pairs: dict[tuple[object, ...], Pair] = {}

    def start_one(
        self,
        kind: str,
        script: str,
        *,
        env: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        model: bool = True,
        tag: str = "",
    ) -> Server:
        n = len(list(self.root.iterdir()))
        app_root, entry = prepare_app_root(
            self.root / f"{n:03d}-{kind}-{script}", script, files, None
        )
        return start_server(
            kind,
            entry,
            app_root=app_root,
            log_dir=self.root / "logs",
            model_dir=self.model_dir if model else None,
            env=env,
        )

    def get(
        self,
        script: str,
        *,
        env: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        model: bool = True,
    ) -> Pair:
        key = (
            script,
            tuple(sorted((env or {}).items())),
            tuple(sorted((files or {}).items())),
            model,
        )
        pair = self.pairs.get(key)
        if pair is None or not (pair.oracle.alive() and pair.dockyard.alive()):
            oracle = self.start_one("oracle", script, env=env, files=files, model=model)
            dockyard = self.start_one(self.second_kind, script, env=env, files=files, model=model)
            pair = Pair(oracle, dockyard)
            try:
                oracle.wait_ready()
                dockyard.wait_ready()
            except BaseException:
                pair.stop()
                raise
            self.pairs[key] = pair
        return pair

    def stop_all(self) -> None:
        for pair in self.pairs.values():
            pair.stop()
        self.pairs.clear()


@pytest.fixture(scope="session")
def pool(
    oracle_bin: Path,
    second_kind: str,
    iris_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PairPool]:
    pool = PairPool(tmp_path_factory.mktemp("compat"), second_kind, iris_model_dir)
    yield pool
    pool.stop_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from .open_mismatches import OPEN

    if AGAINST != "dockyard" or not OPEN:
        return
    here = Path(__file__).parent
    for item in items:
        try:
            rel = Path(str(item.path)).relative_to(here).as_posix()
        except ValueError:
            continue
        node = rel + "::" + item.nodeid.split("::", 1)[1]
        mismatch = OPEN.get(node)
        if mismatch:
            item.add_marker(pytest.mark.xfail(reason=f"MISMATCHES.md: {mismatch}", strict=True))
