"""Registry read results kept until the registry changes.

Every change to the registry appends one audit-log entry, so the newest entry's sequence
number and hash name the registry's state. Report and list results are kept under that head
and dropped as soon as it moves; a page after a change reads the registry again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["RegistryCache", "registry_head"]

T = TypeVar("T")


def registry_head(session: Session) -> tuple[int, str] | None:
    """The newest audit entry's (sequence, hash), or ``None`` for an empty registry."""
    from ivig.registry import api

    newest = api.list_audit(session, limit=1)
    return (int(newest[0]["seq"]), str(newest[0]["hash"])) if newest else None


class RegistryCache:
    """Results by key, valid while the registry head is unchanged (at most ``max_entries``)."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._head: tuple[int, str] | None = None
        self._data: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, or ``compute()`` (kept until the registry changes).

        Values are shared between requests: callers must not change them.
        """
        head = registry_head(session)
        with self._lock:
            if head != self._head:
                self._data.clear()
                self._head = head
            if key in self._data:
                self.hits += 1
                value: T = self._data[key]
                return value
        value = compute()
        with self._lock:
            self.misses += 1
            if self._head == head:
                if len(self._data) >= self.max_entries:
                    self._data.pop(next(iter(self._data)))
                self._data[key] = value
        return value
