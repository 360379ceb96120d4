"""Use cases of the stewardship computations that run over many stored or historical orders:
the criteria verdict of a set of findings, the dosing weight under a policy, and the course a
policy gives (the batch audit, the weight-savings report and the demonstration data call these;
the registry composes nothing itself)."""

from __future__ import annotations

from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ivig.knowledge.base import KnowledgeBase

__all__ = ["criteria_verdict", "policy_course_g", "policy_dosing_weight", "policy_regimen"]


def criteria_verdict(
    kb: KnowledgeBase,
    condition_id: str,
    findings: Mapping[str, object],
    *,
    jurisdiction: str = "international",
    indication_id: str | None = None,
    phase: str | None = None,
) -> dict[str, Any]:
    """Eligibility of the findings (status, indication, missing, ...), as ``recommend`` decides
    it."""
    from ivig.core.eligibility import evaluate_eligibility

    return evaluate_eligibility(
        kb,
        condition_id,
        dict(findings),
        jurisdiction=jurisdiction,
        indication_id=indication_id,
        phase=phase,
    )


def policy_dosing_weight(
    kb: KnowledgeBase,
    policy_id: str,
    *,
    sex: str,
    age_years: float,
    weight_kg: float,
    height_cm: float | None,
    pregnant: bool = False,
    pre_pregnancy_weight_kg: float | None = None,
) -> dict[str, Any]:
    """The dosing weight under ``policy_id`` with the rule that decided it."""
    from ivig.core.weight import compute_dosing_weight

    return dict(
        compute_dosing_weight(
            kb,
            policy_id=policy_id,
            sex=sex,
            age_years=age_years,
            weight_kg=weight_kg,
            height_cm=height_cm,
            pregnant=pregnant,
            pre_pregnancy_weight_kg=pre_pregnancy_weight_kg,
        )
    )


def policy_regimen(
    kb: KnowledgeBase, indication_id: str, phase: str, route: str | None = None
) -> dict[str, Any]:
    """The indication's regimen for the phase (``InputError`` when there is none)."""
    from ivig.core.dose import select_regimen

    return select_regimen(kb, indication_id, phase, route=route)


def policy_course_g(
    kb: KnowledgeBase,
    *,
    indication_id: str,
    phase: str,
    dosing_weight_kg: float,
    rounding: str = "none",
    route: str | None = None,
    regimen_id: str | None = None,
) -> dict[str, Any]:
    """The dose plan the regimen gives on ``dosing_weight_kg`` (its ``total_g`` is the course)."""
    from ivig.core.dose import compute_dose_plan

    return compute_dose_plan(
        kb,
        indication_id=indication_id,
        phase=phase,
        dosing_weight_kg=dosing_weight_kg,
        rounding=rounding,
        route=route,
        regimen_id=regimen_id,
    )
