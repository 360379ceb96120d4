"""Check an order: the prescriber's regimen beside the policy plan, with graded findings.

One use case (issue 14, "Check an order"): given a validated request and the regimen that was
ordered (product, grams per day x days or a total, interval, rate — each optional), compute the
policy plan with :func:`ivig.core.recommend.recommend` and say how far the order is from it:
ordered vs policy grams and g/kg, the difference in grams and per cent, the ratio, and findings
graded ``info`` / ``warning`` / ``critical``. No clinical number lives here: the regimen range,
the regimen maximum, the product exclusions and the infusion schedule all come from the
knowledge base through the recommendation; the tolerance is the caller's setting.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypedDict

from ivig.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase

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
    "above_daily_maximum",
    "excluded_product",
    "product_not_ranked",
    "interval_too_short",
    "interval_too_long",
    "interval_not_repeating",
    "rate_above_schedule",
    "no_policy_dose",
    "dose_not_given",
]
_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
#: grams compared to 0.01 g (the dose plan's precision)
_EPS_G = 0.005


class Order(TypedDict, total=False):
    """What was ordered; every field optional (``grams_per_day`` goes with ``days``)."""

    product: str | None
    grams_per_day: float
    days: int
    total_g: float
    interval_weeks: float
    rate_ml_per_h: float


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
    ordered_g_per_kg: float | None
    policy_total_g: float | None
    policy_grams_per_day: float | None
    policy_days: int | None
    policy_g_per_kg: float | None
    regimen_max_total_g: float | None
    dosing_weight_kg: float | None
    difference_g: float | None
    difference_pct: float | None
    ratio: float | None
    tolerance_pct: float
    findings: list[OrderFinding]
    recommendation: dict[str, Any]


def _positive(order: Mapping[str, Any], name: str) -> float | None:
    value = order.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"order.{name}", value, "a number")
    if value <= 0:
        raise InputError(f"order.{name}", value, "a number above 0")
    return float(value)


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
    for name in ("grams_per_day", "total_g", "interval_weeks", "rate_ml_per_h"):
        value = _positive(order, name)
        if value is not None:
            out[name] = value
    days = _positive(order, "days")
    if days is not None:
        if days != int(days):
            raise InputError("order.days", order["days"], "a whole number of days, 1 or more")
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


def _g(value: float) -> str:
    return f"{round(value, 2):g}"


def _dose_findings(
    ordered_total: float,
    policy_total: float,
    max_total: float,
    tolerance_pct: float,
) -> list[OrderFinding]:
    """Ordered total against the policy dose and the regimen maximum."""
    pct = (ordered_total - policy_total) / policy_total * 100.0
    ratio = ordered_total / policy_total
    found: list[OrderFinding] = []
    # the tolerance applies to the maximum too: a fixed regimen's maximum is its policy dose
    if ordered_total > max_total * (1 + tolerance_pct / 100.0) + _EPS_G:
        found.append(
            _finding(
                "above_regimen_maximum",
                "critical",
                f"{_g(ordered_total)} g ordered is above the regimen maximum of {_g(max_total)} g "
                f"by more than {tolerance_pct:g} % ({ratio:.1f}x the policy dose of "
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
                f"{_g(policy_total)} g (tolerance {tolerance_pct:g} %)",
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


def _daily_findings(
    kb: KnowledgeBase, dose: Mapping[str, Any], grams_per_day: float | None
) -> list[OrderFinding]:
    """A daily amount above the regimen's ``max_g_per_kg_per_day`` (when it has one)."""
    if grams_per_day is None:
        return []
    regimen = _regimen(kb, dose)
    per_kg_max = regimen.get("max_g_per_kg_per_day") if regimen else None
    if per_kg_max is None:
        return []
    limit = float(per_kg_max) * float(dose["dosing_weight_kg"])
    if grams_per_day <= limit + _EPS_G:
        return []
    return [
        _finding(
            "above_daily_maximum",
            "critical",
            f"{_g(grams_per_day)} g/day ordered is above the regimen's daily maximum of "
            f"{per_kg_max:g} g/kg/day = {_g(limit)} g/day",
        )
    ]


def _regimen(kb: KnowledgeBase, dose: Mapping[str, Any]) -> dict[str, Any] | None:
    indication = kb.indication(dose["indication"])
    wanted = dose["regimen"]["id"]
    return next((dict(r) for r in indication.get("regimens", []) if r["id"] == wanted), None)


def _interval_findings(
    kb: KnowledgeBase, dose: Mapping[str, Any], interval_weeks: float | None
) -> list[OrderFinding]:
    if interval_weeks is None:
        return []
    regimen = _regimen(kb, dose)
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
                f"every {interval_weeks:g} weeks ordered is shorter than the regimen's "
                f"{rng['min']:g}-{rng['max']:g} weeks",
            )
        ]
    if interval_weeks > rng["max"] + 1e-9:
        return [
            _finding(
                "interval_too_long",
                "info",
                f"every {interval_weeks:g} weeks ordered is longer than the regimen's "
                f"{rng['min']:g}-{rng['max']:g} weeks",
            )
        ]
    return []


def _product_findings(
    rec: Mapping[str, Any], product: str | None, product_name: str | None
) -> list[OrderFinding]:
    if product is None:
        return []
    ranked = {p["id"]: p for p in rec.get("products", [])}
    name = product_name or product
    if product not in ranked:
        return [
            _finding(
                "product_not_ranked",
                "info",
                f"{name} is not among the products ranked for this patient "
                "(route, region or formulary)",
            )
        ]
    entry = ranked[product]
    if entry["status"] != "excluded":
        return []
    why = "; ".join(str(r.get("text", r.get("id", ""))) for r in entry.get("reasons", []))
    return [
        _finding(
            "excluded_product",
            "critical",
            f"{name} is excluded for this patient" + (f": {why}" if why else ""),
        )
    ]


