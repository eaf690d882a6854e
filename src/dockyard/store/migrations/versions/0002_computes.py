"""Compute targets: the ``computes`` table (Ray clusters created or attached).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dockyard.store.schema import JSONType, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "computes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("provisioning", sa.String(16), nullable=False),
        sa.Column("address", sa.String(1024), nullable=True),
        sa.Column("serve_port", sa.Integer(), nullable=True),
        sa.Column("folder", sa.String(4096), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_computes"),
        sa.UniqueConstraint("name", name="uq_computes_name"),
    )


def downgrade() -> None:
    op.drop_table("computes")
