"""Dose plan: regimen from the knowledge base, dose, daily split, rounding, volumes and vials.

``compute_dose_plan`` is a pure function: it takes the dosing weight (see
:mod:`ivig.core.weight`) and returns a plain-data plan with a step-by-step trace, the sources
and the unverified facts it used. Out-of-range requests are refused, never clamped.
"""

from __future__ import annotations

from ivig.core.weight import check_limit, step
from ivig.errors import InputError
from ivig.vocabulary import ROUNDINGS as _ROUNDINGS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "ROUNDINGS",
    "allowed_days",
    "compute_dose_plan",
    "compute_sc_equivalent",
    "select_regimen",
]

ROUNDINGS = _ROUNDINGS


def _fmt_range(rng: dict[str, float], unit: str) -> str:
    if rng["min"] == rng["max"]:
        return f"{rng['min']:g} {unit}"
    return f"{rng['min']:g} to {rng['max']:g} {unit}"


def select_regimen(
    kb: KnowledgeBase,
    indication_id: str,
    phase: str,
    regimen_id: str | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    """The regimen of ``indication_id`` for ``phase`` (and route), or the named one."""
    indication = kb.indication(indication_id)
    regimens = indication.get("regimens", [])
    if regimen_id is not None:
        for reg in regimens:
            if reg["id"] == regimen_id:
                if reg["phase"] != phase:
                    raise InputError(
                        "phase",
                        phase,
                        reg["phase"],
                        detail=f"regimen {regimen_id!r} is {reg['phase']}",
                    )
                return dict(reg)
        allowed = ", ".join(r["id"] for r in regimens) or "none (this indication has no regimen)"
        raise InputError("regimen", regimen_id, allowed, detail=f"regimens of {indication_id}")
    matching = [
        r for r in regimens if r["phase"] == phase and (route is None or r["route"] == route)
    ]
    if not matching:
        offered = sorted({f"{r['phase']}/{r['route']}" for r in regimens})
        raise InputError(
            "phase" if route is None else "phase/route",
            phase if route is None else f"{phase}/{route}",
            ", ".join(offered) or "none: the knowledge base gives no regimen for this indication",
            detail=f"regimens of {indication_id}",
        )
    return dict(matching[0])


def _within(name: str, value: float, rng: dict[str, float], unit: str, regimen_id: str) -> None:
    if not rng["min"] - 1e-9 <= value <= rng["max"] + 1e-9:
        raise InputError(name, value, _fmt_range(rng, unit), unit, f"regimen {regimen_id}")


def _amounts(
    regimen: dict[str, Any],
    dose_g_per_kg: float | None,
    days: int | None,
    interval_weeks: float | None,
) -> tuple[float, int, float | None, list[str]]:
    """g/kg, days and interval of the regimen (given, else the default, else the lowest dose
    and the longest interval), each checked against the regimen's range."""
    rid = regimen["id"]
    rng = regimen["dose_g_per_kg"]
    notes = []
    if dose_g_per_kg is not None:
        g_per_kg = dose_g_per_kg
    elif "default" in rng:
        g_per_kg = rng["default"]
    else:  # no sourced default: the lowest dose of the range (lowest effective dose)
        g_per_kg = rng["min"]
        notes.append(f"lowest dose of the range ({_fmt_range(rng, 'g/kg')})")
    _within("dose_g_per_kg", g_per_kg, rng, "g/kg", rid)
    n_days = (
        days if days is not None else int(regimen["days"].get("default", regimen["days"]["min"]))
    )
    _within("days", n_days, regimen["days"], "days", rid)
    if n_days != int(n_days) or n_days < 1:
        raise InputError("days", n_days, "a whole number of days, 1 or more", "days")
    weeks: float | None = None
    if "interval_weeks" in regimen:
        iw = regimen["interval_weeks"]
        if interval_weeks is not None:
            weeks = interval_weeks
        elif "default" in iw:
            weeks = iw["default"]
        else:  # no sourced default: the longest interval of the range (lowest effective dose)
            weeks = iw["max"]
            notes.append(f"longest interval of the range ({_fmt_range(iw, 'weeks')})")
        _within("interval_weeks", weeks, iw, "weeks", rid)
    elif interval_weeks is not None:
        raise InputError("interval_weeks", interval_weeks, "none for a non-repeating regimen")
    return g_per_kg, n_days, weeks, notes


def _check_daily(kb: KnowledgeBase, regimen: dict[str, Any], g_per_kg: float, n_days: int) -> None:
    per_day_g_per_kg = g_per_kg / n_days
    check_limit(kb, "dose_g_per_kg_per_course", g_per_kg, "dose_g_per_kg")
    check_limit(kb, "dose_g_per_kg_per_day", per_day_g_per_kg, "dose_g_per_kg_per_day")
    if (
        "max_g_per_kg_per_day" in regimen
        and per_day_g_per_kg > regimen["max_g_per_kg_per_day"] + 1e-9
    ):
        raise InputError(
            "days",
            n_days,
            f"enough days to keep at most {regimen['max_g_per_kg_per_day']:g} g/kg/day",
            "days",
            f"regimen {regimen['id']}",
        )


def allowed_days(kb: KnowledgeBase, regimen: dict[str, Any], g_per_kg: float) -> list[int]:
    """The day counts of the regimen's range whose daily dose keeps within its daily limits
    (the regimen's ``max_g_per_kg_per_day`` and the plausibility limits), ascending."""
    days = regimen["days"]
    out: list[int] = []
    for n in range(int(days["min"]), int(days["max"]) + 1):
        try:
            _check_daily(kb, regimen, g_per_kg, n)
        except InputError:
            continue
        out.append(n)
    return out


def _regimen_steps(
    regimen: dict[str, Any],
    indication_id: str,
    amounts: tuple[float, int, float | None, list[str]],
    dosing_weight_kg: float,
) -> list[dict[str, Any]]:
    g_per_kg, n_days, weeks, notes = amounts
    rid, reg_source = regimen["id"], regimen["sources"][0]["id"]
    every = "" if weeks is None else " every week" if weeks == 1 else f" every {weeks:g} weeks"
    steps = []
    if notes:
        steps.append(
            step(
                "no default in the regimen",
                "use the lowest dose possible that achieves the outcome: "
                + "; ".join(notes)
                + " (choose another within the range with dose_g_per_kg / interval_weeks)",
                {"regimen": rid},
                f"{g_per_kg:g} g/kg{every}",
                "",
                "au-nba-qrg",
            )
        )
    steps.append(
        step(
            "regimen",
            f"{regimen['label']} ({regimen['phase']}, {regimen['route']})",
            {"indication": indication_id, "regimen": rid},
            f"{g_per_kg:g} g/kg over {n_days} day(s)" + (f",{every}" if every else ""),
            "",
            reg_source,
        )
    )
    steps.append(
        step(
            "total dose",
            "dose_g_per_kg x dosing_weight_kg",
            {"dose_g_per_kg": g_per_kg, "dosing_weight_kg": dosing_weight_kg},
            g_per_kg * dosing_weight_kg,
            "g",
            reg_source,
        )
    )
    return steps


def _vial_days(
    product: Any,
    rule: Any,
    target_g: float,
    max_total_g: float,
    n_days: int,
    steps: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], float, float, str]:
    """Each day rounded to the nearest (or the cheapest) whole-vial amount within the
    tolerance, never above the regimen maximum."""
    from ivig.core.catalogue import vial_sizes_g
    from ivig.core.rounding import choose_vials  # vial rounding is one policy's: on use

    sizes = vial_sizes_g(product)
    tolerance = rule.get("tolerance_fraction", 0.0)
    direction = rule.get("direction", "nearest")
    per_day_target = target_g / n_days
    choice = choose_vials(per_day_target, sizes, tolerance, max_total_g / n_days, direction)
    rows = [
        {"day": day, "grams": choice["given_g"], "vials": choice["vials"]}
        for day in range(1, n_days + 1)
    ]
    vial_text = ", ".join(f"{v['count']} x {v['size_g']:g} g" for v in choice["vials"])
    detail = f"{choice['opened_g']:g} g of whole vials per day ({vial_text})" + (
        "" if choice["within_tolerance"] else "; no whole-vial amount within tolerance"
    )
    steps.append(
        step(
            "round to vials",
            f"{direction} whole-vial amount"
            + (" (a tie to the fewer grams)" if direction == "nearest" else "")
            + f" within {tolerance:.0%} of the daily dose, never above the regimen maximum",
            {"per_day_target_g": round(per_day_target, 3), "vial_sizes_g": sizes},
            choice["given_g"],
            "g/day",
            rule["sources"][0]["id"],
        )
    )
    return rows, round(choice["given_g"] * n_days, 2), round(choice["waste_g"] * n_days, 2), detail


