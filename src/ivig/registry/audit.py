"""The append-only, keyed, hash-chained audit log that covers every table.

Every change the registry makes writes one entry in the same transaction: sequence number,
UTC time, actor, action, entity and id, a canonical JSON payload of what changed, and ``rows``:
the SHA-256 of every row of a covered table that the step inserted, changed or deleted (rows
are tracked by a session hook, so no step can forget one; a change made after a step's entry
gets an ``update_rows`` entry at commit). Each entry's hash is HMAC-SHA256, with a key kept
outside the database (:mod:`ivig.registry.audit_key`), over its fields and the previous
entry's hash: editing, inserting, deleting or re-chaining an entry without the key breaks the
chain. The head (newest sequence and hash) is also kept in ``audit_head``, so a deleted tail
shows; verification (:mod:`ivig.registry.audit_verify`) also compares every covered table with
the latest digest the chain recorded for each row, so a row changed, inserted or deleted behind
the registry's back is reported.

Writers are serialised on the chain head (PostgreSQL: a transaction-level advisory lock;
SQLite: ``BEGIN IMMEDIATE``), and ``seq`` is unique. The database refuses UPDATE and DELETE on
the table (triggers; on SQLite with ``recursive_triggers`` so ``INSERT OR REPLACE`` is refused
too; on PostgreSQL the table belongs to a role the application does not hold — see
docs/registry.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import Float, event, inspect, select, text
from sqlalchemy.orm import Session

from ivig.registry.audit_key import audit_key
from ivig.registry.models import (
    AuditEntry,
    AuditHead,
    Base,
    SignInAttempt,
    WebSession,
    utc_now,
)

__all__ = [
    "GENESIS_HASH",
    "UNCOVERED_TABLES",
    "append_audit",
    "canonical_json",
    "covered_models",
    "entry_hash",
    "list_audit",
    "row_digest",
    "sha256_json",
    "verify_audit",
]

GENESIS_HASH = "0" * 64
#: key of the PostgreSQL advisory lock that serialises writers of the chain
_ADVISORY_LOCK_KEY = 0x49564947  # "IVIG"
#: tables the chain does not cover: itself, its head, and short-lived sign-in state
UNCOVERED_TABLES = frozenset(
    {
        AuditEntry.__tablename__,
        AuditHead.__tablename__,
        WebSession.__tablename__,
        SignInAttempt.__tablename__,
    }
)
_TOUCHED = "ivig_audit_touched"
_ACTOR = "ivig_audit_actor"


def canonical_json(obj: Any) -> str:
    """``obj`` as canonical JSON (sorted keys, no spaces; dates as ISO strings)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_json(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    payload: str,
    prev_hash: str,
    rows: str | None = None,
    *,
    key: bytes | None = None,
) -> str:
    """The keyed hash (HMAC-SHA256) of one audit entry and the previous entry's hash."""
    body = canonical_json([seq, at, actor, action, entity, entity_id, payload, prev_hash, rows])
    return hmac.new(key or audit_key(), body.encode("utf-8"), hashlib.sha256).hexdigest()


def covered_models() -> list[type[Any]]:
    """Every ORM model whose rows the chain covers, in table order."""
    return sorted(
        (m.class_ for m in Base.registry.mappers if m.class_.__tablename__ not in UNCOVERED_TABLES),
        key=lambda cls: str(cls.__tablename__),
    )


def _normal(value: Any, is_float: bool) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def row_digest(obj: object) -> str:
    """SHA-256 of a row's columns (normalised so the same row gives the same digest on reload)."""
    mapper = inspect(obj).mapper
    values = {
        attr.key: _normal(getattr(obj, attr.key), isinstance(attr.columns[0].type, Float))
        for attr in mapper.column_attrs
    }
    return sha256_json(values)


def _row_key(obj: object) -> str | None:
    table = getattr(obj, "__tablename__", None)
    if table is None or table in UNCOVERED_TABLES:
        return None
    ident = inspect(obj).mapper.primary_key_from_instance(obj)
    return f"{table}:{ident[0]}" if ident and ident[0] is not None else None


@event.listens_for(Session, "after_flush")
def _track_rows(session: Session, _context: Any) -> None:
    touched: dict[str, object | None] = session.info.setdefault(_TOUCHED, {})
    for obj in list(session.new) + [o for o in session.dirty if session.is_modified(o)]:
        key = _row_key(obj)
        if key is not None:
            touched[key] = obj
    for obj in session.deleted:
        key = _row_key(obj)
        if key is not None:
            touched[key] = None


@event.listens_for(Session, "before_commit")
def _audit_untracked(session: Session) -> None:
    session.flush()
    if session.info.get(_TOUCHED):
        append_audit(
            session,
            actor=str(session.info.get(_ACTOR, "system")),
            action="update_rows",
            entity="rows",
            entity_id=None,
            payload={},
        )
        session.flush()


@event.listens_for(Session, "after_rollback")
def _forget_rows(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def _take_rows(session: Session) -> str | None:
    touched: dict[str, object | None] = session.info.pop(_TOUCHED, {})
    if not touched:
        return None
    return canonical_json(
        {key: (row_digest(obj) if obj is not None else None) for key, obj in touched.items()}
    )


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


def _move_head(session: Session, seq: int, head: str) -> None:
    row = session.get(AuditHead, 1)
    if row is None:
        session.add(AuditHead(id=1, seq=seq, hash=head))
    else:
        row.seq, row.hash = seq, head


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    payload: Any,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction and flush it."""
    session.flush()
    _lock_chain(session)
    rows = _take_rows(session)
    session.info[_ACTOR] = actor
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS_HASH
    at = utc_now().isoformat(timespec="microseconds")
    body = canonical_json(payload)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        payload=body,
        prev_hash=prev_hash,
        rows=rows,
        hash=entry_hash(seq, at, actor, action, entity, entity_id, body, prev_hash, rows),
    )
    session.add(entry)
    _move_head(session, seq, entry.hash)
    session.flush()
    session.info.pop(_TOUCHED, None)
    return entry


def verify_audit(session: Session, *, full: bool = True, batch_size: int = 5000) -> dict[str, Any]:
    """Verify the chain, its head and the covered tables (see :mod:`ivig.registry.audit_verify`)."""
    from ivig.registry.audit_verify import verify_chain

    return verify_chain(session, full=full, batch_size=batch_size)


def list_audit(
    session: Session,
    *,
    limit: int = 100,
    entity: str | None = None,
    entity_id: int | None = None,
    before_seq: int | None = None,
) -> list[dict[str, Any]]:
    """The newest audit entries first, optionally for one entity (and id), before a seq."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    return [
        {
            "seq": e.seq,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "payload": json.loads(e.payload),
            "hash": e.hash,
        }
        for e in session.execute(query).scalars()
    ]


def save_audited(
    session: Session, row: Any, *, actor: str, action: str, entity: str
) -> dict[str, Any]:
    """Flush ``row``, append its audit entry (payload: its columns) and return those columns."""
    from ivig.registry._rows import row_out

    session.add(row)
    session.flush()
    out: dict[str, Any] = row_out(row)
    append_audit(session, actor=actor, action=action, entity=entity, entity_id=row.id, payload=out)
    return out
