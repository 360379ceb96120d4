"""The append-only, hash-chained audit log.

Every change the registry makes writes one entry in the same transaction: sequence number,
UTC time, actor, action, entity and id, and a canonical JSON payload of what changed. Each entry's
hash is SHA-256 over its fields and the previous entry's hash, so editing, deleting or inserting
an entry breaks the chain; :func:`verify_audit` walks it and also checks every stored decision
against the hash of its recommendation. Writers are serialised on the chain head (PostgreSQL: a
transaction-level advisory lock; SQLite: ``BEGIN IMMEDIATE``), and ``seq`` is unique, so two
writers can never both extend the same head. The database refuses UPDATE and DELETE on the table
(triggers installed by the migration).

Limit: truncating the newest entries leaves a valid, shorter chain. Keep the head hash printed by
``ivig db verify-audit`` somewhere else (a ticket, a log) to detect that.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ivig.registry.models import AuditEntry, Decision, utc_now

__all__ = [
    "GENESIS_HASH",
    "append_audit",
    "canonical_json",
    "entry_hash",
    "list_audit",
    "sha256_json",
    "verify_audit",
]

GENESIS_HASH = "0" * 64
#: key of the PostgreSQL advisory lock that serialises writers of the chain
_ADVISORY_LOCK_KEY = 0x49564947  # "IVIG"


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
) -> str:
    """The hash of one audit entry (its fields and the previous entry's hash)."""
    return sha256_json([seq, at, actor, action, entity, entity_id, payload, prev_hash])


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


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
    _lock_chain(session)
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
        hash=entry_hash(seq, at, actor, action, entity, entity_id, body, prev_hash),
    )
    session.add(entry)
    session.flush()
    return entry


def verify_audit(session: Session, *, batch_size: int = 5000) -> dict[str, Any]:
    """Walk the chain and the decisions; report whether everything is intact.

    Returns ``ok``, ``entries``, ``head`` (hash of the last entry), ``first_bad_seq`` and
    ``problem`` (the first break found), ``decisions`` checked and ``decision_mismatches``
    (ids of decisions whose stored recommendation no longer matches its hash).
    """
    expected_seq = 1
    prev = GENESIS_HASH
    problem: str | None = None
    bad_seq: int | None = None
    count = 0
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    ).scalars()
    for entry in rows:
        count += 1
        if problem is not None:
            continue
        if entry.seq != expected_seq:
            problem = f"entry {expected_seq} is missing (next entry is {entry.seq})"
            bad_seq = expected_seq
        elif entry.prev_hash != prev:
            problem = f"entry {entry.seq} does not link to the entry before it"
            bad_seq = entry.seq
        elif entry.hash != entry_hash(
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.payload,
            entry.prev_hash,
        ):
            problem = f"entry {entry.seq} was altered (its hash does not match its content)"
            bad_seq = entry.seq
        prev = entry.hash
        expected_seq += 1
    mismatches = [
        d.id
        for d in session.execute(select(Decision).execution_options(yield_per=batch_size)).scalars()
        if sha256_json(d.recommendation) != d.recommendation_sha256
    ]
    if problem is None and mismatches:
        problem = f"decision(s) {', '.join(map(str, mismatches))} differ from their recorded hash"
    decisions = session.scalar(select(func.count()).select_from(Decision)) or 0
    return {
        "ok": problem is None,
        "entries": count,
        "head": prev if count else None,
        "first_bad_seq": bad_seq,
        "problem": problem,
        "decisions": decisions,
        "decision_mismatches": mismatches,
    }


def list_audit(
    session: Session,
    *,
    limit: int = 100,
    entity: str | None = None,
    entity_id: int | None = None,
) -> list[dict[str, Any]]:
    """The newest audit entries first, optionally for one entity (and id)."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
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
