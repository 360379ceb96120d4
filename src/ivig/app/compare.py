"""Use case: the same patient under every jurisdiction's policy and evidence, side by side
(``ivig recommend --compare``)."""

from __future__ import annotations

from typing import Any

from ivig import ENGINE_VERSION
from ivig.app.recommend import recommend, validate
from ivig.errors import InputError
from ivig.vocabulary import JURISDICTIONS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase
    from ivig.results import Comparison, JurisdictionView

__all__ = ["CLIFF_WINDOW_KG", "compare", "weight_cliff"]

#: how far from the patient's weight a policy threshold is looked for (a display window, kg)
CLIFF_WINDOW_KG = 5.0
_STEP_KG = 0.5


def weight_cliff(kb: KnowledgeBase, request: Request, policy: str) -> str | None:
    """A sentence when, within :data:`CLIFF_WINDOW_KG` of the patient's weight, a heavier
    weight gives a lower dosing weight under ``policy`` (a threshold cliff), else ``None``."""
    from ivig.core.weight import dosing_weight_for_patient

    patient: dict[str, Any] = dict(request["patient"])
    base = float(patient["weight_kg"])
    steps = int(CLIFF_WINDOW_KG / _STEP_KG)
    previous: tuple[float, float] | None = None
    for n in range(-steps, steps + 1):
        weight = round(base + n * _STEP_KG, 2)
        if weight <= 0:
            continue
        try:
            changed: Any = {**patient, "weight_kg": weight}
            kg = dosing_weight_for_patient(kb, changed, policy)["kg"]
        except InputError:
            previous = None
            continue
        if previous is not None and kg < previous[1] - 1e-9:
            return (
                f"{policy} has a threshold near this patient: at {previous[0]:g} kg the dosing "
                f"weight is {previous[1]:g} kg, at {weight:g} kg it is {kg:g} kg "
                f"(patient {base:g} kg); check the weight"
            )
        previous = (weight, kg)
    return None


def _row(kb: KnowledgeBase, request: dict[str, Any], jurisdiction: str) -> JurisdictionView:
    info = kb.jurisdiction(jurisdiction)
    data = {k: v for k, v in request.items() if k not in ("dosing_weight_policy", "rounding")}
    data["jurisdiction"] = jurisdiction
    row: dict[str, Any] = {
        "jurisdiction": jurisdiction,
        "jurisdiction_name": info["name"],
        "policy": info["default_dosing_weight_policy"],
        "dosing_weight_kg": None,
        "weight_method": None,
        "weight_rule_id": None,
        "weight_rule": None,
        "total_g": None,
        "g_per_kg": None,
        "rounding": None,
        "status": "error",
        "plan_status": "none",
        "role": None,
        "evidence": [],
        "cliff": None,
        "error": None,
    }
    try:
        rec = recommend(kb, data)
    except InputError as exc:
        row["error"] = str(exc)
        return row  # type: ignore[return-value]
    el, weight, dose = rec["eligibility"], rec["dosing_weight"], rec["dose"]
    row.update(status=el["status"], plan_status=rec["plan_status"], role=el["role"])
    row["evidence"] = [
        f"{ev['system']}: {ev['level']}" for ev in el["evidence"] if ev["jurisdiction_system"]
    ]
    if weight is not None:
        row.update(
            policy=weight["policy"],
            dosing_weight_kg=weight["kg"],
            weight_method=weight["method"],
            weight_rule_id=weight["rule"]["id"],
            weight_rule=weight["rule"]["reason"],
            cliff=weight_cliff(kb, rec["request"], weight["policy"]),
        )
    if dose is not None:
        row.update(
            total_g=dose["total_g"], g_per_kg=dose["g_per_kg"], rounding=dose["rounding"]["method"]
        )
    return row  # type: ignore[return-value]


def compare(kb: KnowledgeBase, data: object) -> Comparison:
    """One row per jurisdiction for the request ``data`` (its own policy and rounding are set
    aside so that each jurisdiction's defaults apply)."""
    request = validate(data)
    rows = [_row(kb, dict(request), j) for j in JURISDICTIONS]
    return {
        "request": request,
        "rows": rows,
        "knowledge_version": kb.version,
        "engine_version": ENGINE_VERSION,
        "disclaimer": kb.disclaimer,
    }