def _vials_to_open(product: Any, day_rows: list[dict[str, Any]], detail: str) -> tuple[float, str]:
    """A dose not rounded to vials, as the whole vials to open each day (the smallest set that
    covers the day's grams) and what is left in the last one: the nurse and the pharmacy see
    what to dispense, the dose is unchanged."""
    from ivig.core.catalogue import vial_sizes_g
    from ivig.core.rounding import choose_vials

    try:
        sizes = vial_sizes_g(product)
    except InputError:  # no pack sizes known: the dose is planned, the vials are not counted
        return 0.0, f"{detail}; no pack sizes of {product['name']} known: vials not counted"
    left = 0.0
    texts: list[str] = []
    chosen: dict[float, dict[str, Any]] = {}  # the days mostly share one amount
    for row in day_rows:
        choice = chosen.get(row["grams"])
        if choice is None:
            choice = chosen[row["grams"]] = choose_vials(row["grams"], sizes, 0.0, float("inf"))
        row["vials"] = [dict(v) for v in choice["vials"]]
        left += choice["opened_g"] - row["grams"]
        text = " + ".join(f"{v['count']} x {v['size_g']:g} g" for v in choice["vials"])
        if text not in texts:
            texts.append(text)
    left_g = round(left, 2)
    opened = "; ".join(texts)
    return left_g, (
        f"{detail}; whole vials to open: {opened} per day"
        + (f" ({left_g:g} g left over in all)" if left_g > 0 else "")
    )


