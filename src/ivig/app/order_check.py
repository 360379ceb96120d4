"""Check an order: the prescriber's regimen beside the policy plan, with graded findings.

One use case (issue 14, "Check an order"): given a validated request and the regimen that was
ordered (product, grams per day x days or a total, interval, rate — each optional), compute the
policy plan with :func:`ivig.core.recommend.recommend` and say how far the order is from it:
ordered vs policy grams and g/kg, the difference in grams and per cent, the ratio, and findings
graded ``info`` / ``warning`` / ``critical``.

No clinical number lives here. Every limit comes from the knowledge base through the
recommendation or the indication's regimens:

* course total: the plan's ``dose.total_g`` and ``dose.max_total_g`` (the regimen's
  ``dose_g_per_kg`` range x the dosing weight);
* daily amount and days: every regimen of the plan's indication with its phase and route
  (``indications[].regimens``): ``max_g_per_kg_per_day`` when the regimen gives one, else
  ``dose_g_per_kg.max / days.min``, times the dosing weight; the ``days`` ranges;
* dose intensity of repeating regimens: ``dose_g_per_kg.max / interval_weeks.min`` x the dosing
  weight, against the plan's ``total_g / interval_weeks``;
* infusion rate: the schedule of the ordered product (``infusion``): its
  ``label_max_rate_mg_per_kg_per_min``, its at-risk ``ceilings`` (``strict`` or site-overridable)
  and its highest step, with the schedule's own ``weight_kg`` and ``concentration_g_per_ml``;
* product: the ranking's ``status`` (``excluded``, ``caution``) and ``reasons``.

The tolerance is the caller's setting (default: the knowledge base's ``order_tolerance_pct``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypedDict

from ivig.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase
    from ivig.results import Recommendation

__all__ = [
    "FindingCode",
    "Order",
    "OrderCheck",
    "OrderFinding",
    "Severity",
    "check_order",
    "default_tolerance_pct",
    "validate_order",
]


def default_tolerance_pct(kb: KnowledgeBase) -> float:
    """The knowledge base's default tolerance above the policy dose (reading
    ``order_tolerance_pct``; a site setting may override it)."""
    for reading in kb.data["medication_codes"]["readings"]:
        if reading["id"] == "order_tolerance_pct":
            return float(reading["value"])
    raise InputError("tolerance_pct", None, "a tolerance (the knowledge base gives none)", "%")


Severity = Literal["info", "warning", "critical"]
FindingCode = Literal[
    "within_policy",
    "above_policy",
    "below_policy",
    "above_regimen_maximum",
    "above_single_dose_maximum",
    "compared_per_week",
    "above_daily_maximum",
    "matches_other_regimen",
    "days_outside_regimen",
    "above_regimen_intensity",
    "above_policy_intensity",
    "excluded_product",
    "caution_product",
    "product_not_ranked",
    "product_route_mismatch",
    "interval_too_short",
    "interval_too_long",
    "interval_not_repeating",
    "rate_above_label_maximum",
    "rate_above_dosing_weight_maximum",
    "rate_above_sc_maximum",
    "rate_above_at_risk_ceiling",
    "rate_above_schedule",
    "rate_not_checked",
    "no_policy_dose",
    "dose_not_given",
    "dose_not_checked",
]
_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
#: grams compared to 0.01 g (the dose plan's precision)
_EPS_G = 0.005
#: a course total compared to 0.05 g: each of up to 5 days of the plan is rounded to 0.01 g
_EPS_COURSE_G = 0.05
#: rates compared to 0.1 mL/h (the schedule's precision)
_EPS_ML_PER_H = 0.05
#: a detection setting, not a clinical number: a figure typed in g/kg instead of g is about
#: 1/weight of the intended grams, below 5 % of it for any dosing weight above 20 kg
_UNIT_SLIP_FRACTION = 0.05
#: ranking effects that say nothing against a product (they only order the list)
_NEUTRAL_EFFECTS = frozenset({"prefer"})


class Order(TypedDict, total=False):
    """What was ordered; every field optional (``grams_per_day`` goes with ``days``)."""

    product: str | None
    grams_per_day: float
    days: int
    total_g: float
    interval_weeks: float
    rate_ml_per_h: float
    #: the order gives a dose (or a rate) that could not be read: why (it is not checked)
    dose_not_read: str
    rate_not_read: str


class OrderFinding(TypedDict):
    code: FindingCode
    severity: Severity
    message: str


class OrderCheck(TypedDict):
    """The order beside the policy plan (``None`` where the order or the plan lacks it)."""

    plan_status: str
    severity: Severity
    ordered_total_g: float | None
    ordered_grams_per_day: float | None
    ordered_days: int | None
    ordered_interval_weeks: float | None
    ordered_g_per_kg: float | None
    ordered_g_per_kg_per_day: float | None
    ordered_g_per_kg_per_week: float | None
    ordered_rate_mg_per_kg_per_min: float | None
    policy_total_g: float | None
    policy_grams_per_day: float | None
    policy_days: int | None
    policy_interval_weeks: float | None
    policy_g_per_kg: float | None
    policy_g_per_kg_per_week: float | None
    regimen_max_total_g: float | None
    dosing_weight_kg: float | None
    difference_g: float | None
    difference_pct: float | None
    ratio: float | None
    #: what ``difference_g``, ``difference_pct`` and ``ratio`` compare: one dose (course) with
    #: the policy dose, or grams per week when the order repeats at another interval than the plan
    compared_per: Literal["dose", "week"]
    tolerance_pct: float
    findings: list[OrderFinding]
    recommendation: dict[str, Any]


#: engineering bounds of an order's figures (not clinical limits: an order far above the policy
#: must stay checkable, so these only refuse what no order can be)
ORDER_BOUNDS: dict[str, tuple[float, float, str]] = {
    "grams_per_day": (0.0, 100_000.0, "g"),
    "total_g": (0.0, 100_000.0, "g"),
    "interval_weeks": (1 / 7, 520.0, "weeks"),
    "rate_ml_per_h": (0.0, 100_000.0, "mL/h"),
    "days": (1.0, 366.0, "days"),
}


def _positive(order: Mapping[str, Any], name: str) -> float | None:
    value = order.get(name)
    if value is None:
        return None
    low, high, unit = ORDER_BOUNDS[name]
    allowed = (
        f"a number above {low:g} and at most {high:g}"
        if low == 0
        else (f"a number from {low:.4g} to {high:g}")
    )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"order.{name}", value, allowed, unit)
    if isinstance(value, int) and not -(10**18) < value < 10**18:  # math.isfinite overflows
        raise InputError(f"order.{name}", "(a number of more than 18 digits)", allowed, unit)
    if not math.isfinite(value) or value <= 0 or value < low or value > high:
        raise InputError(f"order.{name}", value, allowed, unit)
    return float(value)


def _why(order: Mapping[str, Any], name: str) -> str:
    if not isinstance(order[name], str) or not order[name]:
        raise InputError(f"order.{name}", order[name], "a text saying why it was not read")
    return str(order[name])


def validate_order(order: Mapping[str, Any]) -> Order:
    """``order`` checked field by field (an :class:`InputError` names the first bad one)."""
    allowed = set(Order.__annotations__)
    for key in order:
        if key not in allowed:
            raise InputError(f"order.{key}", order[key], "one of " + ", ".join(sorted(allowed)))
    out: Order = {}
    product = order.get("product")
    if product is not None:
        if not isinstance(product, str) or not product:
            raise InputError("order.product", product, "a product id (ivig kb products)")
        out["product"] = product
    if "dose_not_read" in order:
        out["dose_not_read"] = _why(order, "dose_not_read")
    if "rate_not_read" in order:
        out["rate_not_read"] = _why(order, "rate_not_read")
    for name in ("grams_per_day", "total_g", "interval_weeks", "rate_ml_per_h"):
        value = _positive(order, name)
        if value is not None:
            out[name] = value
    days = _positive(order, "days")
    if days is not None:
        if days != int(days):
            raise InputError("order.days", order["days"], "a whole number of days, 1 to 366")
        out["days"] = int(days)
    if "grams_per_day" in out and "days" not in out:
        raise InputError("order.days", None, "the number of days of grams_per_day")
    if "grams_per_day" in out and "total_g" in out:
        total = out["grams_per_day"] * out["days"]
        if abs(total - out["total_g"]) > _EPS_G * max(1, out["days"]):
            raise InputError(
                "order.total_g",
                out["total_g"],
                f"grams_per_day x days ({total:g} g), or one of the two forms only",
                "g",
            )
    return out


def _finding(code: FindingCode, severity: Severity, message: str) -> OrderFinding:
    return {"code": code, "severity": severity, "message": message}


def _mgkg(value: float) -> str:
    """A rate in mg/kg/min to 0.01, as the plan shows it (3.32, not 3.3 or 3.3194)."""
    return f"{round(value, 2):g}"


def _weeks(value: float) -> str:
    return "week" if value == 1 else f"{value:g} weeks"


def _times(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "x"


def _g(value: float) -> str:
    return f"{round(value, 2):g}"


def _over(value: float, limit: float, tolerance_pct: float) -> bool:
    """``value`` above ``limit`` by more than ``tolerance_pct``, grams compared to the plan's
    own rounding (each day to 0.01 g, the last day taking the remainders)."""
    return value > limit * (1 + tolerance_pct / 100.0) + _EPS_COURSE_G


# --- course total ----------------------------------------------------------------------------


def _unit_slip_hint(
    ordered: float, planned: float, weight_kg: float, tolerance_pct: float, per: str = ""
) -> str:
    """ "; did you mean X g/kg (= Y g)?" when ``ordered`` is below 5 % of the plan's figure and
    ``ordered`` read as g/kg (x the dosing weight) is within the tolerance of it (``per``:
    "/day" for a daily figure)."""
    if ordered >= planned * _UNIT_SLIP_FRACTION:
        return ""
    as_grams = ordered * weight_kg
    if abs(as_grams - planned) > planned * tolerance_pct / 100.0 + _EPS_G:
        return ""
    return f"; did you mean {ordered:g} g/kg{per} (= {_g(as_grams)} g{per})?"


def _dose_findings(
    ordered_total: float,
    policy_total: float,
    max_total: float,
    tolerance_pct: float,
    hint: str = "",
) -> list[OrderFinding]:
    """Ordered total against the policy dose (``dose.total_g``) and the regimen maximum
    (``dose.max_total_g``); ``hint`` (a unit slip) is added to a dose below the policy."""
    same = abs(ordered_total - policy_total) <= _EPS_COURSE_G  # days rounded to 0.01 g each
    pct = 0.0 if same else (ordered_total - policy_total) / policy_total * 100.0
    ratio = ordered_total / policy_total
    found: list[OrderFinding] = []
    # the tolerance applies to the maximum too: a fixed regimen's maximum is its policy dose
    if _over(ordered_total, max_total, tolerance_pct):
        found.append(
            _finding(
                "above_regimen_maximum",
                "critical",
                f"{_g(ordered_total)} g ordered is above the regimen maximum of {_g(max_total)} g "
                f"by more than {tolerance_pct:g} % ({_times(ratio)} the policy dose of "
                f"{_g(policy_total)} g)",
            )
        )
    if pct > tolerance_pct:
        found.append(
            _finding(
                "above_policy",
                "warning",
                f"{_g(ordered_total)} g ordered is {pct:.0f} % above the policy dose of "
                f"{_g(policy_total)} g (tolerance {tolerance_pct:g} %)",
            )
        )
    elif pct < -tolerance_pct:
        found.append(
            _finding(
                "below_policy",
                "warning",
                f"{_g(ordered_total)} g ordered is {-pct:.0f} % below the policy dose of "
                f"{_g(policy_total)} g (tolerance {tolerance_pct:g} %){hint}",
            )
        )
    else:
        found.append(
            _finding(
                "within_policy",
                "info",
                f"{_g(ordered_total)} g ordered is within {tolerance_pct:g} % of the policy dose "
                f"of {_g(policy_total)} g",
            )
        )
    return found


# --- the regimens of the plan's indication, phase and route ----------------------------------


def _regimen(kb: KnowledgeBase, dose: Mapping[str, Any]) -> dict[str, Any] | None:
    indication = kb.indication(dose["indication"])
    wanted = dose["regimen"]["id"]
    return next((dict(r) for r in indication.get("regimens", []) if r["id"] == wanted), None)


def _sibling_regimens(kb: KnowledgeBase, dose: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every regimen of the plan's indication with the plan's phase and route
    (``indications[].regimens`` of the knowledge base), the plan's own regimen always among them."""
    indication = kb.indication(dose["indication"])
    found = [
        dict(r)
        for r in indication.get("regimens", [])
        if r.get("phase") == dose["phase"] and r.get("route") == dose["route"]
    ]
    own = _regimen(kb, dose)
    if own is not None and all(r["id"] != own["id"] for r in found):
        found.append(own)
    return found


