"""The order sheet of a recommendation: one template (``render/templates/_order_sheet.html``)
shared by ``ivig recommend --html`` and the web application, and the view model it shows.

:func:`sheet_context` only picks and formats figures of the recommendation object; nothing is
recomputed. :func:`render_order_sheet` gives a self-contained page (no external assets) with a
print stylesheet sized for one A4 page.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivig.render.fmt import (
    every,
    grams,
    mg_per_kg_per_min,
    minutes,
    ml_per_h,
    monitoring_groups,
    num,
    rounded_from,
    sc_sites,
    split_lines,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from jinja2 import Environment

__all__ = ["FILTERS", "TEMPLATES", "provisional_items", "render_order_sheet", "sheet_context"]

TEMPLATES = Path(__file__).parent / "templates"


def label(text: object) -> str:
    """An enumeration value as words (``supported_with_conditions`` -> ``supported with
    conditions``)."""
    return str(text or "").replace("_", " ")


#: the number filters every HTML renderer uses, so that all show the same figures
FILTERS: dict[str, Callable[..., str]] = {
    "num": num, "grams": grams, "ml_per_h": ml_per_h, "minutes": minutes, "label": label,
    "rate": mg_per_kg_per_min, "sc_sites": sc_sites,
}  # fmt: skip


def _unit(value: object, unit: str) -> str:
    return f"{num(value)} {unit}" if isinstance(value, int | float) else "not given"


def _patient(rec: dict[str, Any]) -> dict[str, str]:
    patient = (rec.get("request") or {}).get("patient") or {}
    return {
        "sex": label(patient.get("sex")) or "not given",
        "age": _unit(patient.get("age_years"), "years"),
        "height": _unit(patient.get("height_cm"), "cm"),
        "weight": _unit(patient.get("weight_kg"), "kg"),
    }


def _weight(rec: dict[str, Any]) -> dict[str, str]:
    weight = rec.get("dosing_weight")
    if not weight:
        return {"dosing_weight": "not calculated", "weight_rule": ""}
    rule = f"{label(weight['method'])} weight: {weight['rule']['reason']}"
    if weight.get("ideal_kg") and weight["method"] != "ideal":
        rule += f" (ideal {num(weight['ideal_kg'])} kg)"
    return {"dosing_weight": f"{num(weight['kg'])} kg", "weight_rule": rule}


def _product_name(rec: dict[str, Any]) -> str:
    infusion = rec.get("infusion") or {}
    if infusion.get("product_name"):
        return str(infusion["product_name"])
    chosen = (rec.get("dose") or {}).get("product")
    for product in rec.get("products", []):
        if product["id"] == chosen:
            return str(product["name"])
    return "not chosen"


def _vials(day: dict[str, Any]) -> str:
    vials = day.get("vials") or []
    return ", ".join(f"{num(v['count'])} × {num(v['size_g'])} g" for v in vials) or "—"


def _dose(rec: dict[str, Any]) -> dict[str, Any] | None:
    dose = rec.get("dose")
    if not dose:
        return None
    interval = dose.get("interval_weeks")
    rounding = dose["rounding"]
    detail = str(rounding["detail"])
    if rounding["method"] == "none":
        detail += " (the jurisdiction gives no rounding rule: the dose is not rounded)"
    return {
        "total": f"{grams(dose['total_g'])} g",
        "g_per_kg": f"{num(dose['g_per_kg'])} g/kg",
        "regimen": dose["regimen"]["label"],
        # a label that already says how often ("every week") is not followed by it again
        "interval": "" if "every" in dose["regimen"]["label"] else every(interval),
        "rounding": detail,
        # the split and the rule that chose it, when the regimen allows another split
        "split": split_lines(dose) if len((dose.get("split") or {}).get("options", [])) > 1 else [],
        "rounded_from": rounded_from(dose),
        "days": [
            {
                "day": d["day"],
                "grams": grams(d["grams"]),
                "volume_ml": num(d["volume_ml"]) if d.get("volume_ml") is not None else "—",
                "vials": _vials(d),
            }
            for d in dose["days"]
        ],
    }


def _rates(rec: dict[str, Any]) -> dict[str, Any] | None:
    infusion = rec.get("infusion")
    if not infusion:
        return None
    steps = [
        {
            "start": minutes(s["start_min"]),
            "duration": minutes(s["duration_min"]) if s.get("duration_min") is not None else "—",
            "mg_per_kg_per_min": mg_per_kg_per_min(s["rate_mg_per_kg_per_min"]),
            "ml_per_h": ml_per_h(s["rate_ml_per_h"]),
            "cumulative_ml": f"{s['cumulative_ml']:.0f}" if s.get("cumulative_ml") else "—",
        }
        for s in infusion["steps"]
    ]
    volume = infusion.get("volume_ml")
    first_day = f"{grams(volume)} mL" if isinstance(volume, int | float) else "the day's volume"
    note = (
        f"Rates per kg use {num(infusion.get('weight_kg'))} kg and do not change from day to day; "
        f"day 1 ({first_day}) takes {minutes(infusion['duration_min'])} min; the last step runs "
        f"until the day's volume is in. Maximum "
        f"{mg_per_kg_per_min(infusion['max_rate_mg_per_kg_per_min'])} mg/kg/min."
    )
    if infusion.get("first_infusion_reason"):
        rule = "first-infusion rates" if infusion.get("first_infusion") else "usual rates"
        note += f" {rule.capitalize()}: {infusion['first_infusion_reason']}."
    return {"product": infusion.get("product_name", _product_name(rec)), "steps": steps,
            "note": note, "sc": sc_sites(infusion)}  # fmt: skip


def _monitoring(rec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every monitoring action grouped by its section (before, during, ...), and the adverse
    effects to watch for by name (their incidence figures are with the recommendation)."""
    groups: list[dict[str, Any]] = []
    watch: list[str] = []
    for heading, items in monitoring_groups(rec.get("monitoring", [])):
        texts = [str(i.get("text") or i.get("name") or "") for i in items]
        if items[0].get("phase") == "risks":
            watch += [t.split(" (", 1)[0] for t in texts if t]
        else:
            groups.append({"heading": heading, "items": [t for t in texts if t]})
    return groups, watch


