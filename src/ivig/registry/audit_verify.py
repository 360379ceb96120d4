"""Verification of the audit chain: the keyed links, the head, the checkpoint and every table.

:func:`verify_chain` walks the entries in order and checks each one's sequence, link and keyed
hash; that ``audit_head`` names the last entry; that the chain still reaches the checkpoint kept
outside the database (:mod:`ivig.registry.audit_key`); and (``full``) that every row of every
covered table has the digest the chain last recorded for it, so a row changed, inserted or
deleted outside the registry is reported. Without ``full`` it starts at the checkpoint (the
last entry verified) and checks only the newer entries: cheap enough for every page.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivig.registry.audit import GENESIS_HASH, covered_models, entry_hash, row_digest, sha256_json
from ivig.registry.audit_key import audit_key, read_checkpoint, write_checkpoint
from ivig.registry.models import AuditEntry, AuditHead, Decision

__all__ = ["verify_chain"]


class _Walk:
    """The state of one walk along the chain."""

    def __init__(self, start_seq: int, start_hash: str) -> None:
        self.expected = start_seq + 1
        self.prev = start_hash
        self.count = 0
        self.problem: str | None = None
        self.bad_seq: int | None = None
        self.latest: dict[str, str | None] = {}
        self.key = audit_key()

    def fail(self, seq: int | None, problem: str) -> None:
        if self.problem is None:
            self.problem, self.bad_seq = problem, seq

    def step(self, entry: AuditEntry) -> None:
        self.count += 1
        if entry.rows:
            try:
                self.latest.update(json.loads(entry.rows))
            except (ValueError, TypeError):
                self.fail(entry.seq, f"entry {entry.seq} has unreadable row digests")
        if self.problem is not None:
            return
        if entry.seq != self.expected:
            self.fail(self.expected, f"entry {self.expected} is missing (next is {entry.seq})")
        elif entry.prev_hash != self.prev:
            self.fail(entry.seq, f"entry {entry.seq} does not link to the entry before it")
        elif entry.hash != _hash_of(entry, self.key):
            self.fail(entry.seq, f"entry {entry.seq} was altered (its keyed hash does not match)")
        self.prev = entry.hash
        self.expected += 1


def _hash_of(entry: AuditEntry, key: bytes) -> str:
    return entry_hash(
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.entity,
        entry.entity_id,
        entry.payload,
        entry.prev_hash,
        entry.rows,
        key=key,
    )


def _database_name(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _start(session: Session, full: bool) -> tuple[int, str, str | None]:
    """Where to start (seq, hash) and a problem when the checkpoint is no longer reachable."""
    checkpoint = read_checkpoint(_database_name(session))
    if checkpoint is None:
        return 0, GENESIS_HASH, None
    seq, head = checkpoint
    found = session.scalar(select(AuditEntry).where(AuditEntry.seq == seq))
    if found is None or found.hash != head:
        return 0, GENESIS_HASH, f"the chain no longer reaches the checkpoint at entry {seq}"
    if full:
        return 0, GENESIS_HASH, None
    return seq, head, None


def _check_head(session: Session, walk: _Walk, last_seq: int) -> None:
    head = session.get(AuditHead, 1)
    if last_seq == 0 and head is None:
        return
    if head is None:
        walk.fail(last_seq, "the audit head record is missing")
    elif head.seq != last_seq or head.hash != walk.prev:
        walk.fail(
            min(head.seq, last_seq) + 1,
            f"the chain ends at entry {last_seq} but its head records entry {head.seq}",
        )


def _check_tables(session: Session, walk: _Walk, batch_size: int) -> None:
    seen: set[str] = set()
    for model in covered_models():
        table = model.__tablename__
        for row in session.execute(select(model).execution_options(yield_per=batch_size)).scalars():
            key = f"{table}:{row.id}"
            seen.add(key)
            recorded = walk.latest.get(key)
            if key not in walk.latest:
                walk.fail(None, f"{table} row {row.id} is not in the audit trail (added outside)")
            elif recorded is None:
                walk.fail(None, f"{table} row {row.id} was deleted in the trail but exists")
            elif recorded != row_digest(row):
                walk.fail(None, f"{table} row {row.id} was changed outside the registry")
    for key, digest in walk.latest.items():
        if digest is not None and key not in seen:
            walk.fail(None, f"{key.replace(':', ' row ')} was deleted outside the registry")


def _decision_mismatches(session: Session, batch_size: int) -> list[int]:
    return [
        d.id
        for d in session.execute(select(Decision).execution_options(yield_per=batch_size)).scalars()
        if sha256_json(d.recommendation) != d.recommendation_sha256
    ]


def verify_chain(session: Session, *, full: bool = True, batch_size: int = 5000) -> dict[str, Any]:
    """Verify the audit trail; returns ``ok``, ``entries`` walked, ``head``, ``first_bad_seq``,
    ``problem`` (the first one found), ``decisions`` and ``decision_mismatches``, ``full``.

    A successful verification moves the checkpoint to the newest entry.
    """
    start_seq, start_hash, early = _start(session, full)
    walk = _Walk(start_seq, start_hash)
    if early:
        walk.fail(None, early)
    query = select(AuditEntry).where(AuditEntry.seq > start_seq).order_by(AuditEntry.seq)
    for entry in session.execute(query.execution_options(yield_per=batch_size)).scalars():
        walk.step(entry)
    last_seq = walk.expected - 1
    _check_head(session, walk, last_seq)
    mismatches: list[int] = []
    if full:
        _check_tables(session, walk, batch_size)
        mismatches = _decision_mismatches(session, batch_size)
        if mismatches:
            listed = ", ".join(map(str, mismatches))
            walk.fail(None, f"decision(s) {listed} differ from their recorded hash")
    if walk.problem is None and last_seq > 0:
        write_checkpoint(_database_name(session), last_seq, walk.prev)
    return {
        "ok": walk.problem is None,
        "entries": walk.count if full else last_seq,
        "checked": walk.count,
        "head": walk.prev if last_seq else None,
        "first_bad_seq": walk.bad_seq,
        "problem": walk.problem,
        "decisions": session.scalar(select(func.count()).select_from(Decision)) or 0,
        "decision_mismatches": mismatches,
        "full": full,
    }