def _name(regimen: Mapping[str, Any]) -> str:
    label = regimen.get("label")
    return f"{regimen['id']} [{label}]" if label else str(regimen["id"])


def _span(rng: Mapping[str, Any]) -> str:
    low, high = float(rng["min"]), float(rng["max"])
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def _span_weeks(rng: Mapping[str, Any]) -> str:
    """``1 week``, ``2 weeks``, ``2-6 weeks``."""
    return f"{_span(rng)} week" if float(rng["max"]) == 1 else f"{_span(rng)} weeks"


def _kind(dose: Mapping[str, Any]) -> str:
    return f"{dose['phase']} {dose['route']} regimen of {dose['indication']}"


def _daily_g_per_kg(regimen: Mapping[str, Any]) -> float | None:
    """The regimen's largest daily amount: ``max_g_per_kg_per_day`` when it gives one, else
    ``dose_g_per_kg.max / days.min``; ``None`` when it gives neither."""
    if regimen.get("max_g_per_kg_per_day") is not None:
        return float(regimen["max_g_per_kg_per_day"])
    dose_range, days = regimen.get("dose_g_per_kg"), regimen.get("days")
    if not dose_range or not days or not days.get("min"):
        return None
    return float(dose_range["max"]) / float(days["min"])


def _weekly_g_per_kg(regimen: Mapping[str, Any]) -> float | None:
    """A repeating regimen's highest dose intensity: ``dose_g_per_kg.max / interval_weeks.min``;
    ``None`` for a regimen that does not repeat."""
    dose_range, interval = regimen.get("dose_g_per_kg"), regimen.get("interval_weeks")
    if not dose_range or not interval or not interval.get("min"):
        return None
    return float(dose_range["max"]) / float(interval["min"])


