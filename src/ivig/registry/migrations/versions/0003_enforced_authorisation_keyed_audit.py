"""Enforced authorisations, a keyed audit chain that covers every table, server-side sessions.

Adds the substitution and override columns of courses and infusions, the row digests of audit
entries, the audit head, web sessions, failed sign-ins and the CDS feedback key. The existing
chain is verified with its old (unkeyed SHA-256) hashes, then re-signed with the audit key
(``IVIG_AUDIT_KEY`` / ``IVIG_AUDIT_KEY_FILE``); a chain that does not verify stops the
migration. A baseline entry then records the digest of every existing row. On PostgreSQL the
audit tables are handed to the role ``ivig_audit_owner`` and the role ``ivig_app`` gets only
what the application needs (see docs/registry.md), when the migrating user may create roles.

Revision ID: 0003
Revises: 0002 (after the IgG levels table, which its baseline covers; before that 0004)
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"  # after 0002 (igg_levels): its baseline reads every covered table
branch_labels = None
depends_on = None

_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
]
_SQLITE_CREATE = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_PG_ROLES = """
DO $$
BEGIN
  IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ivig_audit_owner') THEN
      CREATE ROLE ivig_audit_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ivig_app') THEN
      CREATE ROLE ivig_app NOLOGIN;
    END IF;
    EXECUTE 'GRANT ivig_audit_owner TO ' || quote_ident(current_user);
    ALTER TABLE audit_log OWNER TO ivig_audit_owner;
    ALTER FUNCTION audit_log_append_only() OWNER TO ivig_audit_owner;
    GRANT USAGE ON SCHEMA public TO ivig_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ivig_app;
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ivig_app;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ivig_app;
  END IF;
END $$;
"""


def _add_columns() -> None:
    op.add_column("courses", sa.Column("substitution_reason", sa.Text(), nullable=True))
    for name in ("substitution_reason", "override_reason"):
        op.add_column("infusions", sa.Column(name, sa.Text(), nullable=True))
    op.add_column("infusions", sa.Column("over_runs", sa.JSON(), nullable=True))
    op.add_column("audit_log", sa.Column("rows", sa.Text(), nullable=True))
    op.add_column("cds_feedback", sa.Column("feedback_key", sa.String(length=64), nullable=True))
    op.create_index("uq_cds_feedback_feedback_key", "cds_feedback", ["feedback_key"], unique=True)


def _create_tables() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("api_token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["api_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_web_sessions_api_token_id_api_tokens"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index("ix_sign_in_failures_username", "sign_in_failures", ["username"])
    op.create_index("ix_sign_in_failures_at", "sign_in_failures", ["at"])


def _old_hash(row: Any) -> str:
    fields = [
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.entity,
        row.entity_id,
        row.payload,
        row.prev_hash,
    ]
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rekey(conn: sa.Connection) -> tuple[int, str]:
    """Verify the unkeyed chain, re-sign it with the key; return the new head."""
    from ivig.registry.audit import GENESIS_HASH, entry_hash

    rows = conn.execute(
        sa.text(
            "SELECT id, seq, at, actor, action, entity, entity_id, payload, prev_hash, hash "
            "FROM audit_log ORDER BY seq"
        )
    ).all()
    prev_old, prev_new, expected = GENESIS_HASH, GENESIS_HASH, 1
    updates: list[dict[str, Any]] = []
    for row in rows:
        if row.seq != expected or row.prev_hash != prev_old or row.hash != _old_hash(row):
            raise RuntimeError(
                f"audit entry {row.seq} does not verify; fix or restore the database before "
                "migrating (ivig db verify-audit)"
            )
        new = entry_hash(
            row.seq, row.at, row.actor, row.action, row.entity, row.entity_id, row.payload, prev_new
        )
        updates.append({"id": row.id, "prev": prev_new, "hash": new})
        prev_old, prev_new, expected = row.hash, new, expected + 1
    for update in updates:
        conn.execute(
            sa.text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE id = :id"), update
        )
    return expected - 1, prev_new


def _baseline(conn: sa.Connection) -> None:
    """Re-sign the existing chain and record every existing row in a baseline entry."""
    from sqlalchemy.orm import Session

    from ivig.registry.audit import append_audit, covered_models
    from ivig.registry.models import AuditHead

    dialect = conn.dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DROP:
            conn.execute(sa.text(statement))
    elif dialect == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
    seq, head = _rekey(conn)
    if dialect == "sqlite":
        for statement in _SQLITE_CREATE:
            conn.execute(sa.text(statement))
    elif dialect == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change"))
    if seq == 0:
        return
    session = Session(bind=conn)
    session.add(AuditHead(id=1, seq=seq, hash=head))
    touched = {}
    for model in covered_models():
        for row in session.scalars(sa.select(model)):
            touched[f"{model.__tablename__}:{row.id}"] = row
    session.info["ivig_audit_touched"] = touched
    append_audit(
        session,
        actor="system",
        action="baseline_rows",
        entity="rows",
        entity_id=None,
        payload={"migration": revision, "rows": len(touched)},
    )
    session.flush()
    session.close()


def upgrade() -> None:
    _add_columns()
    _create_tables()
    conn = op.get_bind()
    _baseline(conn)
    if conn.dialect.name == "postgresql":
        op.execute(_PG_ROLES)


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("web_sessions")
    op.drop_table("audit_head")
    op.drop_index("uq_cds_feedback_feedback_key", table_name="cds_feedback")
    with op.batch_alter_table("cds_feedback") as batch:
        batch.drop_column("feedback_key")
    with op.batch_alter_table("infusions") as batch:
        for name in ("over_runs", "override_reason", "substitution_reason"):
            batch.drop_column(name)
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("substitution_reason")
