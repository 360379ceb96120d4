"""What the knowledge browser lists: conditions, products, sources and the unverified facts.

Plain look-ups over ``KnowledgeBase.data``; nothing is computed from the clinical values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["condition_rows", "product_rows", "search", "unverified_items"]


def _label(record: dict[str, Any]) -> str:
    for key in ("id", "name", "field", "label"):
        if isinstance(record.get(key), str):
            return str(record[key])
    return ""


def _walk(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        if value.get("verified") is False:
            yield path, value
        for key, item in value.items():
            if key != "sources":
                yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            label = _label(item) if isinstance(item, dict) else ""
            yield from _walk(item, f"{path}[{label or n}]")


def unverified_items(kb: KnowledgeBase, area: str | None = None) -> list[dict[str, Any]]:
    """Every record marked ``verified: false``: its path, text and sources."""
    out = []
    for key, value in kb.data.items():
        if key in ("meta", "version", "sources") or (area and key != area):
            continue
        for path, record in _walk(value, key):
            text = (
                record.get("text")
                or record.get("label")
                or record.get("name")
                or record.get("description")
                or record.get("note")
                or ""
            )
            out.append(
                {
                    "path": path,
                    "area": key,
                    "text": str(text),
                    "sources": [s["id"] for s in record.get("sources", []) if isinstance(s, dict)],
                }
            )
    return out


def condition_rows(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """One row per condition: name, group, synonyms, codes and its indications' roles."""
    rows = []
    for cond in sorted(kb.conditions(), key=lambda c: c["name"].lower()):
        rows.append(
            {
                "id": cond["id"],
                "name": cond["name"],
                "group": cond["group"].replace("_", " "),
                "synonyms": cond.get("synonyms", []),
                "codes": [c["code"] for c in cond.get("codes", [])],
                "indications": [
                    {"id": i["id"], "name": i["name"], "role": i["role"]}
                    for i in cond["indications"]
                ],
                "verified": cond["verified"],
            }
        )
    return rows


def product_rows(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """One row per product: name, maker, routes, concentration, status, regions."""
    rows = []
    for prod in sorted(kb.data["products"], key=lambda p: p["name"].lower()):
        rows.append(
            {
                "id": prod["id"],
                "name": prod["name"],
                "maker": prod.get("maker", ""),
                "routes": prod.get("routes", []),
                "status": prod.get("status", ""),
                "regions": prod.get("regions", []),
                "verified": prod["verified"],
            }
        )
    return rows


def search(kb: KnowledgeBase, text: str) -> list[dict[str, Any]]:
    """Conditions matching ``text`` by name, synonym or code (``kb.search_conditions``)."""
    if not text.strip():
        return []
    out = []
    for cid in kb.search_conditions(text):
        cond = kb.condition(cid)
        out.append({"id": cid, "name": cond["name"]})
    return out
