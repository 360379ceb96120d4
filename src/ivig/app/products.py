"""Use cases: the products for a patient, one day's infusion schedule with its monitoring."""

from __future__ import annotations

from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ivig.contract import Patient
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["rank", "schedule"]


def _known(kb: KnowledgeBase, field: str, kind: str, value: str) -> str:
    """``value`` as a known id of ``kind``; the error names ``field``."""
    from ivig.errors import InputError

    lookup = {"product": kb.product, "risk factor": kb.risk_factor}[kind]
    try:
        return str(lookup(value)["id"])
    except InputError as exc:
        raise InputError(field, value, exc.allowed) from None


def rank(
    kb: KnowledgeBase,
    patient: Patient,
    *,
    formulary: list[str] | None = None,
    jurisdiction: str = "international",
    route: str | None = None,
    condition: str | None = None,
    include_discontinued: bool = False,
) -> dict[str, Any]:
    """The patient's risk profile and the products ranked for it."""
    from ivig.core.ranking import rank_products
    from ivig.core.risk import derive_risk_profile

    for n, product in enumerate(formulary or []):
        _known(kb, f"formulary[{n}]", "product", product)
    condition_id = kb.condition(condition)["id"] if condition else None
    risks = list(derive_risk_profile(kb, patient))
    ranked = rank_products(
        kb,
        risks,
        formulary=formulary,
        region=kb.jurisdiction(jurisdiction).get("product_region"),
        route=route,
        indication=condition_id,
        include_discontinued=include_discontinued,
    )
    return {
        "risk_profile": risks,
        "products": list(ranked),
        "knowledge_version": kb.version,
        "disclaimer": kb.disclaimer,
    }


def schedule(kb: KnowledgeBase, query: dict[str, Any]) -> dict[str, Any]:
    """One day's infusion of one product (``ivig schedule`` / ``POST /api/schedule``) with its
    monitoring plan."""
    from ivig.core.monitoring import build_monitoring_plan
    from ivig.core.schedule import compute_infusion_schedule

    product = _known(kb, "product", "product", query["product"])
    risks = list(query.get("risk_factors") or [])
    for n, risk in enumerate(risks):
        _known(kb, f"risk_factors[{n}]", "risk factor", risk)
    jurisdiction = query.get("jurisdiction")
    region = kb.jurisdiction(jurisdiction).get("product_region") if jurisdiction else None
    condition = kb.condition(query["condition"])["id"] if query.get("condition") else None
    result = compute_infusion_schedule(
        kb,
        product,
        weight_kg=query["weight_kg"],
        dose_g=query["dose_g"],
        risks=risks,
        first_infusion=bool(query.get("first_infusion")),
        indication=condition,
        region=region,
        route=query.get("route"),
        at_risk_rate_mg_per_kg_per_min=query.get("at_risk_rate_mg_per_kg_per_min"),
        step_interval_min=query.get("step_interval_min"),
        concentration_percent=query.get("concentration_percent"),
        age_years=query.get("age_years"),
        sites=query.get("sites"),
    )
    monitoring = build_monitoring_plan(kb, risks, product, route=query.get("route"))
    return {
        "schedule": result,
        "monitoring": list(monitoring),
        "knowledge_version": kb.version,
        "disclaimer": kb.disclaimer,
    }