def _split_days(
    rounding: str,
    rule: Any,
    target_g: float,
    max_total_g: float,
    n_days: int,
    steps: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], float, str]:
    """The total (rounded to the step, or to 0.01 g) split over the days, the sum exact."""
    if rounding == "nearest-5g":
        from ivig.core.rounding import round_to_step  # one policy's rounding: on use

        total_g, detail = round_to_step(target_g, rule["step_g"], max_total_g)
        steps.append(
            step(
                "round total",
                detail,
                {"total_g": round(target_g, 3)},
                total_g,
                "g",
                rule["sources"][0]["id"],
            )
        )
    else:
        total_g, detail = round(target_g, 2), "not rounded"
    per_day = round(total_g / n_days, 2)
    rows: list[dict[str, Any]] = [{"day": day, "grams": per_day} for day in range(1, n_days + 1)]
    # keep the sum exact: the last day takes the remainder of the 0.01 g rounding
    rows[-1]["grams"] = round(total_g - per_day * (n_days - 1), 2)
    return rows, total_g, detail


def compute_dose_plan(
    kb: KnowledgeBase,
    *,
    indication_id: str,
    phase: str,
    dosing_weight_kg: float,
    regimen_id: str | None = None,
    route: str | None = None,
    dose_g_per_kg: float | None = None,
    days: int | None = None,
    interval_weeks: float | None = None,
    rounding: str = "none",
    product_id: str | None = None,
) -> dict[str, Any]:
    """The dose plan for one administration cycle of the indication's regimen."""
    if rounding not in ROUNDINGS:
        raise InputError("rounding", rounding, ", ".join(ROUNDINGS))
    regimen = select_regimen(kb, indication_id, phase, regimen_id, route)
    rid = regimen["id"]
    unverified = [] if regimen["verified"] else [f"regimen {rid}: {regimen['label']}"]
    amounts = _amounts(regimen, dose_g_per_kg, days, interval_weeks)
    g_per_kg, n_days, weeks, _ = amounts
    _check_daily(kb, regimen, g_per_kg, n_days)
    steps = _regimen_steps(regimen, indication_id, amounts, dosing_weight_kg)
    target_g = g_per_kg * dosing_weight_kg
    max_total_g = regimen["dose_g_per_kg"]["max"] * dosing_weight_kg

    product: Any = None
    concentration: float | None = None
    if product_id is not None:
        from ivig.core.catalogue import concentration_g_per_ml

        product = kb.product(product_id)
        concentration = concentration_g_per_ml(product)
    rule = next(r for r in kb.data["dosing"]["rounding"] if r["id"] == rounding)
    if not rule["verified"]:
        unverified.append(f"rounding {rule['id']}: {rule['label']}")
    waste_g = 0.0
    if rounding == "vials":
        if product is None:
            raise InputError("product", None, "a product id (vial rounding needs its vial sizes)")
        day_rows, total_g, waste_g, detail = _vial_days(
            product, rule, target_g, max_total_g, n_days, steps
        )
    else:
        day_rows, total_g, detail = _split_days(
            rounding, rule, target_g, max_total_g, n_days, steps
        )
    for row in day_rows:
        check_limit(kb, "dose_g_per_day", row["grams"], "dose_g_per_day")
    if rounding != "vials" and product is not None:
        waste_g, detail = _vials_to_open(product, day_rows, detail)
    for row in day_rows:
        if concentration is not None:
            row["volume_ml"] = round(row["grams"] / concentration, 1)
    steps.append(
        step(
            "daily split",
            "total_g / days",
            {"total_g": total_g, "days": n_days},
            ", ".join(f"day {r['day']}: {r['grams']:g} g" for r in day_rows),
            "",
        )
    )
    plan: dict[str, Any] = {
        "indication": indication_id,
        "phase": regimen["phase"],
        "route": regimen["route"],
        "regimen": {
            "id": rid,
            "label": regimen["label"],
            "sources": [r["id"] for r in regimen["sources"]],
            "verified": regimen["verified"],
        },
        "g_per_kg": g_per_kg,
        "g_per_kg_per_day": round(g_per_kg / n_days, 4),
        "dosing_weight_kg": dosing_weight_kg,
        "target_total_g": round(target_g, 2),
        "total_g": total_g,
        # the g/kg actually given, only when rounding changed the dose
        **(
            {"given_g_per_kg": round(total_g / dosing_weight_kg, 3)}
            if abs(total_g - round(target_g, 2)) >= 0.005
            else {}
        ),
        "max_total_g": round(max_total_g, 2),
        "days": day_rows,
        "interval_weeks": weeks,
        "rounding": {"method": rounding, "detail": detail, "waste_g": waste_g},
        "product": product_id,
        "concentration_g_per_ml": concentration,
        "steps": steps,
        "unverified": unverified,
    }
    if regimen["route"] == "iv" and weeks is not None:
        sc = compute_sc_equivalent(kb, indication_id.split(".", 1)[0], total_g, weeks)
        if sc is not None:
            plan["sc_equivalent"] = sc
    return plan


def compute_sc_equivalent(
    kb: KnowledgeBase, condition_id: str, iv_dose_g: float, interval_weeks: float
) -> dict[str, Any] | None:
    """Weekly SCIg dose = IV dose / weeks between IV doses x the condition's conversion factor."""
    for conv in kb.data["dosing"]["sc_conversions"]:
        if conv["applies_to"] == condition_id:
            weekly = iv_dose_g / interval_weeks * conv["factor"]
            return {
                "weekly_g": round(weekly, 2),
                "factor": conv["factor"],
                "conversion": conv["id"],
                "label": conv["label"],
                "formula": f"{iv_dose_g:g} g / {interval_weeks:g} weeks x {conv['factor']:g}",
                "sources": [r["id"] for r in conv["sources"]],
                "verified": conv["verified"],
            }
    return None
