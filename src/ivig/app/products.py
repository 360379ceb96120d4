"""Use cases: the products for a patient, one day's infusion schedule with its monitoring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivig.core.catalogue import iga_representative
from ivig.core.ranking import ORDER as RANKING_ORDER

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ivig.contract import Patient
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["RANKING_ORDER", "iga_representative", "rank", "risk_profile", "schedule"]


def _known(kb: KnowledgeBase, field: str, kind: str, value: str) -> str:
    """``value`` as a known id of ``kind``; the error names ``field``."""
    from ivig.errors import InputError

    lookup = {"product": kb.product, "risk factor": kb.risk_factor}[kind]
    try:
        return str(lookup(value)["id"])
    except InputError as exc:
        raise InputError(field, value, exc.allowed) from None


def risk_profile(
    kb: KnowledgeBase,
    patient: Patient,
    *,
    findings: Mapping[str, object] | None = None,
    condition: str | None = None,
) -> list[Any]:
    """The patient's risk factors: those named and those derived from the facts."""
    from ivig.core.risk import derive_risk_profile

    return list(derive_risk_profile(kb, patient, findings=findings, condition=condition))


def rank(
    kb: KnowledgeBase,
    patient: Patient | None = None,
    *,
    risks: list[Any] | None = None,
    formulary: list[str] | None = None,
    jurisdiction: str | None = None,
    region: str | None = None,
    route: str | None = None,
    condition: str | None = None,
    include_discontinued: bool = False,
) -> dict[str, Any]:
    """The patient's risk profile (or the ``risks`` given) and the products ranked for it; the
    market is ``region``, else the jurisdiction's."""
    from ivig.core.ranking import rank_products

    for n, product in enumerate(formulary or []):
        _known(kb, f"formulary[{n}]", "product", product)
    condition_id = kb.condition(condition)["id"] if condition else None
    if risks is None:
        risks = risk_profile(kb, patient, condition=condition_id) if patient is not None else []
    if region is None and jurisdiction is not None:
        region = kb.jurisdiction(jurisdiction).get("product_region")
    ranked = rank_products(
        kb,
        risks,
        formulary=formulary,
        region=region,
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


def schedule(
    kb: KnowledgeBase, query: dict[str, Any], *, risks: list[Any] | None = None
) -> dict[str, Any]:
    """One day's infusion of one product (``ivig schedule`` / ``POST /api/schedule``) with its
    monitoring plan; ``risks`` (a risk profile) replaces the query's risk-factor ids."""
    from ivig.core.monitoring import build_monitoring_plan
    from ivig.core.schedule import compute_infusion_schedule

    product = _known(kb, "product", "product", query["product"])
    _check_schedule_inputs(kb, product, query)
    if risks is None:
        risks = list(query.get("risk_factors") or [])
        for n, risk in enumerate(risks):
            _known(kb, f"risk_factors[{n}]", "risk factor", risk)
    jurisdiction = query.get("jurisdiction")
    region = query.get("region")
    if region is None and jurisdiction:
        region = kb.jurisdiction(jurisdiction).get("product_region")
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
    monitoring = build_monitoring_plan(kb, risks, product, route=result["route"])
    return {
        "risk_factors": risks,
        "schedule": result,
        "monitoring": list(monitoring),
        "knowledge_version": kb.version,
        "disclaimer": kb.disclaimer,
    }


def _largest_label_sites(kb: KnowledgeBase) -> int | None:
    """The most infusion sites at once that any product's label in the knowledge base allows."""
    found = [
        record["max_sites"]
        for product in kb.data["products"]
        for record in product.get("sc_rates", []) or []
        if isinstance(record, dict) and record.get("max_sites")
    ]
    return max(found) if found else None


def _check_schedule_inputs(kb: KnowledgeBase, product_id: str, query: Mapping[str, Any]) -> None:
    """Weight, dose and age within the knowledge base's plausibility limits, and SC sites within
    what a label allows (the product's own, else the largest any label gives): refused with the
    field named, never clamped."""
    from ivig.core.weight import check_limit
    from ivig.errors import InputError

    check_limit(kb, "weight_kg", float(query["weight_kg"]))
    check_limit(kb, "dose_g_per_day", float(query["dose_g"]), "dose_g")
    if query.get("age_years") is not None:
        check_limit(kb, "age_years", float(query["age_years"]))
    sites = query.get("sites")
    largest = _largest_label_sites(kb)
    if sites is not None and largest is not None and sites > largest:
        raise InputError(
            "sites", sites, f"1 to {largest}", "count",
            f"no label in the knowledge base allows more sites at once than {largest}",
        )  # fmt: skip
