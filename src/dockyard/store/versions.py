"""Version numbers 1, 2, 3 ... per name, for every kind that has them (models, environments,
images): written once, here.

:func:`allocate` runs one short write transaction that holds the store's lock on the name
(SQLite's write lock taken up front, ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock on
``KIND:NAME``), reads the newest version and lets the caller insert the next one. Concurrent
writers of one name therefore queue and get consecutive numbers, with no gap or duplicate. The
unique constraint on (name, version) is the last line of defence: a writer that still collides
(another process without the lock, a lock lost with its connection) rolls back and tries again
with a fresh number, a bounded number of times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.orm import Session

from dockyard.errors import ConflictError
from dockyard.store.db import Store
from dockyard.store.schema import EnvironmentRow, ImageRow, ModelRow

T = TypeVar("T")
#: The tables whose rows carry (name, version) with a unique constraint on the pair.
VersionedRow = type[ModelRow] | type[EnvironmentRow] | type[ImageRow]
#: How many times a writer that lost the race for a number tries again.
ATTEMPTS = 8


def lock_key(kind: str, name: str) -> str:
    """The key of the store's lock that serializes the writers of ``name`` (``"model:iris"``)."""
    return f"{kind}:{name}"


def latest_version(session: Session, table: VersionedRow, name: str) -> int | None:
    """The newest version of ``name`` in ``table`` (None when it has none)."""
    return session.scalar(select(func.max(table.version)).where(table.name == name))


def allocate(
    store: Store,
    table: VersionedRow,
    kind: str,
    name: str,
    add: Callable[[Session, int], T],
) -> T:
    """Call ``add(session, version)`` with the next version of ``name``, under the name's lock.

    ``add`` inserts the row (and anything that belongs to it) in ``session`` and returns what the
    caller wants back, built before the session closes; it may also return an existing row's
    record instead of inserting. Retries on a duplicate (name, version); raises ConflictError
    after :data:`ATTEMPTS` lost races.
    """
    for attempt in range(ATTEMPTS):
        try:
            with store.session(write=True) as session:
                store.lock(session, lock_key(kind, name))
                result = add(session, (latest_version(session, table, name) or 0) + 1)
                session.flush()
            return result
        except SQLIntegrityError as exc:
            if not is_version_clash(exc, table):
                raise
            time.sleep(0.01 * (attempt + 1))  # another writer took that number: try the next
    raise ConflictError(
        f"Could not add a version of {kind} {name!r}: {ATTEMPTS} attempts lost the race for the "
        "next version number to other processes.",
        hint="retry; if it keeps failing, look for a script that registers in a loop",
    )


def is_version_clash(exc: SQLIntegrityError, table: VersionedRow) -> bool:
    """Did ``exc`` come from the unique (name, version) constraint of ``table``?

    SQLite says ``UNIQUE constraint failed: models.name, models.version``; PostgreSQL names the
    constraint (``uq_models_name_version``).
    """
    text = str(exc.orig or exc)
    name = table.__tablename__
    return f"uq_{name}_name_version" in text or f"{name}.name, {name}.version" in text


__all__ = ["ATTEMPTS", "VersionedRow", "allocate", "is_version_clash", "latest_version", "lock_key"]