def _limits(
    regimens: Sequence[Mapping[str, Any]], per_kg: Callable[[Mapping[str, Any]], float | None]
) -> list[tuple[Mapping[str, Any], float]]:
    out: list[tuple[Mapping[str, Any], float]] = []
    for regimen in regimens:
        value = per_kg(regimen)
        if value is not None:
            out.append((regimen, value))
    return out


def _names_at(limits: Sequence[tuple[Mapping[str, Any], float]], value: float) -> str:
    return ", ".join(_name(r) for r, v in limits if math.isclose(v, value, rel_tol=1e-9))


# --- daily amount and days -------------------------------------------------------------------


def _daily_findings(
    regimens: Sequence[Mapping[str, Any]],
    dose: Mapping[str, Any],
    grams_per_day: float | None,
    tolerance_pct: float,
) -> list[OrderFinding]:
    """The ordered g/day against the largest daily amount any regimen of the plan's indication,
    phase and route allows (critical above it), and against the plan's own regimen (info when
    above it but within another regimen, naming that regimen)."""
    limits = _limits(regimens, _daily_g_per_kg)
    if grams_per_day is None or not limits:
        return []
    weight_kg = float(dose["dosing_weight_kg"])
    head = f"{_g(grams_per_day)} g/day ordered = {_g(grams_per_day / weight_kg)} g/kg/day"
    top = max(v for _, v in limits)
    if _over(grams_per_day, top * weight_kg, tolerance_pct):
        return [
            _finding(
                "above_daily_maximum",
                "critical",
                f"{head}, above the most any {_kind(dose)} allows: {top:g} g/kg/day = "
                f"{_g(top * weight_kg)} g/day on {weight_kg:g} kg (tolerance {tolerance_pct:g} %; "
                f"{_names_at(limits, top)})",
            )
        ]
    own = next((v for r, v in limits if r["id"] == dose["regimen"]["id"]), None)
    if own is None or not _over(grams_per_day, own * weight_kg, tolerance_pct):
        return []
    matching = [r for r, v in limits if not _over(grams_per_day, v * weight_kg, tolerance_pct)]
    return [
        _finding(
            "matches_other_regimen",
            "info",
            f"{head}, above the plan's regimen {dose['regimen']['id']} ({own:g} g/kg/day = "
            f"{_g(own * weight_kg)} g/day on {weight_kg:g} kg), matches the daily amount of "
            + ", ".join(_name(r) for r in matching),
        )
    ]


