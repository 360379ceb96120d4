"""Monitoring plan for one patient, product and course: actions, each with what triggers it.

Actions come from ``monitoring.yaml``: before / during (vital signs at each rate change) / after
the infusion, hydration and what to do on a reaction. Each action is kept only when its trigger
holds - a risk factor of the patient (``when_any``), the course dose (``min_course_g_per_kg``),
the route or the product's excipients - and is left out when the request already gives the fact
it asks for (``unless_known``, e.g. IgA). Every entry says why it is there (``why``, and the
item's ``trigger`` text) and cites its sources.

Incidence figures of adverse effects (``adverse_effects.yaml``) are not actions: they come in a
separate ``risks`` section at the end, followed by nothing else; the product's label warnings
are the ``product`` section.
"""

from __future__ import annotations

from ivig.core.catalogue import excipient, product_route
from ivig.core.risk import risk_ids
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from typing_extensions import TypedDict

    from ivig.core.risk import RiskFinding
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import MonitoringItem, Product

    class MonitoringEntry(TypedDict):
        """One line of the plan."""

        id: str
        phase: str
        text: str
        why: str
        sources: list[str]
        verified: bool


__all__ = ["ACTION_PHASES", "PHASES", "build_monitoring_plan"]

#: order of the plan's sections; ``risks`` (incidence figures) is not an action
PHASES = ("before", "during", "hydration", "on_reaction", "after", "product", "risks")
ACTION_PHASES = ("before", "during", "hydration", "on_reaction", "after")


def _known(facts: Mapping[str, Any] | None, path: str) -> bool:
    node: Any = facts
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return node is not None


def _why(item: MonitoringItem, ids: set[str], course_g_per_kg: float | None) -> str | None:
    """Why the item applies, or None when its trigger does not hold."""
    when = set(item.get("when_any", []))
    threshold = item.get("min_course_g_per_kg")
    reasons: list[str] = []
    if when & ids:
        reasons.append("risk: " + ", ".join(sorted(when & ids)))
    if threshold is not None:
        if course_g_per_kg is None:
            reasons.append(f"if the course is {threshold:g} g/kg or more (course not given)")
        elif course_g_per_kg >= threshold - 1e-9:
            reasons.append(f"course {course_g_per_kg:g} g/kg (>= {threshold:g})")
    if reasons:
        return "; ".join(reasons)
    if when or threshold is not None:
        return None
    return item.get("trigger", "every patient")


def _actions(
    kb: KnowledgeBase,
    product: Product,
    route: str,
    ids: set[str],
    course_g_per_kg: float | None,
    facts: Mapping[str, Any] | None,
    rate_change_min: list[float] | None,
) -> list[MonitoringEntry]:
    plan: list[MonitoringEntry] = []
    for item in kb.data["monitoring"]:
        if "routes_any" in item and route not in item["routes_any"]:
            continue
        wanted = item.get("excipients_any", [])
        if wanted and not any(excipient(product, name) for name in wanted):
            continue
        if "unless_known" in item and _known(facts, item["unless_known"]):
            continue
        why = _why(item, ids, course_g_per_kg)
        if why is None:
            continue
        if wanted:
            why += " (product contains " + ", ".join(wanted).replace("_", " ") + ")"
        if item.get("at_rate_changes") and rate_change_min:
            why += "; rate changes at minute " + ", ".join(f"{m:.0f}" for m in rate_change_min)
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
    return plan


def _risk_section(kb: KnowledgeBase, product: Product, ids: set[str]) -> list[MonitoringEntry]:
    out: list[MonitoringEntry] = []
    for effect in kb.data["adverse_effects"]:
        only = effect.get("excipients_any", [])
        if only and not any(excipient(product, name) for name in only):
            continue
        linked = set(effect.get("risk_factors", [])) & ids
        freq = "; ".join(f["text"] for f in effect["frequencies"])
        sources = [s["id"] for s in effect["sources"]]
        sources += [s["id"] for f in effect["frequencies"] for s in f["sources"]]
        verified = effect["verified"] and all(f["verified"] for f in effect["frequencies"])
        out.append(
            {
                "id": f"watch-{effect['id']}",
                "phase": "risks",
                "text": f"{effect['name']}" + (f" ({freq})" if freq else ""),
                "why": ("raised by: " + ", ".join(sorted(linked))) if linked else "class effect",
                "sources": list(dict.fromkeys(sources)),
                "verified": verified,
            }
        )
    return out


def _said(plan: list[MonitoringEntry], text: str, name: str, sources: list[str]) -> bool:
    """Whether an action of the plan already says the label warning ``text`` (the same words,
    or the warning is the action's beginning); if so the action also cites the label."""
    said = text.strip().rstrip(".").casefold()
    for entry in plan:
        action = entry["text"].strip().rstrip(".").casefold()
        if action == said or action.startswith(said):
            entry["sources"] = list(dict.fromkeys(entry["sources"] + sources))
            entry["why"] += f"; also in the {name} label"
            return True
    return False


def build_monitoring_plan(
    kb: KnowledgeBase,
    risks: list[RiskFinding] | list[str],
    product_id: str,
    *,
    route: str | None = None,
    course_g_per_kg: float | None = None,
    known_facts: Mapping[str, Any] | None = None,
    rate_change_min: list[float] | None = None,
) -> list[MonitoringEntry]:
    """The monitoring plan, ordered by :data:`PHASES` then by data-file order.

    ``course_g_per_kg`` is the course dose (actions for high-dose courses need it; without it
    they are listed with their condition); ``known_facts`` is the request's patient (an action
    asking for a fact the request already gives - IgA - is left out); ``rate_change_min`` are
    the schedule's rate-change times, listed beside the vital-signs action.
    """
    ids = risk_ids(kb, risks)
    product: Product = kb.product(product_id)
    used = route or product_route(product)
    if used not in product["routes"]:
        raise InputError("route", used, ", ".join(product["routes"]), detail=product["id"])
    plan = _actions(kb, product, used, ids, course_g_per_kg, known_facts, rate_change_min)
    for n, warning in enumerate(product.get("warnings", [])):
        if _said(plan, warning["text"], product["name"], [s["id"] for s in warning["sources"]]):
            continue
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
    plan += _risk_section(kb, product, ids)
    plan.sort(
        key=lambda e: (
            PHASES.index(e["phase"]),
            0 if e["phase"] == "risks" and e["why"].startswith("raised") else 1,
        )
    )
    return plan