def _rate_findings(rec: Mapping[str, Any], rate_ml_per_h: float | None) -> list[OrderFinding]:
    infusion = rec.get("infusion")
    if rate_ml_per_h is None or not infusion or not infusion.get("steps"):
        return []
    top = max(float(s["rate_ml_per_h"]) for s in infusion["steps"])
    if rate_ml_per_h <= top + 0.05:
        return []
    return [
        _finding(
            "rate_above_schedule",
            "warning",
            f"{rate_ml_per_h:g} mL/h ordered is above the schedule's highest step of "
            f"{round(top, 1):g} mL/h for {infusion['product']}",
        )
    ]


def _ordered_amounts(order: Order) -> tuple[float | None, float | None, int | None]:
    days = order.get("days")
    if "grams_per_day" in order:
        return order["grams_per_day"] * order["days"], order["grams_per_day"], days
    total = order.get("total_g")
    per_day = total / days if total is not None and days else None
    return total, per_day, days


def check_order(
    kb: KnowledgeBase,
    request: Request,
    order: Mapping[str, Any],
    *,
    tolerance_pct: float | None = None,
) -> OrderCheck:
    """The order beside the policy plan for ``request`` (validated against the contract);
    ``tolerance_pct`` defaults to the knowledge base's (:func:`default_tolerance_pct`)."""
    from ivig.core.recommend import recommend

    if tolerance_pct is None:
        tolerance_pct = default_tolerance_pct(kb)

    if isinstance(tolerance_pct, bool) or not 0 <= tolerance_pct < 1000:
        raise InputError("tolerance_pct", tolerance_pct, "a percentage from 0 to below 1000", "%")
    checked = validate_order(order)
    product = checked.get("product")
    product_name = kb.product(product)["name"] if product else None  # raises on unknown ids
    policy_request = dict(request)
    policy_request.pop("product", None)
    rec = recommend(kb, policy_request)  # type: ignore[arg-type]
    ordered_total, ordered_per_day, ordered_days = _ordered_amounts(checked)
    dose = rec.get("dose")
    findings: list[OrderFinding] = []
    result: dict[str, Any] = {
        "plan_status": str(rec.get("plan_status", "ready" if dose else "none")),
        "ordered_total_g": ordered_total,
        "ordered_grams_per_day": ordered_per_day,
        "ordered_days": ordered_days,
        "ordered_g_per_kg": None,
        "policy_total_g": None,
        "policy_grams_per_day": None,
        "policy_days": None,
        "policy_g_per_kg": None,
        "regimen_max_total_g": None,
        "dosing_weight_kg": None,
        "difference_g": None,
        "difference_pct": None,
        "ratio": None,
        "tolerance_pct": float(tolerance_pct),
        "recommendation": rec,
    }
    if dose is None:
        findings.append(
            _finding(
                "no_policy_dose",
                "warning",
                "no policy dose to compare with: " + str(rec["eligibility"]["reason"]),
            )
        )
    else:
        findings += _compare(kb, result, dose, checked, ordered_total, ordered_per_day)
        if product is not None and product != dose.get("product"):
            with_product = recommend(kb, {**policy_request, "product": product})  # type: ignore[typeddict-item]
            findings += _rate_findings(with_product, checked.get("rate_ml_per_h"))
        else:
            findings += _rate_findings(rec, checked.get("rate_ml_per_h"))
    findings += _product_findings(rec, product, product_name)
    result["findings"] = findings
    result["severity"] = max(
        (f["severity"] for f in findings), key=_RANK.__getitem__, default="info"
    )
    return result  # type: ignore[return-value]


def _compare(
    kb: KnowledgeBase,
    result: dict[str, Any],
    dose: Mapping[str, Any],
    order: Order,
    ordered_total: float | None,
    ordered_per_day: float | None,
) -> list[OrderFinding]:
    """Fill the policy figures of ``result`` and return the dose, daily and interval findings."""
    weight_kg = float(dose["dosing_weight_kg"])
    policy_total = float(dose["total_g"])
    policy_days = len(dose["days"])
    result.update(
        policy_total_g=policy_total,
        policy_grams_per_day=round(policy_total / policy_days, 2),
        policy_days=policy_days,
        policy_g_per_kg=float(dose["g_per_kg"]),
        regimen_max_total_g=float(dose["max_total_g"]),
        dosing_weight_kg=weight_kg,
    )
    findings: list[OrderFinding] = []
    if ordered_total is None:
        findings.append(
            _finding("dose_not_given", "info", "the order gives no dose (grams) to compare")
        )
    else:
        result.update(
            ordered_g_per_kg=round(ordered_total / weight_kg, 4),
            difference_g=round(ordered_total - policy_total, 2),
            difference_pct=round((ordered_total - policy_total) / policy_total * 100.0, 1),
            ratio=round(ordered_total / policy_total, 3),
        )
        findings += _dose_findings(
            ordered_total, policy_total, float(dose["max_total_g"]), result["tolerance_pct"]
        )
    findings += _daily_findings(kb, dose, ordered_per_day)
    findings += _interval_findings(kb, dose, order.get("interval_weeks"))
    return findings
