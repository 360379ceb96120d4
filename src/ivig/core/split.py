"""The daily split of a course: how many days, within the days the regimen allows, and why.

The rules are knowledge data (``schedule_rules.yaml`` ``daily_split_rules``): the first rule
whose risk group or risk factor the patient has decides - heart failure / volume-overload risk
takes the longest split (the smallest volume a day), thrombosis risk keeps the regimen's default
and is offered the longest (a lower daily dose). Without one the regimen's default holds. Every
split the regimen allows is listed beside the chosen one (:func:`split_options`), so that a
shorter one stays on offer. Pure functions; no clinical number lives here.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.knowledge import KnowledgeBase

__all__ = ["REGIMEN_DEFAULT", "attach_split", "choose_split", "plan_split", "split_options"]

#: the "rule" of a split no risk rule chose
REGIMEN_DEFAULT = "regimen-default"


def _fired(kb: KnowledgeBase, ids: set[str], groups: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The first split rule the patient's risks fire, and the risks that fired it."""
    for rule in kb.data["schedule_rules"].get("daily_split_rules", []):
        hit_groups = set(rule.get("groups", [])) & groups
        hit_ids = set(rule.get("risk_factors", [])) & ids
        if hit_groups or hit_ids:
            named = sorted(
                rid
                for rid in ids
                if rid in hit_ids or set(kb.risk_factor(rid).get("groups", [])) & hit_groups
            )
            return dict(rule), named
    return {}, []


def _span(allowed: list[int]) -> str:
    low, high = allowed[0], allowed[-1]
    return f"{low} day(s)" if low == high else f"{low} to {high} days"


def choose_split(
    kb: KnowledgeBase,
    regimen: dict[str, Any],
    ids: set[str],
    groups: set[str],
    allowed: list[int],
) -> dict[str, Any]:
    """The number of days the plan splits the course over, the rule that chose it and why.

    ``ids`` are the patient's risk-factor ids, ``groups`` their label risk groups and
    ``allowed`` the day counts the regimen allows within its daily limits (ascending). The
    result has ``days``, ``rule`` (a rule id or :data:`REGIMEN_DEFAULT`), ``risks``, ``reason``,
    ``offer`` (the days offered beside it, or ``None``), ``changed`` (the rule moved the days
    off the regimen's default or offered another split), ``sources`` and ``verified``.
    """
    default = int(regimen["days"].get("default", regimen["days"]["min"]))
    longest = allowed[-1] if allowed else default
    rule, risks = _fired(kb, ids, groups)
    span = _span(allowed) if allowed else f"{default} day(s)"
    if not rule:
        return {
            "days": default,
            "rule": REGIMEN_DEFAULT,
            "risks": [],
            "reason": f"the regimen's default split, {default} day(s) (it allows {span})",
            "offer": None,
            "changed": False,
            "sources": [s["id"] for s in regimen["sources"]][:1],
            "verified": bool(regimen["verified"]),
        }
    days = longest if rule["default"] == "longest" else default
    offer = longest if rule.get("offer") == "longest" and longest != days else None
    head = f"rule {rule['id']} ({', '.join(risks)}): "
    if rule["default"] == "longest":
        reason = (
            f"{head}the longest split the regimen allows ({span}), {days} day(s): the smallest "
            "volume a day; the shorter splits stay on offer"
        )
    elif offer is not None:
        reason = (
            f"{head}the regimen's default split, {days} day(s) ({span}); {offer} days offered: "
            "a lower daily dose (the labels ask for the minimum dose and rate practicable)"
        )
    else:
        reason = (
            f"{head}the regimen's default split, {days} day(s) ({span}), is already the longest "
            "it allows: the lowest daily dose"
        )
    return {
        "days": days,
        "rule": rule["id"],
        "risks": risks,
        "reason": reason,
        "offer": offer,
        "changed": days != default or offer is not None,
        "sources": [s["id"] for s in rule["sources"]],
        "verified": bool(rule["verified"]),
    }


def split_options(
    choice: dict[str, Any],
    *,
    total_g: float,
    dosing_weight_kg: float,
    concentration_g_per_ml: float | None,
    allowed: list[int],
) -> list[dict[str, Any]]:
    """Every split the regimen allows: grams, g/kg and volume a day, the chosen one and the one
    offered marked (``total_g`` is the plan's course total)."""
    options: list[dict[str, Any]] = []
    chosen_g = total_g / choice["days"]
    for n in allowed:
        grams = total_g / n
        if n == choice["days"]:
            note = "chosen"
        elif n == choice["offer"]:
            note = (
                f"offered: lowers the daily dose from {chosen_g / dosing_weight_kg:.3g} to "
                f"{grams / dosing_weight_kg:.3g} g/kg/day"
            )
        else:
            note = "also possible"
        options.append(
            {
                "days": n,
                "grams_per_day": round(grams, 2),
                "g_per_kg_per_day": round(grams / dosing_weight_kg, 4),
                "volume_ml_per_day": round(grams / concentration_g_per_ml, 1)
                if concentration_g_per_ml
                else None,
                "chosen": n == choice["days"],
                "note": note,
            }
        )
    return options


def attach_split(plan: dict[str, Any], choice: dict[str, Any], allowed: list[int]) -> None:
    """Put the split, its options and a trace step naming the rule on the dose ``plan``."""
    from ivig.core.weight import step

    plan["split"] = {
        **choice,
        "options": split_options(
            choice,
            total_g=plan["total_g"],
            dosing_weight_kg=plan["dosing_weight_kg"],
            concentration_g_per_ml=plan["concentration_g_per_ml"],
            allowed=allowed,
        ),
    }
    at = next((n for n, s in enumerate(plan["steps"]) if s["step"] == "daily split"), None)
    trace = step(
        "days of the split",
        choice["reason"],
        {"rule": choice["rule"], "allowed_days": [str(n) for n in allowed]},
        choice["days"],
        "days",
        choice["sources"][0] if choice["sources"] else None,
    )
    plan["steps"].insert(len(plan["steps"]) if at is None else at, trace)


def plan_split(
    kb: KnowledgeBase, regimen: dict[str, Any], risks: list[Any]
) -> tuple[dict[str, Any], list[int]]:
    """The split of ``regimen`` for a patient with ``risks`` (findings or risk-factor ids), and
    the day counts the regimen allows at its default dose."""
    from ivig.core.dose import allowed_days
    from ivig.core.risk import risk_groups, risk_ids

    dose = regimen["dose_g_per_kg"]
    allowed = allowed_days(kb, regimen, dose.get("default", dose["min"]))
    ids = risk_ids(kb, risks)
    return choose_split(kb, regimen, ids, risk_groups(kb, ids), allowed), allowed
