"""The JWT replay cache shared by every worker: one row per accepted ``(iss, jti)``.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-01

``key`` is the hex SHA-256 of issuer and ``jti`` (see :mod:`ivig.service.replay`);
``expires_at`` is the token's expiry (seconds since the epoch, leeway included), indexed so that
expired rows are deleted cheaply.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jwt_replay",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_jwt_replay"),
    )
    op.create_index("ix_jwt_replay_expires_at", "jwt_replay", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_jwt_replay_expires_at", table_name="jwt_replay")
    op.drop_table("jwt_replay")
