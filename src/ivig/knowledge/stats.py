"""Counts over the knowledge base: how much there is, how much is sourced and verified."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["NOT_CLINICAL", "compute_stats", "number_flags", "unsourced_numbers"]

#: Sections that hold no clinical numbers: release data, the bibliography (years, PMIDs) and the
#: finding declarations (input types and plausible ranges).
NOT_CLINICAL = ("meta", "version", "sources", "findings")


def _walk_numbers(
    node: Any, path: str, sourced: bool, verified: bool | None, out: list[tuple[str, bool, bool]]
) -> None:
    if isinstance(node, dict):
        has_sources = bool(node.get("sources"))
        here_verified = node.get("verified", verified) if has_sources else verified
        for key, value in node.items():
            if key in ("sources", "verified"):
                continue
            _walk_numbers(value, f"{path}.{key}", sourced or has_sources, here_verified, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk_numbers(value, f"{path}[{i}]", sourced, verified, out)
    elif isinstance(node, int | float) and not isinstance(node, bool):
        out.append((path, sourced, bool(verified)))


def number_flags(kb: KnowledgeBase) -> list[tuple[str, bool, bool]]:
    """Every clinical number as (path, has a source, verified), e.g.
    ``("products[16].iga[0].iga_ug_per_ml", True, False)``."""
    out: list[tuple[str, bool, bool]] = []
    data: dict[str, Any] = dict(kb.data)
    for key, value in data.items():
        if key not in NOT_CLINICAL:
            _walk_numbers(value, key, False, None, out)
    return out


def _facts(node: Any, out: list[bool]) -> None:
    if isinstance(node, dict):
        if "verified" in node and "sources" in node:
            out.append(bool(node["verified"]))
        for key, value in node.items():
            if key != "sources":
                _facts(value, out)
    elif isinstance(node, list):
        for value in node:
            _facts(value, out)


def unsourced_numbers(kb: KnowledgeBase) -> list[str]:
    """Paths of clinical numbers with no source on them or on an enclosing record."""
    return [path for path, sourced, _ in number_flags(kb) if not sourced]


def compute_stats(kb: KnowledgeBase) -> dict[str, Any]:
    """Counts of records, numbers and facts, with the sourced and verified shares."""
    data = kb.data
    indications = [i for c in data["conditions"] for i in c["indications"]]
    numbers = number_flags(kb)
    facts: list[bool] = []
    for key, value in dict(data).items():
        if key not in ("meta", "version", "sources"):
            _facts(value, facts)
    n_numbers = len(numbers)
    sourced = sum(1 for _, s, _ in numbers if s)
    verified_numbers = sum(1 for _, s, v in numbers if s and v)
    return {
        "knowledge_version": kb.version,
        "conditions": len(data["conditions"]),
        "indications": len(indications),
        "regimens": sum(len(i.get("regimens", [])) for i in indications),
        "criteria": sum(
            len(i.get("qualifying", [])) + len(i.get("exclusion", [])) for i in indications
        ),
        "sources": len(data["sources"]),
        "findings": len(data["findings"]),
        "products": len(data["products"]),
        "scores": len(data["scores"]),
        "facts": len(facts),
        "facts_verified": sum(facts),
        "facts_verified_share": round(sum(facts) / len(facts), 4) if facts else 0.0,
        "numbers": n_numbers,
        "numbers_with_source": sourced,
        "numbers_with_source_share": round(sourced / n_numbers, 4) if n_numbers else 1.0,
        "numbers_verified": verified_numbers,
        "numbers_verified_share": round(verified_numbers / n_numbers, 4) if n_numbers else 0.0,
    }