def _at_risk_faster(findings: list[OrderFinding], at_risk: list[str]) -> list[OrderFinding]:
    """A daily amount above the plan's for a patient at renal, thrombosis or volume risk is a
    warning, not information: the labels' boxed warning asks for the minimum dose and rate
    practicable, and the plan's slower split is the one it chose for that risk."""
    if not at_risk:
        return findings
    out: list[OrderFinding] = []
    for found in findings:
        if found["code"] != "matches_other_regimen":
            out.append(found)
            continue
        out.append(
            _finding(
                found["code"],
                "warning",
                f"{found['message']}; for a patient at risk ({', '.join(at_risk)}) the labels ask "
                "for the minimum dose and rate practicable: the plan's smaller daily amount is "
                "preferred",
            )
        )
    return out


def _days_findings(
    regimens: Sequence[Mapping[str, Any]], dose: Mapping[str, Any], days: int | None
) -> list[OrderFinding]:
    """Ordered days outside the ``days`` range of every regimen of the plan's indication, phase
    and route."""
    ranged = [r for r in regimens if r.get("days")]
    if days is None or not ranged:
        return []
    if any(r["days"]["min"] - 1e-9 <= days <= r["days"]["max"] + 1e-9 for r in ranged):
        return []
    spans = "; ".join(f"{r['id']} {_span(r['days'])} day(s)" for r in ranged)
    return [
        _finding(
            "days_outside_regimen",
            "warning",
            f"{days} day(s) ordered is outside the days of every {_kind(dose)}: {spans}",
        )
    ]


# --- dose intensity of repeating regimens ----------------------------------------------------


def _intensity_findings(
    regimens: Sequence[Mapping[str, Any]],
    dose: Mapping[str, Any],
    ordered_total: float | None,
    interval_weeks: float | None,
    tolerance_pct: float,
) -> list[OrderFinding]:
    """Ordered g/week (total / interval) against the regimens' highest intensity (critical above
    it) and the plan's (policy total / plan interval; warning above it)."""
    plan_interval = dose.get("interval_weeks")
    if ordered_total is None or interval_weeks is None or not plan_interval:
        return []
    weight_kg = float(dose["dosing_weight_kg"])
    ordered_per_week = ordered_total / interval_weeks
    plan_per_week = float(dose["total_g"]) / float(plan_interval)
    head = (
        f"{_g(ordered_total)} g every {_weeks(interval_weeks)} = "
        f"{_g(ordered_per_week / weight_kg)} g/kg/week"
    )
    plan = (
        f"the plan's {_g(float(dose['total_g']))} g every {_weeks(float(plan_interval))} = "
        f"{_g(plan_per_week / weight_kg)} g/kg/week ({_times(ordered_per_week / plan_per_week)})"
    )
    limits = _limits(regimens, _weekly_g_per_kg)
    top = max((v for _, v in limits), default=None)
    if top is not None and _over(ordered_per_week, top * weight_kg, tolerance_pct):
        return [
            _finding(
                "above_regimen_intensity",
                "critical",
                f"{head}, above the most any {_kind(dose)} allows: {_g(top)} g/kg/week = "
                f"{_g(top * weight_kg)} g/week on {weight_kg:g} kg (tolerance {tolerance_pct:g} "
                f"%; largest dose over shortest interval of {_names_at(limits, top)}); {plan}",
            )
        ]
    if _over(ordered_per_week, plan_per_week, tolerance_pct):
        return [
            _finding(
                "above_policy_intensity",
                "warning",
                f"{head}, above {plan} by more than {tolerance_pct:g} %",
            )
        ]
    return []


def _interval_findings(
    regimen: Mapping[str, Any] | None, dose: Mapping[str, Any], interval_weeks: float | None
) -> list[OrderFinding]:
    """The ordered interval against the plan regimen's ``interval_weeks`` range."""
    if interval_weeks is None:
        return []
    rng = regimen.get("interval_weeks") if regimen else None
    if rng is None:
        return [
            _finding(
                "interval_not_repeating",
                "info",
                f"an interval of {interval_weeks:g} weeks was ordered; the regimen "
                f"{dose['regimen']['id']} is not a repeating one",
            )
        ]
    if interval_weeks < rng["min"] - 1e-9:
        return [
            _finding(
                "interval_too_short",
                "warning",
                f"every {_weeks(interval_weeks)} ordered is shorter than the regimen's "
                f"{_span_weeks(rng)}",
            )
        ]
    if interval_weeks > rng["max"] + 1e-9:
        return [
            _finding(
                "interval_too_long",
                "info",
                f"every {_weeks(interval_weeks)} ordered is longer than the regimen's "
                f"{_span_weeks(rng)}",
            )
        ]
    return []


# --- product ---------------------------------------------------------------------------------


