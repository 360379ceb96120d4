"""Shared check of the product-verification tests: a label value is held, cited and verified."""

from __future__ import annotations

from typing import Any

from ivig.knowledge import KnowledgeBase


def source_ids(fact: dict[str, Any]) -> list[str]:
    """The ids a fact cites (plain ids or ``{id, locator}`` references)."""
    return [ref if isinstance(ref, str) else ref["id"] for ref in fact["sources"]]


def assert_label_value(
    kb: KnowledgeBase, product_id: str, field: str, expected: dict[str, Any], source_id: str
) -> None:
    """A fact of ``product_id``'s ``field`` with the ``expected`` values exists, cites
    ``source_id`` and is verified."""
    facts: list[dict[str, Any]] = kb.product(product_id)[field]  # type: ignore[literal-required]
    matching = [f for f in facts if all(f.get(k) == v for k, v in expected.items())]
    assert matching, (product_id, field, expected)
    assert any(source_id in source_ids(f) and f["verified"] is True for f in matching)
