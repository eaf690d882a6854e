"""A throwaway PostgreSQL 15 server for the registry tests, and the ``db_url`` parameter.

The server runs as the ``postgres`` user (its binaries refuse root), from a data folder in a
temporary directory, listening on 127.0.0.1 on a free port. It starts once per test session and
is stopped by its PID at the end. Each test gets a fresh database. When PostgreSQL cannot start,
``require_engine`` skips the PostgreSQL variants locally and fails them under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import require_engine

PG_BIN = Path(os.environ.get("DOCKYARD_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass
class PgServer:
    port: int
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres() -> dict[str, object]:
    """subprocess arguments that run a child as the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def start_postgres() -> PgServer:
    """Start a PostgreSQL server; raise RuntimeError (with its log) when it cannot start."""
    for tool in ("initdb", "postgres"):
        if not (PG_BIN / tool).is_file():
            raise RuntimeError(f"{PG_BIN / tool} is missing (install postgresql-15)")
    folder = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
    data, sockets, log = folder / "data", folder / "sock", folder / "postgres.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    init = subprocess.run(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
         "--no-sync", "--no-instructions"],
        capture_output=True, text=True, cwd=folder, **_as_postgres(),  # type: ignore[call-overload]
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.strip()[-2000:]}")
    port = _free_port()
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
             "-k", str(sockets), "-c", "fsync=off", "-c", "max_connections=100"],
            stdout=log_file, stderr=subprocess.STDOUT, cwd=folder, **_as_postgres(),  # type: ignore[call-overload]
        )  # fmt: skip
    server = PgServer(port=port, process=process, folder=folder, log=log)
    deadline = time.monotonic() + 60
    import psycopg

    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
            return server
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                text = log.read_text(errors="replace")[-2000:]
                shutil.rmtree(folder, ignore_errors=True)
                raise RuntimeError(f"postgres did not start: {text}") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer | str]:
    """The session's PostgreSQL server, or the reason it could not start."""
    try:
        server = start_postgres()
    except (RuntimeError, OSError) as exc:
        yield str(exc)
        return
    try:
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: PgServer | str) -> str:
    if isinstance(postgres_server, str):
        require_engine("postgresql", postgres_server)
    assert isinstance(postgres_server, PgServer)
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None (the default SQLite) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))