def _reason_texts(reasons: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(str(r.get("text", r.get("id", ""))) for r in reasons)


def _caution_reasons(kb: KnowledgeBase, entry: Mapping[str, Any]) -> str:
    """The ranking's reasons that come from a patient rule (``ranking_rules`` whose effect is
    not a mere preference): the reasons for the caution, not the list-ordering notes."""
    effects = {r["id"]: r.get("effect") for r in kb.data["ranking_rules"]}
    chosen = [
        r
        for r in entry.get("reasons", [])
        if r.get("rule") in effects and effects[r["rule"]] not in _NEUTRAL_EFFECTS
    ]
    return _reason_texts(chosen)


def _first_ranked(rec: Mapping[str, Any], product: str) -> str:
    """The product the plan uses (the first ranked that it can plan), when it is another."""
    planned = (rec.get("dose") or {}).get("product")
    if planned is None or planned == product:
        return ""
    entry = next((p for p in rec.get("products", []) if p["id"] == planned), None)
    if entry is None:
        return ""
    return f"; the plan uses {entry['name']} (rank {entry['rank']}, {entry['status']})"


def _route_findings(
    kb: KnowledgeBase, rec: Mapping[str, Any], product: str | None, product_name: str | None
) -> list[OrderFinding]:
    """A product that is not given by the plan's route (Hizentra, SC only, for an IV plan):
    critical."""
    dose = rec.get("dose")
    if product is None or not dose:
        return []
    routes = list(kb.product(product)["routes"])
    if dose["route"] in routes:
        return []
    given = " or ".join(r.upper() for r in routes)
    return [
        _finding(
            "product_route_mismatch",
            "critical",
            f"{product_name or product} is given {given} only; the plan is "
            f"{str(dose['route']).upper()} ({dose['regimen']['id']})",
        )
    ]


def _ranked_entry(
    kb: KnowledgeBase, rec: Mapping[str, Any], policy_request: Mapping[str, Any], product: str
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The ordered product's place in the plan's ranking, or - when the region or formulary
    left it out - in a ranking of it alone for this patient (the patient's rules still apply),
    with the recommendation that ranked it."""
    from ivig.core.recommend import recommend

    ranked = {p["id"]: p for p in rec.get("products", [])}
    if product in ranked:
        return ranked[product], dict(rec)
    alone: dict[str, Any] = dict(recommend(kb, {**policy_request, "formulary": [product]}))  # type: ignore[typeddict-item]
    entry = next((p for p in alone.get("products", []) if p["id"] == product), None)
    return entry, alone


def _product_findings(
    kb: KnowledgeBase,
    rec: Mapping[str, Any],
    policy_request: Mapping[str, Any],
    product: str | None,
    product_name: str | None,
) -> list[OrderFinding]:
    """The ordered product's ranking status: ``excluded`` is critical, ``caution`` a warning
    naming the ranking's reasons; a product outside the plan's ranking (region, formulary) is
    ranked alone for the patient, and said to be outside."""
    if product is None:
        return []
    name = product_name or product
    found: list[OrderFinding] = []
    outside = product not in {p["id"] for p in rec.get("products", [])}
    if outside:
        found.append(
            _finding(
                "product_not_ranked",
                "info",
                f"{name} is not among the products ranked for this patient "
                "(route, region or formulary); the patient's product rules were applied to it",
            )
        )
    entry, ranking = _ranked_entry(kb, rec, policy_request, product)
    if entry is None:
        return found
    if entry["status"] == "excluded":
        why = _caution_reasons(kb, entry) or _reason_texts(entry.get("reasons", []))
        found.append(
            _finding(
                "excluded_product",
                "critical",
                f"{name} is excluded for this patient" + (f": {why}" if why else ""),
            )
        )
    elif entry["status"] == "caution":
        why = _caution_reasons(kb, entry)
        place = "" if outside else f" (rank {entry['rank']})"
        found.append(
            _finding(
                "caution_product",
                "warning",
                f"{name} is ranked with caution for this patient{place}"
                + (f": {why}" if why else "")
                + ("" if outside else _first_ranked(ranking, product)),
            )
        )
    return found


# --- infusion rate ---------------------------------------------------------------------------


def _ml_per_h(infusion: Mapping[str, Any], mg_per_kg_per_min: float) -> float:
    """mg/kg/min as mL/h with the schedule's own dosing weight and concentration."""
    return (
        mg_per_kg_per_min
        * float(infusion["weight_kg"])
        * 60.0
        / (float(infusion["concentration_g_per_ml"]) * 1000.0)
    )


def _mg_per_kg_per_min(infusion: Mapping[str, Any], rate_ml_per_h: float) -> float:
    """mL/h x g/mL x 1000 / (60 x kg), with the schedule's own dosing weight and concentration."""
    return (
        rate_ml_per_h
        * float(infusion["concentration_g_per_ml"])
        * 1000.0
        / (60.0 * float(infusion["weight_kg"]))
    )


def _rate_head(infusion: Mapping[str, Any], rate_ml_per_h: float) -> str:
    mg = _mg_per_kg_per_min(infusion, rate_ml_per_h)
    return f"{rate_ml_per_h:g} mL/h ordered = {_mgkg(mg)} mg/kg/min"


def _rate_basis(infusion: Mapping[str, Any]) -> str:
    return (
        f"{infusion['product_name']} {float(infusion['concentration_g_per_ml']):g} g/mL on "
        f"{float(infusion['weight_kg']):g} kg, rate record {infusion['rate_record']}"
    )


def _at_kg(infusion: Mapping[str, Any], mg_per_kg_per_min: float, kg: float) -> float:
    """mg/kg/min as mL/h on ``kg`` with the schedule's concentration."""
    return mg_per_kg_per_min * kg * 60.0 / (float(infusion["concentration_g_per_ml"]) * 1000.0)


def _rate_vs_label(infusion: Mapping[str, Any], rate_ml_per_h: float) -> OrderFinding | None:
    """Above the label maximum (``label_max_rate_mg_per_kg_per_min``). The labels count mg
    per kg of body weight: above the maximum on the actual weight is critical; above it only on
    the (lower) dosing weight the plan's rates use is a warning."""
    label = infusion.get("label_max_rate_mg_per_kg_per_min")
    if not label or rate_ml_per_h <= _ml_per_h(infusion, float(label)) + _EPS_ML_PER_H:
        return None
    top = float(label)
    dosing_kg = float(infusion["weight_kg"])
    actual_kg = float(infusion.get("actual_weight_kg") or dosing_kg)
    on_actual = _at_kg(infusion, top, actual_kg)
    if actual_kg > dosing_kg and rate_ml_per_h <= on_actual + _EPS_ML_PER_H:
        return _finding(
            "rate_above_dosing_weight_maximum",
            "warning",
            f"{_rate_head(infusion, rate_ml_per_h)} on the dosing weight: above the label "
            f"maximum of {top:g} mg/kg/min on the dosing weight ("
            f"{round(_ml_per_h(infusion, top), 1):g} mL/h at {dosing_kg:g} kg) but within it on "
            f"the actual weight ({round(on_actual, 1):g} mL/h at {actual_kg:g} kg); the plan's "
            f"rates use the dosing weight ({_rate_basis(infusion)})",
        )
    times = rate_ml_per_h / on_actual
    # the ratio and the mg/kg/min beside it on one weight: the actual one the label counts
    head = f"{rate_ml_per_h:g} mL/h ordered = {_mgkg(times * top)} mg/kg/min"
    on = "" if actual_kg == dosing_kg else f" of the actual weight ({actual_kg:g} kg)"
    return _finding(
        "rate_above_label_maximum",
        "critical",
        f"{head}{on}, {_times(times)} the label maximum of {top:g} mg/kg/min = "
        f"{round(on_actual, 1):g} mL/h on the actual weight of {actual_kg:g} kg "
        f"({_rate_basis(infusion)})",
    )


def _rate_vs_ceilings(infusion: Mapping[str, Any], rate_ml_per_h: float) -> OrderFinding | None:
    """Above an at-risk ceiling (``ceilings``): critical when the ceiling is strict, a warning
    when the site may override it."""
    above = [
        c
        for c in infusion.get("ceilings") or []
        if rate_ml_per_h > _ml_per_h(infusion, float(c["rate_mg_per_kg_per_min"])) + _EPS_ML_PER_H
    ]
    if not above:
        return None
    strict = [c for c in above if c["strict"]]
    ceiling = min(strict or above, key=lambda c: float(c["rate_mg_per_kg_per_min"]))
    limit = float(ceiling["rate_mg_per_kg_per_min"])
    risks = ", ".join(ceiling["risks"]) or "risk"
    factors = ", ".join(ceiling["risk_factors"])
    how = "a strict ceiling" if strict else "the site may override this ceiling"
    return _finding(
        "rate_above_at_risk_ceiling",
        "critical" if strict else "warning",
        f"{_rate_head(infusion, rate_ml_per_h)}, above the at-risk ceiling of {limit:g} "
        f"mg/kg/min = {round(_ml_per_h(infusion, limit), 1):g} mL/h for {risks}"
        + (f" ({factors})" if factors else "")
        + f"; {how} ({ceiling['id']}; {_rate_basis(infusion)})",
    )


def _rate_vs_schedule(infusion: Mapping[str, Any], rate_ml_per_h: float) -> OrderFinding | None:
    """Above the schedule's highest step only: a warning."""
    top = max(infusion["steps"], key=lambda s: float(s["rate_ml_per_h"]))
    if rate_ml_per_h <= float(top["rate_ml_per_h"]) + _EPS_ML_PER_H:
        return None
    return _finding(
        "rate_above_schedule",
        "warning",
        f"{_rate_head(infusion, rate_ml_per_h)}, above the schedule's highest step of "
        f"{round(float(top['rate_ml_per_h']), 1):g} mL/h "
        f"({_mgkg(float(top['rate_mg_per_kg_per_min']))} mg/kg/min; {_rate_basis(infusion)})",
    )


def _rate_findings(
    rec: Mapping[str, Any], rate_ml_per_h: float | None, product: str | None
) -> list[OrderFinding]:
    """The ordered rate against the most binding limit it exceeds: the label maximum, then an
    at-risk ceiling, then the schedule's highest step (one finding; subcutaneous schedules: the
    top step only)."""
    if rate_ml_per_h is None:
        return []
    infusion = rec.get("infusion")
    if not infusion or not infusion.get("steps"):
        return [
            _finding(
                "rate_not_checked",
                "info",
                f"{rate_ml_per_h:g} mL/h ordered could not be checked: the knowledge base has "
                f"no infusion schedule for {product or 'the planned product'}",
            )
        ]
    # a subcutaneous schedule's top step is a rate per site times the plan's sites: an order with
    # more sites may run faster in total, up to the label's sites x its rate per site
    checks = (
        (_rate_vs_label, _rate_vs_ceilings, _rate_vs_schedule)
        if infusion.get("route") == "iv"
        else (_rate_vs_sc_sites, _rate_vs_schedule)
    )
    found = [f for f in (check(infusion, rate_ml_per_h) for check in checks) if f is not None]
    if not found:
        return []
    return [max(found, key=lambda f: _RANK[f["severity"]])]  # the first of the most serious


def _rate_vs_sc_sites(infusion: Mapping[str, Any], rate_ml_per_h: float) -> OrderFinding | None:
    """A subcutaneous rate above the label's highest rate per site times the most sites it
    allows: critical. Where the label gives no limit on the number of sites, the plan's sites
    (from the label's volume per site) stand in for it, and the message says so: a faster order
    needs more sites than the plan sets up."""
    sc = infusion.get("sc") or {}
    per_site = sc.get("max_rate_ml_per_h_per_site")
    if not per_site:
        return None
    label_sites, plan_sites = sc.get("max_sites"), sc.get("sites")
    sites = label_sites or plan_sites
    if not sites or rate_ml_per_h <= sites * per_site + _EPS_ML_PER_H:
        return None
    needed = math.ceil(rate_ml_per_h / per_site - 1e-9)
    plan = f"{plan_sites} site(s) at {sc.get('rate_ml_per_h_per_site'):g} mL/h each"
    if label_sites:
        limit = f"the label's {label_sites:g} sites x {per_site:g} mL/h per site"
        tail = f" (the plan: {plan})"
    else:
        limit = f"the plan's {plan_sites} site(s) x the label's {per_site:g} mL/h per site"
        tail = (
            f"; it needs at least {needed} sites at the label's rate per site, and the label "
            f"states no number of sites: confirm the sites (the plan: {plan})"
        )
    return _finding(
        "rate_above_sc_maximum",
        "critical",
        f"{rate_ml_per_h:g} mL/h ordered is above {limit} = {sites * per_site:g} mL/h for "
        f"{infusion['product_name']}{tail}",
    )


# --- the use case ----------------------------------------------------------------------------


def _ordered_amounts(order: Order) -> tuple[float | None, float | None, int | None]:
    days = order.get("days")
    if "grams_per_day" in order:
        return order["grams_per_day"] * order["days"], order["grams_per_day"], days
    total = order.get("total_g")
    per_day = total / days if total is not None and days else None
    return total, per_day, days


def _empty_result(rec: dict[str, Any], order: Order, tolerance_pct: float) -> dict[str, Any]:
    ordered_total, ordered_per_day, ordered_days = _ordered_amounts(order)
    dose = rec.get("dose")
    return {
        "plan_status": str(rec.get("plan_status", "ready" if dose else "none")),
        "ordered_total_g": ordered_total,
        "ordered_grams_per_day": ordered_per_day,
        "ordered_days": ordered_days,
        "ordered_interval_weeks": order.get("interval_weeks"),
        "ordered_g_per_kg": None,
        "ordered_g_per_kg_per_day": None,
        "ordered_g_per_kg_per_week": None,
        "ordered_rate_mg_per_kg_per_min": None,
        "policy_total_g": None,
        "policy_grams_per_day": None,
        "policy_days": None,
        "policy_interval_weeks": (dose or {}).get("interval_weeks"),
        "policy_g_per_kg": None,
        "policy_g_per_kg_per_week": None,
        "regimen_max_total_g": None,
        "dosing_weight_kg": None,
        "compared_per": "dose",
        "difference_g": None,
        "difference_pct": None,
        "ratio": None,
        "tolerance_pct": float(tolerance_pct),
        "recommendation": rec,
    }


def _checked_tolerance(kb: KnowledgeBase, tolerance_pct: float | None) -> float:
    if tolerance_pct is None:
        tolerance_pct = default_tolerance_pct(kb)
    if isinstance(tolerance_pct, bool) or not 0 <= tolerance_pct < 1000:
        raise InputError("tolerance_pct", tolerance_pct, "a percentage from 0 to below 1000", "%")
    return float(tolerance_pct)


def _rate_plan(
    kb: KnowledgeBase,
    rec: dict[str, Any],
    policy_request: Mapping[str, Any],
    product: str | None,
    rate_ml_per_h: float | None,
) -> dict[str, Any]:
    """The recommendation whose infusion schedule applies to the ordered rate: the plan's, or
    the one recomputed for the ordered product when it differs from the plan's."""
    from ivig.core.recommend import recommend

    dose = rec.get("dose") or {}
    if rate_ml_per_h is None or product is None or product == dose.get("product"):
        return rec
    return dict(recommend(kb, {**policy_request, "product": product}))  # type: ignore[typeddict-item]


def check_order(
    kb: KnowledgeBase,
    request: Request,
    order: Mapping[str, Any],
    *,
    tolerance_pct: float | None = None,
    plan: Recommendation | None = None,
) -> OrderCheck:
    """The order beside the policy plan for ``request`` (validated against the contract);
    ``tolerance_pct`` defaults to the knowledge base's (:func:`default_tolerance_pct`).

    ``plan``: the recommendation the caller already composed for this very ``request``. It is
    the policy plan only when the request names no product (the policy plan is composed
    without one), so it is used then and composed again otherwise."""
    from ivig.core.recommend import recommend

    tolerance = _checked_tolerance(kb, tolerance_pct)
    checked = validate_order(order)
    product = checked.get("product")
    product_name = kb.product(product)["name"] if product else None  # raises on unknown ids
    policy_request = dict(request)
    policy_request.pop("product", None)
    if plan is not None and "product" not in request:
        rec: dict[str, Any] = dict(plan)
    else:
        rec = dict(recommend(kb, policy_request))  # type: ignore[arg-type]
    result = _empty_result(rec, checked, tolerance)
    dose = rec.get("dose")
    findings: list[OrderFinding] = []
    if dose is None:
        findings.append(
            _finding(
                "no_policy_dose",
                "warning",
                "no policy dose to compare with: " + str(rec["eligibility"]["reason"]),
            )
        )
    else:
        findings += _compare(kb, result, dose, checked)
        rate = checked.get("rate_ml_per_h")
        rate_rec = _rate_plan(kb, rec, policy_request, product, rate)
        findings += _rate_findings(rate_rec, rate, product)
        if checked.get("rate_not_read"):
            findings.append(
                _finding(
                    "rate_not_checked",
                    "warning",
                    "the order's rate was not checked: it could not be read "
                    f"({checked['rate_not_read']})",
                )
            )
        _fill_rate(result, rate_rec, rate)
    route = _route_findings(kb, rec, product, product_name)
    findings += route or _product_findings(kb, rec, policy_request, product, product_name)
    result["findings"] = findings
    result["severity"] = max(
        (f["severity"] for f in findings), key=_RANK.__getitem__, default="info"
    )
    return result  # type: ignore[return-value]


def _fill_rate(result: dict[str, Any], rec: Mapping[str, Any], rate_ml_per_h: float | None) -> None:
    infusion = rec.get("infusion")
    if rate_ml_per_h is not None and infusion and infusion.get("steps"):
        result["ordered_rate_mg_per_kg_per_min"] = round(
            _mg_per_kg_per_min(infusion, rate_ml_per_h), 2
        )


def _fill_policy(result: dict[str, Any], dose: Mapping[str, Any]) -> None:
    """The policy figures of ``result`` (from the plan's ``dose``)."""
    weight_kg = float(dose["dosing_weight_kg"])
    policy_total = float(dose["total_g"])
    policy_days = len(dose["days"])
    interval = dose.get("interval_weeks")
    result.update(
        policy_total_g=policy_total,
        policy_grams_per_day=round(policy_total / policy_days, 2),
        policy_days=policy_days,
        policy_g_per_kg=float(dose["g_per_kg"]),
        policy_g_per_kg_per_week=(
            round(policy_total / float(interval) / weight_kg, 4) if interval else None
        ),
        regimen_max_total_g=float(dose["max_total_g"]),
        dosing_weight_kg=weight_kg,
    )


def _fill_ordered(result: dict[str, Any], dose: Mapping[str, Any], order: Order) -> None:
    """The ordered figures per kg and the difference from the policy dose."""
    weight_kg = float(dose["dosing_weight_kg"])
    policy_total = float(dose["total_g"])
    total, per_day = result["ordered_total_g"], result["ordered_grams_per_day"]
    interval = order.get("interval_weeks")
    if per_day is not None:
        result["ordered_g_per_kg_per_day"] = round(per_day / weight_kg, 4)
    if total is None:
        return
    result.update(
        ordered_g_per_kg=round(total / weight_kg, 4),
        ordered_g_per_kg_per_week=round(total / interval / weight_kg, 4) if interval else None,
    )
    if _other_interval(dose, order):  # 80 g every 4 weeks is 20 g a week, not 5x 16 g weekly
        total, policy_total = (
            total / float(order["interval_weeks"]),
            policy_total / float(dose["interval_weeks"]),
        )
        result["compared_per"] = "week"
    result.update(
        difference_g=round(total - policy_total, 2),
        difference_pct=round((total - policy_total) / policy_total * 100.0, 1),
        ratio=round(total / policy_total, 3),
    )


def _other_interval(dose: Mapping[str, Any], order: Order) -> bool:
    """True when the order repeats at another interval than the plan (both given)."""
    ordered, planned = order.get("interval_weeks"), dose.get("interval_weeks")
    return bool(ordered and planned) and abs(float(ordered) - float(planned)) > 1e-9  # type: ignore[arg-type]


def _slip_hint(dose: Mapping[str, Any], order: Order, tolerance_pct: float) -> str:
    """A unit-slip hint on the figure the prescriber typed: g/day when the order gives it,
    else the total."""
    weight_kg = float(dose["dosing_weight_kg"])
    policy_total = float(dose["total_g"])
    if "grams_per_day" in order:
        planned = policy_total / len(dose["days"])
        return _unit_slip_hint(order["grams_per_day"], planned, weight_kg, tolerance_pct, "/day")
    if "total_g" in order:
        return _unit_slip_hint(order["total_g"], policy_total, weight_kg, tolerance_pct)
    return ""


def _single_dose_findings(
    total: float, dose: Mapping[str, Any], order: Order, tolerance_pct: float
) -> list[OrderFinding]:
    """An order repeating at another interval than the plan: its grams per week are judged by
    the intensity findings; here only one dose above the regimen's largest single dose (a
    warning: the volume of one infusion), or a line saying how the order is compared."""
    max_total = float(dose["max_total_g"])
    every = f"every {_weeks(float(order['interval_weeks']))}"
    if _over(total, max_total, tolerance_pct):
        return [
            _finding(
                "above_single_dose_maximum",
                "warning",
                f"{_g(total)} g in one dose ({every}) is above the regimen's largest single dose "
                f"of {_g(max_total)} g (every {_weeks(float(dose['interval_weeks']))}) by more "
                f"than {tolerance_pct:g} %; the grams per week are compared below",
            )
        ]
    return [
        _finding(
            "compared_per_week",
            "info",
            f"{_g(total)} g {every} is compared per week with the plan's "
            f"{_g(float(dose['total_g']))} g every {_weeks(float(dose['interval_weeks']))}",
        )
    ]


def _compare(
    kb: KnowledgeBase, result: dict[str, Any], dose: Mapping[str, Any], order: Order
) -> list[OrderFinding]:
    """Fill the policy and ordered figures of ``result`` and return the dose, daily, days,
    intensity and interval findings."""
    tolerance = float(result["tolerance_pct"])
    _fill_policy(result, dose)
    _fill_ordered(result, dose, order)
    total = result["ordered_total_g"]
    findings: list[OrderFinding] = []
    if total is None and order.get("dose_not_read"):
        findings.append(
            _finding(
                "dose_not_checked",
                "warning",
                "the order's dose was not checked: it could not be read "
                f"({order['dose_not_read']})",
            )
        )
    elif total is None:
        findings.append(
            _finding("dose_not_given", "info", "the order gives no dose (grams) to compare")
        )
    elif _other_interval(dose, order):  # judged per week by the intensity findings below
        findings += _single_dose_findings(total, dose, order, tolerance)
    else:
        findings += _dose_findings(
            total,
            float(dose["total_g"]),
            float(dose["max_total_g"]),
            tolerance,
            _slip_hint(dose, order, tolerance),
        )
    regimens = _sibling_regimens(kb, dose)
    infusion = result["recommendation"].get("infusion") or {}
    daily = _daily_findings(regimens, dose, result["ordered_grams_per_day"], tolerance)
    findings += _at_risk_faster(daily, list(infusion.get("at_risk") or []))
    findings += _days_findings(regimens, dose, order.get("days"))
    findings += _intensity_findings(regimens, dose, total, order.get("interval_weeks"), tolerance)
    findings += _interval_findings(_regimen(kb, dose), dose, order.get("interval_weeks"))
    return findings
