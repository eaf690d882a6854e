"""The first schema: models, model files, environments, images, services, service events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.store.schema import JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _times(*names: str) -> list[sa.Column]:
    return [sa.Column(name, UTCDateTime(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("properties", JSONType, nullable=False),
        sa.Column("framework", sa.String(64), nullable=True),
        sa.Column("framework_version", sa.String(64), nullable=True),
        sa.Column("root", sa.String(1024), nullable=False),
        sa.Column("is_folder", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
    )
    op.create_index("ix_models_name", "models", ["name"])

    op.create_table(
        "model_files",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_files"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name="fk_model_files_model_id_models",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("model_id", "path", name="uq_model_files_model_id_path"),
    )
    op.create_index("ix_model_files_model_id", "model_files", ["model_id"])
    op.create_index("ix_model_files_sha256", "model_files", ["sha256"])

    op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("build_hash", sa.String(128), nullable=False),
        sa.Column("full_hash", sa.String(128), nullable=False),
        sa.Column("spec", JSONType, nullable=False),
        *_times("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_environments"),
        sa.UniqueConstraint("name", "version", name="uq_environments_name_version"),
    )
    op.create_index("ix_environments_name", "environments", ["name"])
    op.create_index("ix_environments_build_hash", "environments", ["build_hash"])
    op.create_index("ix_environments_full_hash", "environments", ["full_hash"])

    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("location", sa.String(1024), nullable=True),
        sa.Column("build_log_path", sa.String(4096), nullable=True),
        sa.Column("model_ids", JSONType, nullable=False),
        sa.Column("environment_build_hash", sa.String(128), nullable=True),
        sa.Column("spec", JSONType, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("properties", JSONType, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.UniqueConstraint("name", "version", name="uq_images_name_version"),
    )
    op.create_index("ix_images_name", "images", ["name"])

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("spec", JSONType, nullable=False),
        sa.Column("runtime", JSONType, nullable=False),
        sa.Column("model_ids", JSONType, nullable=False),
        sa.Column("restart_count", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", JSONType, nullable=False),
        sa.Column("properties", JSONType, nullable=False),
        *_times("created_at", "updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("name", name="uq_services_name"),
    )

    op.create_table(
        "service_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        *_times("at"),
        sa.PrimaryKeyConstraint("id", name="pk_service_events"),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name="fk_service_events_service_id_services",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_service_events_service_id", "service_events", ["service_id"])


def downgrade() -> None:
    for table in ("service_events", "services", "images", "environments", "model_files", "models"):
        op.drop_table(table)
