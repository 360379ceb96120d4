"""Monitoring plan for one patient and product: checks before, during and after, hydration,
what to do on a reaction, the adverse effects to watch (with frequencies) and label warnings.

Items come from ``monitoring.yaml`` (filtered by the patient's risk factors, the route and the
product's excipients), ``adverse_effects.yaml`` and the product's own warnings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivig.core.catalogue import excipient, product_route
from ivig.core.risk import risk_ids
from ivig.errors import InputError

if TYPE_CHECKING:
    from typing_extensions import TypedDict

    from ivig.core.risk import RiskFinding
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import Product

    class MonitoringEntry(TypedDict):
        """One line of the plan."""

        id: str
        phase: str
        text: str
        why: str
        sources: list[str]
        verified: bool


__all__ = ["PHASES", "build_monitoring_plan"]

#: order of the plan's sections
PHASES = ("before", "during", "hydration", "on_reaction", "after", "watch", "product")


def build_monitoring_plan(
    kb: KnowledgeBase,
    risks: list[RiskFinding] | list[str],
    product_id: str,
    *,
    route: str | None = None,
) -> list[MonitoringEntry]:
    """The monitoring plan, ordered by :data:`PHASES` then by data-file order."""
    ids = risk_ids(kb, risks)
    product: Product = kb.product(product_id)
    used = route or product_route(product)
    if used not in product["routes"]:
        raise InputError("route", used, ", ".join(product["routes"]), detail=product["id"])
    plan: list[MonitoringEntry] = []
    for item in kb.data["monitoring"]:
        when = set(item.get("when_any", []))
        if when and not when & ids:
            continue
        if "routes_any" in item and used not in item["routes_any"]:
            continue
        wanted = item.get("excipients_any", [])
        if wanted and not any(excipient(product, name) for name in wanted):
            continue
        why = "risk: " + ", ".join(sorted(when & ids)) if when else "every patient"
        plan.append(
            {
                "id": item["id"],
                "phase": item["phase"],
                "text": item["text"],
                "why": why,
                "sources": [s["id"] for s in item["sources"]],
                "verified": item["verified"],
            }
        )
    for effect in kb.data["adverse_effects"]:
        only = effect.get("excipients_any", [])
        if only and not any(excipient(product, name) for name in only):
            continue
        linked = set(effect.get("risk_factors", [])) & ids
        freq = "; ".join(f["text"] for f in effect["frequencies"])
        sources = [s["id"] for s in effect["sources"]]
        sources += [s["id"] for f in effect["frequencies"] for s in f["sources"]]
        verified = effect["verified"] and all(f["verified"] for f in effect["frequencies"])
        plan.append(
            {
                "id": f"watch-{effect['id']}",
                "phase": "watch",
                "text": f"{effect['name']}" + (f" ({freq})" if freq else ""),
                "why": ("raised by: " + ", ".join(sorted(linked))) if linked else "class effect",
                "sources": list(dict.fromkeys(sources)),
                "verified": verified,
            }
        )
    for n, warning in enumerate(product.get("warnings", [])):
        plan.append(
            {
                "id": f"{product['id']}-warning-{n + 1}",
                "phase": "product",
                "text": warning["text"],
                "why": f"{product['name']} label",
                "sources": [s["id"] for s in warning["sources"]],
                "verified": warning["verified"],
            }
        )
    plan.sort(
        key=lambda e: (
            PHASES.index(e["phase"]),
            0 if e["phase"] == "watch" and e["why"].startswith("raised") else 1,
        )
    )
    return plan
