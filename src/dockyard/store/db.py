"""The metadata database: engine, sessions and schema upgrades.

SQLite (the default, ``<workspace>/metadata.db``) runs in WAL mode with a busy timeout, so that
several processes (the CLI, a notebook, a service supervisor) can use one workspace at once.
A PostgreSQL URL (``postgresql://...``; the ``psycopg`` 3 driver is used) puts the metadata on a
server instead; each workspace then lives in its own PostgreSQL schema, so one database can hold
several workspaces.

Opening a store upgrades its schema with Alembic when it is older than this dockyard (never by
recreating it) and refuses a schema newer than this dockyard knows.

Writers that read-then-write (assigning the next version number) use ``session(write=True)``:
SQLite then starts the transaction with ``BEGIN IMMEDIATE`` (taking the write lock up front, so two
writers queue instead of failing), and PostgreSQL callers take an advisory lock
(:meth:`Store.lock`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dockyard.errors import EngineUnavailableError, IntegrityError
from dockyard.store.migrations import HEAD

log = logging.getLogger(__name__)

#: Seconds a SQLite writer waits for another writer before giving up.
BUSY_TIMEOUT_S = 60.0
_MIGRATIONS = Path(__file__).with_name("migrations")
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere
        return "<unparseable database URL>"


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Store:
    """Access to one workspace's metadata database.

    ``Store.open(url, schema=None)`` connects, upgrades the schema when needed and returns the
    store; ``store.session()`` is the way to read and write.
    """

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        self._immediate = engine.execution_options(dockyard_immediate=True)
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._immediate, expire_on_commit=False)

    # --- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, schema: str | None = None, upgrade: bool = True) -> Store:
        """Connect to ``url`` (a SQLAlchemy URL) and bring its schema up to date.

        ``schema`` (PostgreSQL only) names the PostgreSQL schema that holds this workspace.
        """
        url = normalize_url(url)
        dialect = make_url(url).get_backend_name()
        if dialect == "sqlite":
            engine = _sqlite_engine(url)
            schema = None
        elif dialect == "postgresql":
            engine = _postgres_engine(url, schema)
        else:
            raise EngineUnavailableError(
                f"Unsupported database URL {redact(url)!r}: dockyard stores metadata in SQLite or PostgreSQL.",
                hint="Use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB.",
            )
        store = cls(engine, schema=schema)
        if upgrade:
            store.upgrade()
        return store

    def dispose(self) -> None:
        """Close every pooled connection (call before forking or when done)."""
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # --- sessions ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises.

        ``write=True`` takes SQLite's write lock at the start of the transaction: use it for
        read-then-write work (next version numbers) so that concurrent writers queue.
        """
        factory = self._write_sessions if write else self._sessions
        session = factory()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise EngineUnavailableError(
                f"The metadata database failed: {exc.orig or exc}",
                hint="If another dockyard process holds a long write lock, retry; else check the database URL and server.",
            ) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def lock(self, session: Session, key: str) -> None:
        """Serialize writers on ``key`` until the transaction ends (PostgreSQL advisory lock).

        On SQLite ``session(write=True)`` already holds the database's write lock.
        """
        if self.dialect == "postgresql":
            digest = hashlib.sha256(f"{self.schema}:{key}".encode()).digest()
            number = int.from_bytes(digest[:8], "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})

    # --- schema -----------------------------------------------------------------------------
    def current_revision(self) -> str | None:
        """The schema revision stored in the database (None for an empty database)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                if inspect(conn).has_table("models"):
                    raise IntegrityError(
                        "The metadata database has dockyard tables but no schema revision "
                        "(alembic_version is missing), so dockyard cannot tell how to upgrade it.",
                        hint="Restore the database from a backup, or ask for help with a manual upgrade.",
                    )
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return row[0] if row else None

    def upgrade(self) -> None:
        """Apply missing migrations. Never drops data; refuses a schema newer than this code."""
        current = self.current_revision()
        if current == HEAD:
            return
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        if current is not None and current not in known:
            raise IntegrityError(
                f"The metadata database has schema revision {current!r}, which this dockyard does not "
                "know: it was written by a newer dockyard.",
                hint="Upgrade dockyard (pip install -U dockyard) instead of using an older version.",
            )
        from alembic import command

        # SQLite: BEGIN IMMEDIATE, so that a second process opening the same new workspace waits
        # for the first one's migration and then finds the schema current.
        with self._immediate.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(8245001)"))
            config.attributes["connection"] = conn
            log.info("upgrading the metadata schema from %s to %s", current or "empty", HEAD)
            command.upgrade(config, "head")


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("dockyard_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: str, schema: str | None) -> Engine:
    if schema is not None and not _SCHEMA_RE.match(schema):
        raise EngineUnavailableError(
            f"Invalid PostgreSQL schema name {schema!r}: use lowercase letters, digits and '_', at most 63.",
        )
    connect_args: dict[str, Any] = {"connect_timeout": 10}
    if schema:
        connect_args["options"] = f"-c search_path={schema}"
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            if schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    except OperationalError as exc:
        engine.dispose()
        raise EngineUnavailableError(
            f"Cannot reach the PostgreSQL server at {redact(url)}: {exc.orig or exc}",
            hint="Start the server or fix database_url / DOCKYARD_DATABASE_URL.",
        ) from exc
    except DBAPIError:
        # Two processes creating the same schema at once collide on pg_namespace: the loser
        # finds the schema there now; anything else is re-raised.
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            ).first()
        if not found:
            engine.dispose()
            raise
    return engine


__all__ = ["BUSY_TIMEOUT_S", "Store", "normalize_url", "redact"]
