"""At-risk rate ceilings applied to an IV schedule: the governing ceiling (or a site's or
prescriber's at-risk rate in its place), the notes that state every ceiling, and the rate plan cut
at it. :func:`ivig.core.schedule.compute_infusion_schedule` imports this module only when a ceiling
applies to the patient (:func:`ivig.core.schedule_risk.applicable_ceilings`).
"""

from __future__ import annotations

from ivig.core.schedule import _EPS  # the schedule's rate tolerance
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.results import CeilingOut as Ceiling

    Plan = list[tuple[float, float | None, str]]

__all__ = ["cap_plan", "ceiling_rate"]


def ceiling_rate(
    rule: Ceiling,
    ceilings: list[Ceiling],
    override: float | None,
    first_rate: float,
    label_top: float,
    notes: list[str],
) -> tuple[float, bool]:
    """(rate, strict) of the ceiling that limits the schedule - the governing one, ``rule``
    (:func:`~ivig.core.schedule_risk.governing`), or the at-risk rate ``override`` given in its
    place - with a note for every ceiling in ``notes``."""
    cap, strict = rule["rate_mg_per_kg_per_min"], bool(rule["strict"])
    notes += _ceiling_notes(ceilings, label_top)
    if override is not None:
        cap, strict, note = _apply_override(ceilings, override, first_rate, label_top)
        notes.append(note)
    return cap, strict


def _apply_override(
    ceilings: list[Ceiling], chosen: float, first_rate: float, label_top: float
) -> tuple[float, bool, str]:
    """A site's or prescriber's at-risk rate: it may replace only the chosen class ceilings."""
    fixed = [c for c in ceilings if not c["site_overridable"]]
    upper = min((c["rate_mg_per_kg_per_min"] for c in fixed), default=label_top)
    strict = any(c["strict"] and c["rate_mg_per_kg_per_min"] == upper for c in fixed)
    if chosen > upper or (strict and chosen >= upper) or chosen < first_rate:
        raise InputError(
            "at_risk_rate_mg_per_kg_per_min",
            chosen,
            f"{first_rate:g} to {upper:g}" + (" (exclusive)" if strict else ""),
            "mg/kg/min",
        )
    return chosen, False, f"Site or prescriber at-risk rate: {chosen:g} mg/kg/min."


def _ceiling_notes(ceilings: list[Ceiling], label_top: float) -> list[str]:
    notes: list[str] = []
    for n, c in enumerate(ceilings):
        sign = "<" if c["strict"] else "≤"
        lead = "At-risk ceiling" if n == 0 else "Also applies (higher)"
        flag = "" if c["verified"] else " [unverified]"
        notes.append(
            f"{lead} {sign}{c['rate_mg_per_kg_per_min']:g} mg/kg/min (label maximum "
            f"{label_top:g}) for {', '.join(c['risks'])}"
            f"{' (' + ', '.join(c['risk_factors']) + ')' if c['risk_factors'] else ''}: "
            f"{c['basis']} "
            f"[{', '.join(c['sources'])}]{flag}."
        )
    return notes


def cap_plan(plan: Plan, cap: float, strict: bool, ratio: float | None) -> Plan:
    """Cut the plan at the ceiling; a non-strict ceiling becomes the last step."""
    kept = [p for p in plan if (p[0] < cap if strict else p[0] <= cap + _EPS)]
    if not kept:
        raise InputError(
            "rate", plan[0][0], f"below {cap:g}", "mg/kg/min", "no labelled step is below"
        )
    if not strict and len(kept) < len(plan) and kept[-1][0] < cap - _EPS:
        interval = next((p[1] for p in plan[len(kept) :] if p[1] is not None), None)
        rate = kept[-1][0]
        while ratio is not None and rate * ratio < cap - _EPS:
            rate *= ratio
            kept.append((rate, interval, f"ward protocol: at most x{ratio:g} per step"))
        kept.append((cap, interval, "at-risk ceiling"))
    return kept
