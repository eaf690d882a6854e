"""The workspace's metadata tables (SQLAlchemy 2 ORM).

One module holds every table so that a newcomer sees the whole schema at once. Changing a table
here is not enough: add an Alembic migration under ``store/migrations/versions/`` too (the test
``test_migrations_match_the_orm`` fails until both agree).

Conventions:

* Times are timezone-aware UTC (:class:`UTCDateTime` restores the zone SQLite drops).
* JSON columns hold plain dicts and lists (JSONB on PostgreSQL).
* ``model_ids`` columns (images, services) hold Azure-style model ids, ``"name:version"`` strings;
  ``Model.delete()`` looks for its id there before deleting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Constraint names are fixed so that migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it without the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        datetime: UTCDateTime(),
    }


# --- models -------------------------------------------------------------------------------------
class ModelRow(Base):
    """One registered model version. ``root`` is the registered file's or folder's own name."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_models_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    framework: Mapped[str | None] = mapped_column(String(64), default=None)
    framework_version: Mapped[str | None] = mapped_column(String(64), default=None)
    #: Name of the registered file or folder ("model.pkl", "outputs"): the top of the tree.
    root: Mapped[str] = mapped_column(String(1024))
    is_folder: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    files: Mapped[list[ModelFileRow]] = relationship(
        back_populates="model",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ModelFileRow.path",
    )


class ModelFileRow(Base):
    """One file of a model version: its path relative to the model's parent folder, and its blob."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("model_id", "path", name="uq_model_files_model_id_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    #: POSIX path starting with the model's ``root`` ("outputs/sub/weights.bin").
    path: Mapped[str] = mapped_column(String(4096))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)

    model: Mapped[ModelRow] = relationship(back_populates="files")


# --- environments (written by assets/environment.py) --------------------------------------------
class EnvironmentRow(Base):
    """One registered environment version; ``spec`` is the serialized Environment."""

    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_environments_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    build_hash: Mapped[str] = mapped_column(String(128), index=True)
    full_hash: Mapped[str] = mapped_column(String(128), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- images -------------------------------------------------------------------------------------
class ImageRow(Base):
    """One image version: its build state, where it was pushed and where its build log is."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_images_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32), default="NotStarted")
    location: Mapped[str | None] = mapped_column(String(1024), default=None)
    build_log_path: Mapped[str | None] = mapped_column(String(4096), default=None)
    #: Azure-style model ids, "name:version".
    model_ids: Mapped[list[Any]] = mapped_column(default=list)
    environment_build_hash: Mapped[str | None] = mapped_column(String(128), default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- services -----------------------------------------------------------------------------------
class ServiceRow(Base):
    """One web service: its target, state, deployment spec and runtime facts (pids, ports...)."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: "local", "docker" or "cluster".
    target: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), default="Transitioning")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    runtime: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Azure-style model ids, "name:version".
    model_ids: Mapped[list[Any]] = mapped_column(default=list)
    restart_count: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[ServiceEventRow]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ServiceEventRow.id",
    )


class ServiceEventRow(Base):
    """One entry of a service's state history (every state change is recorded)."""

    __tablename__ = "service_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text, default=None)

    service: Mapped[ServiceRow] = relationship(back_populates="events")


# --- compute targets ----------------------------------------------------------------------------
class ComputeRow(Base):
    """One compute target (a Ray cluster): created (dockyard started it and stops it on delete) or
    attached (an address dockyard only uses). ``details`` holds the rest (default, errors, the
    local cluster's facts)."""

    __tablename__ = "computes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: "ray".
    kind: Mapped[str] = mapped_column(String(16))
    #: "created" or "attached".
    provisioning: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(1024), default=None)
    serve_port: Mapped[int | None] = mapped_column(Integer, default=None)
    #: The folder of a created cluster (its cluster.json and logs); None when attached.
    folder: Mapped[str | None] = mapped_column(String(4096), default=None)
    state: Mapped[str] = mapped_column(String(32), default="Creating")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


__all__ = [
    "Base",
    "ComputeRow",
    "EnvironmentRow",
    "ImageRow",
    "ModelFileRow",
    "ModelRow",
    "ServiceEventRow",
    "ServiceRow",
    "UTCDateTime",
    "utcnow",
]