def _review(rec: dict[str, Any]) -> str:
    review = rec.get("review")
    if not review:
        return ""
    parts = []
    first = review.get("first_review_weeks")
    if first:
        span = (
            num(first["min"])
            if first["min"] == first["max"]
            else (f"{num(first['min'])}–{num(first['max'])}")
        )
        parts.append(f"first review in {span} weeks")
    measures = ", ".join(m["name"] for m in review.get("measures", []))
    if measures:
        parts.append(f"measure at baseline and at review: {measures}")
    return "; ".join(parts) + "."


def _review_by(rec: dict[str, Any], today: dt.date) -> str:
    first = (rec.get("review") or {}).get("first_review_weeks")
    if not first:
        return ""
    start = today + dt.timedelta(weeks=float(first["min"]))
    end = today + dt.timedelta(weeks=float(first["max"]))
    weeks = f"{num(first['min'])}–{num(first['max'])} weeks"
    return f"{start.isoformat()} to {end.isoformat()} ({weeks})"


def provisional_items(rec: dict[str, Any]) -> list[str]:
    """What to confirm before authorisation when the plan is provisional (``to_confirm``)."""
    if rec.get("plan_status") != "provisional":
        return []
    items = [str(x) for x in rec.get("to_confirm") or [] if x]
    return items or ["the findings the criteria need"]


def sheet_context(
    rec: dict[str, Any],
    *,
    patient_ref: str = "",
    today: dt.date | None = None,
    condition_name: str = "",
) -> dict[str, Any]:
    """The order sheet's view model: every figure formatted, taken from ``rec``."""
    el = rec["eligibility"]
    today = today or dt.date.today()
    actions, watch = _monitoring(rec)
    provisional = provisional_items(rec)
    repeated = "provisional plan: before authorisation confirm " + "; ".join(provisional)
    warnings = [w for w in rec.get("warnings", []) if w != repeated]  # shown once, at the top
    if rec.get("unverified"):
        warnings.append(
            f"{len(rec['unverified'])} fact(s) behind this plan are not yet confirmed in their "
            "source; they are listed with the recommendation and on the order sheet."
        )
    indication = el.get("indication_name") or condition_name or label(el.get("condition"))
    phase = (rec.get("request") or {}).get("phase")
    return {
        "date": today.isoformat(),
        "status": label(el["status"]),
        "provisional": provisional,
        "patient_ref": patient_ref,
        **_patient(rec),
        **_weight(rec),
        "indication": indication,
        "phase": label(phase).replace("one off", "one-off") if phase else "",
        "reason": el.get("reason", ""),
        "dose": _dose(rec),
        "product": _product_name(rec),
        "rates": _rates(rec),
        "monitoring": actions,
        "watch": watch,
        "review": _review(rec),
        "review_by": _review_by(rec, today),
        "warnings": warnings,
        #: every unverified fact the plan used, as the recommendation lists them
        "unverified": [str(u) for u in rec.get("unverified") or []],
        "footer": f"Knowledge {rec['knowledge_version']}, engine {rec['engine_version']}. "
        f"{rec['disclaimer']}",
    }


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of the order sheet (autoescaped, templates compiled once)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_order_sheet(
    rec: dict[str, Any],
    *,
    patient_ref: str = "",
    today: dt.date | None = None,
    condition_name: str = "",
) -> str:
    """A self-contained HTML page (no external assets): the order sheet of ``rec``."""
    sheet = sheet_context(rec, patient_ref=patient_ref, today=today, condition_name=condition_name)
    return environment().get_template("order_sheet.html").render(sheet=sheet)
