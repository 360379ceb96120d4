"""Finding one knowledge record in a list by a key, for the knowledge tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def find(records: Iterable[Mapping[str, Any]], key: str, value: object) -> Mapping[str, Any]:
    """The first record whose ``key`` is ``value`` (an assertion error naming it if none)."""
    for record in records:
        if record.get(key) == value:
            return record
    raise AssertionError(f"no record with {key} = {value!r}")


def cited_ids(record: Mapping[str, Any]) -> set[str]:
    """The source ids a record cites (plain ids or ``{id, locator}`` references)."""
    return {ref if isinstance(ref, str) else ref["id"] for ref in record["sources"]}
