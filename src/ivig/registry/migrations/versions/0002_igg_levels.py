"""Measured serum IgG levels of a course (trough, peak, baseline, random).

Revision ID: 0002
Revises: 0004 (written against 0001; placed before 0003, whose baseline reads every table)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0004"  # linearised after the merge with main: 0001 -> 0004 -> 0002 -> 0003
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "igg_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("igg_g_per_l", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_igg_levels_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_igg_levels_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_igg_levels")),
    )
    with op.batch_alter_table("igg_levels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_igg_levels_course_id"), ["course_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("igg_levels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_igg_levels_course_id"))
    op.drop_table("igg_levels")
