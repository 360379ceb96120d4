"""Local prices per gram for the stewardship dashboard: a CSV file with the columns
``product`` (a product id of the knowledge base) and ``price_per_g`` (in the local currency),
named by the ``IVIG_PRICES`` setting. ``examples/prices.csv`` shows the shape.

The file is read once and again only when it changes. A bad line is an ``InputError`` naming
the line, the value and what is allowed; the dashboard shows it instead of costs.
"""

from __future__ import annotations

import csv
import math
import os
from typing import TYPE_CHECKING

from ivig.errors import InputError

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["load_prices"]

_CACHE: dict[tuple[str, float, str], dict[str, float]] = {}


def _price(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where} price_per_g", text, "a number above 0") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{where} price_per_g", text, "a number above 0")
    return value


def _read(kb: KnowledgeBase, path: str) -> dict[str, float]:
    known = {p["id"] for p in kb.data["products"]}
    prices: dict[str, float] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"product", "price_per_g"} <= set(reader.fieldnames):
            raise InputError("prices", reader.fieldnames, "the columns product, price_per_g")
        for n, row in enumerate(reader, start=2):
            where = f"prices line {n}"
            product = (row.get("product") or "").strip()
            if product not in known:
                raise InputError(f"{where} product", product, "a product id of the knowledge base")
            prices[product] = _price((row.get("price_per_g") or "").strip(), where)
    return prices


def load_prices(kb: KnowledgeBase, path: str | None) -> dict[str, float] | None:
    """Price per gram by product id, or ``None`` when no prices file is set."""
    if not path:
        return None
    try:
        stamp = os.stat(path).st_mtime
    except OSError as exc:
        raise InputError(
            "prices", os.path.basename(path), "a readable CSV file", detail=exc.strerror
        ) from None
    key = (path, stamp, kb.version)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _read(kb, path)
    return dict(_CACHE[key])
