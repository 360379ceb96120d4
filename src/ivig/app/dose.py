"""Use case: dosing weight and dose plan for a condition and phase (``ivig dose``).

The indication is chosen as ``recommend`` chooses it (:func:`ivig.core.eligibility.
candidate_indications` and :func:`ivig.core.recommend.plan_indication`), so the two commands
give the same dose for the same patient.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.knowledge.base import KnowledgeBase
    from ivig.results import DoseResult

__all__ = ["choose_indication", "dose"]


def choose_indication(
    kb: KnowledgeBase,
    condition_id: str,
    phase: str,
    indication: str | None = None,
    findings: dict[str, object] | None = None,
    jurisdiction: str = "international",
) -> tuple[str, list[str]]:
    """The indication whose regimen doses ``phase`` and the candidates it was chosen from.

    Raises ``InputError`` naming the phase when no indication has a regimen for it, or when the
    candidates' regimens differ (name the indication).
    """
    from ivig.core.eligibility import evaluate_eligibility
    from ivig.core.recommend import plan_indication
    from ivig.errors import InputError

    if indication is not None:
        if not indication.startswith(condition_id + "."):
            indication = f"{condition_id}.{indication}"
        kb.indication(indication)
        return indication, [indication]
    eligibility = evaluate_eligibility(
        kb, condition_id, dict(findings or {}), jurisdiction=jurisdiction, phase=phase
    )
    chosen, reason = plan_indication(kb, eligibility, phase)
    candidates = list(eligibility.get("undecided") or eligibility.get("considered") or [])
    if chosen is None and eligibility["status"] == "not_supported":
        chosen = _first_with_regimen(kb, candidates, phase)
    if chosen is None:
        offered = []
        for ind in kb.condition(condition_id)["indications"]:
            phases = ", ".join(sorted({r["phase"] for r in ind.get("regimens", [])}))
            offered.append(f"{ind['id']} ({phases or 'none'})")
        raise InputError(
            "phase" if reason is None else "indication",
            phase if reason is None else None,
            "; ".join(offered),
            detail=reason or f"indications of {condition_id}",
        )
    return chosen, candidates


def _first_with_regimen(kb: KnowledgeBase, candidates: list[str], phase: str) -> str | None:
    for indication_id in candidates:
        if any(r["phase"] == phase for r in kb.indication(indication_id).get("regimens", [])):
            return indication_id
    return None


def dose(kb: KnowledgeBase, query: dict[str, Any]) -> DoseResult:
    """The dose result for ``query`` (the fields of ``ivig dose`` / ``POST /api/dose``)."""
    from ivig import ENGINE_VERSION
    from ivig.core.dose import compute_dose_plan
    from ivig.core.units import to_cm, to_kg
    from ivig.core.weight import compute_dosing_weight

    weight_kg = query.get("weight_kg")
    if weight_kg is None:
        weight_kg = to_kg(query["weight_lb"], "lb")
    height_cm = query.get("height_cm")
    if height_cm is None and query.get("height_in") is not None:
        height_cm = round(to_cm(query["height_in"], "in"), 2)
    condition = kb.condition(query["condition"])
    jurisdiction = kb.jurisdiction(query.get("jurisdiction") or "international")
    indication_id, candidates = choose_indication(
        kb, condition["id"], query["phase"], query.get("indication"),
        jurisdiction=jurisdiction["id"],
    )  # fmt: skip
    policy = query.get("policy") or jurisdiction["default_dosing_weight_policy"]
    rounding = query.get("rounding") or kb.dosing_policy(policy).get(
        "rounding", jurisdiction["default_rounding"]
    )
    if rounding == "vials" and query.get("product") is None:
        rounding = "none"
    weight = compute_dosing_weight(
        kb,
        policy_id=policy,
        sex=query["sex"],
        age_years=query["age_years"],
        weight_kg=weight_kg,
        height_cm=height_cm,
        pregnant=bool(query.get("pregnant")),
        pre_pregnancy_weight_kg=query.get("pre_pregnancy_weight_kg"),
        opt_out_justification=query.get("opt_out_justification"),
    )
    plan = compute_dose_plan(
        kb,
        indication_id=indication_id,
        phase=query["phase"],
        dosing_weight_kg=weight["kg"],
        regimen_id=query.get("regimen"),
        route=query.get("route"),
        dose_g_per_kg=query.get("dose_g_per_kg"),
        days=query.get("days"),
        interval_weeks=query.get("interval_weeks"),
        rounding=rounding,
        product_id=query.get("product"),
    )
    cited = list(
        dict.fromkeys(
            [*weight["rule"]["sources"], *plan["regimen"]["sources"]]
            + [s["source"] for s in weight["steps"] + plan["steps"] if "source" in s]
            + (plan["sc_equivalent"]["sources"] if "sc_equivalent" in plan else [])
        )
    )
    unverified = list(plan["unverified"])
    if not weight["verified"]:
        unverified.append(f"dosing-weight rule {policy}/{weight['rule']['id']}")
    result: Any = {
        "condition": condition["id"],
        "indication": indication_id,
        "jurisdiction": jurisdiction["id"],
        "candidates": candidates,
        "dosing_weight": weight,
        "dose": plan,
        "unverified": unverified,
        "sources": [{"id": s, "citation": kb.citation(s)} for s in cited],
        "knowledge_version": kb.version,
        "engine_version": ENGINE_VERSION,
        "disclaimer": kb.disclaimer,
    }
    return result  # type: ignore[no-any-return]
