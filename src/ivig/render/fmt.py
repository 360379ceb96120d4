"""Number formats shared by every renderer, so that all of them show the same figures."""

from __future__ import annotations

__all__ = [
    "dose_summary",
    "every",
    "grams",
    "mg_per_kg_per_min",
    "minutes",
    "ml_per_h",
    "monitoring_groups",
    "num",
    "rounded_from",
    "sc_sites",
    "split_lines",
    "vials",
]


def num(value: object) -> str:
    """A number without trailing zeros; anything else as text."""
    return f"{value:g}" if isinstance(value, int | float) else ("" if value is None else str(value))


def ml_per_h(value: float) -> str:
    """Pump rates to 0.1 mL/h."""
    return f"{value:.1f}"


def mg_per_kg_per_min(value: object) -> str:
    """Infusion rates in mg/kg/min to 0.01 (0.83, not 0.833333), without trailing zeros."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{round(value, 2):g}"
    return num(value)


def minutes(value: float) -> str:
    """Times to the whole minute."""
    return f"{value:.0f}"


def grams(value: float) -> str:
    """Grams to 0.01 g, without trailing zeros."""
    return f"{round(value, 2):g}"


def vials(items: object) -> str:
    """A day's vials, the same text on every rendering: ``2 × 10 g + 1 × 5 g``."""
    if not isinstance(items, list):
        return ""
    return " + ".join(f"{num(v['count'])} × {num(v['size_g'])} g" for v in items)


def every(weeks: object) -> str:
    """The repeat interval of a maintenance cycle: ``every 3 weeks`` (empty when none)."""
    if not isinstance(weeks, int | float) or isinstance(weeks, bool):
        return ""
    return "every week" if weeks == 1 else f"every {num(weeks)} weeks"


def dose_summary(dose: dict[str, object]) -> str:
    """``2 g/kg = 155.82 g over 5 days, every 3 weeks``: the dose line every renderer shows."""
    days = dose.get("days")
    n_days = len(days) if isinstance(days, list) else 0
    text = f"{num(dose['g_per_kg'])} g/kg = {grams(float(dose['total_g']))} g"  # type: ignore[arg-type]
    if n_days:
        text += f" over {n_days} day" + ("" if n_days == 1 else "s")
    interval = every(dose.get("interval_weeks"))
    return f"{text}, {interval}" if interval else text


def rounded_from(dose: dict[str, object]) -> str:
    """``rounded from 125.88 g (2 g/kg) to 125 g: 1.986 g/kg given`` when rounding changed the
    dose (the plan then holds ``given_g_per_kg``); empty otherwise."""
    given = dose.get("given_g_per_kg")
    target = dose.get("target_total_g")
    if not isinstance(given, int | float) or not isinstance(target, int | float):
        return ""
    return (
        f"rounded from {grams(float(target))} g ({num(dose.get('g_per_kg'))} g/kg) to "
        f"{grams(float(dose['total_g']))} g: {num(given)} g/kg given"  # type: ignore[arg-type]
    )


def sc_sites(infusion: object) -> str:
    """A subcutaneous schedule as the nurse sets it up: ``5 sites x 28 mL at 30 mL/h per site
    (150 mL/h in all); label: at most 30 mL and 30 mL/h per site, 8 sites`` (empty for IV)."""
    sc = infusion.get("sc") if isinstance(infusion, dict) else None
    if not isinstance(sc, dict):
        return ""
    sites, per_site = sc.get("sites"), sc.get("rate_ml_per_h_per_site")
    text = (
        f"{num(sites)} site(s) x {num(sc.get('volume_ml_per_site'))} mL at {num(per_site)} mL/h "
        "per site"
    )
    if isinstance(sites, int | float) and isinstance(per_site, int | float):
        text += f" ({num(round(sites * per_site, 1))} mL/h in all)"
    limits = [
        f"{num(sc[key])} {unit}"
        for key, unit in (("max_volume_ml_per_site", "mL"), ("max_rate_ml_per_h_per_site", "mL/h"))
        if sc.get(key) is not None
    ]
    if limits:
        text += "; label: at most " + " and ".join(limits) + " per site"
    if sc.get("max_sites"):
        text += f", {num(sc['max_sites'])} sites"
    return "Subcutaneous: " + text


def split_lines(dose: dict[str, object]) -> list[str]:
    """The daily split as every renderer shows it: the days and the rule that chose them, then
    each other split the regimen allows (``3 days of 45.33 g (0.667 g/kg, 453.3 mL a day)``)."""
    split = dose.get("split")
    if not isinstance(split, dict):
        return []
    lines = [f"Split over {num(split['days'])} day(s): {split['reason']}"]
    for option in split.get("options", []):
        if option["chosen"]:
            continue
        volume = option.get("volume_ml_per_day")
        days = option["days"]
        per_day = f"{option['g_per_kg_per_day']:.3g} g/kg/day" + (
            f", {num(volume)} mL" if isinstance(volume, int | float) else ""
        )
        lines.append(
            f"{num(days)} day{'' if days == 1 else 's'} of {grams(option['grams_per_day'])} g a "
            f"day ({per_day}): {option['note']}"
        )
    return lines


#: headings of the monitoring plan's sections (``ivig.core.monitoring.PHASES``), in its order
MONITORING_HEADINGS = {
    "before": "Before the infusion",
    "during": "During the infusion",
    "hydration": "Hydration",
    "on_reaction": "On a reaction",
    "after": "After the infusion",
    "product": "Product label",
    "risks": "Adverse effects to watch for",
}


def monitoring_groups(items: object) -> list[tuple[str, list[dict[str, object]]]]:
    """Every monitoring item, grouped by its section in the plan's order: ``[(heading,
    items)]``; nothing is left out (an unknown section keeps its own name)."""
    groups: dict[str, list[dict[str, object]]] = {}
    for item in items if isinstance(items, list) else []:
        entry = item if isinstance(item, dict) else {"text": str(item), "phase": ""}
        groups.setdefault(str(entry.get("phase") or ""), []).append(entry)
    order = list(MONITORING_HEADINGS)
    phases = sorted(groups, key=lambda p: order.index(p) if p in order else len(order))
    return [
        (MONITORING_HEADINGS.get(phase, phase.replace("_", " ").capitalize() or "Other"),
         groups[phase])
        for phase in phases
    ]  # fmt: skip
