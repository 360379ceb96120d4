"""JWT replay caches: each ``(iss, jti)`` is accepted once until its token expires.

Two implementations with one method, ``check_and_add(iss, jti, exp) -> bool``:

- :class:`MemoryReplayCache` for a single process without a registry: a dict of live keys and
  expiry buckets of one second, so that every call costs O(1) amortised (each bucket is visited
  once, when its second has passed).
- :class:`DatabaseReplayCache` in the registry database (table ``jwt_replay``, migration 0004),
  shared by every worker of ``ivig serve --workers N``: one atomic upsert per call
  (``INSERT .. ON CONFLICT DO UPDATE .. WHERE expired RETURNING``) on the primary key, and a
  ``DELETE`` of expired rows (index on ``expires_at``) at most every :data:`PRUNE_EVERY_S` s.

The key stored is a SHA-256 digest of issuer and ``jti``, so arbitrary ``jti`` lengths fit.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine

__all__ = [
    "PRUNE_EVERY_S",
    "DatabaseReplayCache",
    "MemoryReplayCache",
    "ReplayStore",
    "replay_key",
    "replay_table",
]

#: expired rows are deleted from the database at most this often, seconds
PRUNE_EVERY_S = 30.0


class ReplayStore(Protocol):
    """What :class:`ivig.service.security.JwtVerifier` needs from a replay cache."""

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool: ...


def replay_key(iss: str, jti: str) -> str:
    """The stored key of ``(iss, jti)``: hex SHA-256 of both, separated by a NUL."""
    return hashlib.sha256(f"{iss}\0{jti}".encode()).hexdigest()


class MemoryReplayCache:
    """``(iss, jti)`` seen by this process, each kept until its token expires."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._seen: dict[tuple[str, str], float] = {}
        self._buckets: dict[int, list[tuple[str, str]]] = {}
        self._pruned_to: int | None = None
        self._clock = clock
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def _prune(self, now: float) -> None:
        """Forget every key whose bucket second (its expiry rounded up) has passed."""
        second = math.floor(now)
        start = second if self._pruned_to is None else self._pruned_to
        if second - start > len(self._buckets):  # a long idle gap: visit the buckets instead
            due = [b for b in self._buckets if b <= second]
        else:
            due = list(range(start, second + 1))
        for bucket in due:
            for key in self._buckets.pop(bucket, ()):
                until = self._seen.get(key)
                if until is not None and until <= now:
                    del self._seen[key]
        self._pruned_to = second + 1

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool:
        """True the first time ``(iss, jti)`` is seen before it expires; False on a replay."""
        now = self._clock()
        key = (iss, jti)
        with self._lock:
            self._prune(now)
            until = self._seen.get(key)
            if until is not None and until > now:
                return False
            self._seen[key] = exp
            self._buckets.setdefault(math.ceil(exp), []).append(key)
        return True


def replay_table() -> Table:
    """The ``jwt_replay`` table (created by migration 0004), in a metadata of its own."""
    from sqlalchemy import Column, Float, MetaData, String, Table

    return Table(
        "jwt_replay",
        MetaData(),
        Column("key", String(64), primary_key=True),
        Column("expires_at", Float, nullable=False, index=True),
    )


def _dialect_insert(dialect: str) -> Any:
    """The ``insert`` construct with ``on_conflict_do_update`` of ``dialect``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert
    raise ValueError(f"no replay cache for the {dialect} dialect")


class DatabaseReplayCache:
    """``(iss, jti)`` seen by every worker sharing the registry database ``engine``."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        from sqlalchemy import delete

        self._engine = engine
        self._clock = clock
        self._table = replay_table()
        self._upsert = self._build_upsert()
        self._delete = delete(self._table).where(self._table.c.expires_at <= self._bind("now"))
        self._last_prune = -math.inf
        self._lock = threading.Lock()
        # SQLite has one writer at a time and its busy handler sleeps in steps of up to 100 ms:
        # the threads of one process take turns here instead (other processes still wait)
        self._serial: contextlib.AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )

    @staticmethod
    def _bind(name: str) -> object:
        from sqlalchemy import bindparam

        return bindparam(name)

    def _build_upsert(self) -> Any:
        """``INSERT .. ON CONFLICT (key) DO UPDATE SET expires_at .. WHERE expired``."""
        table = self._table
        insert = _dialect_insert(self._engine.dialect.name)
        statement = insert(table).values(key=self._bind("key"), expires_at=self._bind("exp"))
        return statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"expires_at": statement.excluded.expires_at},
            where=table.c.expires_at <= self._bind("now"),
        ).returning(table.c.key)

    def check_and_add(self, iss: str, jti: str, exp: float) -> bool:
        """True the first time ``(iss, jti)`` is seen by any worker; False on a replay."""
        now = self._clock()
        params = {"key": replay_key(iss, jti), "exp": float(exp), "now": now}
        with self._serial, self._engine.begin() as conn:
            added = conn.execute(self._upsert, params).first() is not None
        if now - self._last_prune >= PRUNE_EVERY_S:
            self.prune(now)
        return bool(added)

    def prune(self, now: float | None = None) -> int:
        """Delete the rows of expired tokens; return how many went."""
        now = self._clock() if now is None else now
        with self._lock:
            self._last_prune = now
        with self._engine.begin() as conn:
            removed: int = conn.execute(self._delete, {"now": now}).rowcount
        return removed
