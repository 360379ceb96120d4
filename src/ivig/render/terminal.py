"""The terminal report of a recommendation (rich): one screen a pharmacist can read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivig.render.fmt import (
    every,
    mg_per_kg_per_min,
    minutes,
    ml_per_h,
    monitoring_groups,
    rounded_from,
    sc_sites,
    split_lines,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_recommendation"]

_STATUS_STYLE = {
    "supported": "bold green",
    "supported_with_conditions": "bold yellow",
    "insufficient_information": "bold cyan",
    "not_supported": "bold red",
    "out_of_scope": "bold magenta",
}


def _g(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _print_eligibility(out: Console, el: dict[str, Any]) -> None:
    from rich.markup import escape as e
    from rich.table import Table

    style = _STATUS_STYLE.get(el["status"], "bold")
    out.print(
        f"[{style}]{el['status'].upper()}[/{style}]  {el.get('condition', '')} / "
        f"{el.get('indication')}  role: {el.get('role')}"
    )
    out.print(e(el["reason"]))
    if el["evidence"]:
        table = Table(title="Evidence (jurisdiction's systems first)")
        for col in ("system", "level", "source"):
            table.add_column(col, overflow="fold")
        for ev in el["evidence"]:
            level = f"{ev['level']} — {ev['label']}" + (
                "" if ev["verified"] else " [yellow](unverified)[/yellow]"
            )
            table.add_row(ev["system_name"], level, ", ".join(ev["sources"]))
        out.print(table)
    for group in el.get("missing_groups", []):
        out.print(f"[cyan]To decide {e(group['indication_name'])}[/cyan]: {e(group['next_step'])}")
        for item in group["findings"]:
            unit = f" \\[{e(item['unit'])}]" if item.get("unit") else ""
            out.print(
                f"  [cyan]missing[/cyan] {item['name']} ({item['type']}{unit}): "
                f"{e(item['description'])}"
            )
    for crit in el.get("unmet", []) + el.get("exclusions", []):
        out.print(f"[red]not met[/red] {e(crit['text'])} [dim]({e(crit['test'])})[/dim]")


def _print_dose(out: Console, weight: dict[str, Any], dose: dict[str, Any]) -> None:
    from rich.markup import escape as e
    from rich.table import Table

    out.print(
        f"\n[b]Dose[/b] {_g(dose['g_per_kg'])} g/kg = [b]{_g(dose['total_g'])} g[/b] "
        f"({e(dose['regimen']['label'])}"
        + (
            f", {every(dose['interval_weeks'])}"
            if dose["interval_weeks"] and "every" not in dose["regimen"]["label"]
            else ""
        )
        + ")"
    )
    if rounded_from(dose):
        out.print(f"Dose {rounded_from(dose)}")
    out.print(
        f"Dosing weight {_g(weight['kg'])} kg ({weight['method']}, {weight['policy']}): "
        f"{e(weight['rule']['reason'])}"
    )
    days = Table(title="Daily split")
    for col in ("day", "grams", "mL", "vials"):
        days.add_column(col)
    for day in dose["days"]:
        vials = ", ".join(f"{v['count']}x{v['size_g']:g} g" for v in day.get("vials", []))
        days.add_row(str(day["day"]), _g(day["grams"]), _g(day.get("volume_ml", "")), vials)
    out.print(days)
    for n, line in enumerate(split_lines(dose)):
        out.print(e(line if n == 0 else f"  {line}"))


def _print_products(out: Console, products: list[dict[str, Any]]) -> None:
    from rich.markup import escape as e
    from rich.table import Table

    table = Table(title="Products (best first)")
    for col in ("product", "status", "reasons"):
        table.add_column(col, overflow="fold")
    for prod in products[:8]:
        name = prod["name"] if prod["status"] != "excluded" else f"[strike]{prod['name']}[/strike]"
        reasons = e("; ".join(r.get("text", "") for r in prod.get("reasons", [])))
        table.add_row(name, prod["status"], reasons)
    out.print(table)


def _print_infusion(out: Console, infusion: dict[str, Any]) -> None:
    from rich.markup import escape as e
    from rich.table import Table

    table = Table(title=f"Infusion rate schedule — {infusion['product']}")
    for col in ("start min", "mg/kg/min", "mL/h", "cum. mL", "cum. g"):
        table.add_column(col)
    for row in infusion["steps"]:
        table.add_row(
            minutes(row["start_min"]),
            mg_per_kg_per_min(row["rate_mg_per_kg_per_min"]),
            ml_per_h(row["rate_ml_per_h"]),
            f"{row['cumulative_ml']:.0f}",
            f"{row['cumulative_g']:.1f}",
        )
    out.print(table)
    if sc_sites(infusion):
        out.print(e(sc_sites(infusion)))
    out.print(f"duration {minutes(infusion['duration_min'])} min")
    for key in ("weight_basis", "first_infusion_reason"):
        if infusion.get(key):
            out.print(e(f"{key.replace('_', ' ')}: {infusion[key]}"))
    for note in infusion.get("notes", []):
        out.print(e(f"schedule: {note}"))
    split = infusion.get("split_offer")
    if split:
        out.print(
            e(
                f"split offered: {split['days']} days of {split['grams_per_day']:.1f} g, "
                f"{minutes(split['duration_min'])} min a day ({split['reason']})"
            )
        )


def _print_follow_up(out: Console, rec: dict[str, Any]) -> None:
    from rich.markup import escape as e

    groups = monitoring_groups(rec.get("monitoring", []))
    if groups:
        out.print(f"\n[b]Monitoring[/b] ({len(rec['monitoring'])} items)")
    for heading, items in groups:
        out.print(f"[b]{e(heading)}[/b]")
        for item in items:
            text = item.get("text") or item.get("name") or item.get("id")
            mark = "" if item.get("verified", True) else " [yellow](unverified)[/yellow]"
            out.print(f"  - {e(str(text))}{mark}")
    review = rec.get("review")
    if review:
        measures = ", ".join(m["name"] for m in review["measures"])
        out.print(f"\n[b]Review[/b] measures: {e(measures)}. {e(review['response_definition'])}")
    _print_prognosis(out, rec.get("prognosis", []))
    for alt in rec["eligibility"].get("alternatives", []):
        out.print(
            e(f"alternative: {alt['name']}" + (f" — {alt['note']}" if alt.get("note") else ""))
        )


def _print_notes(out: Console, rec: dict[str, Any]) -> None:
    from rich.markup import escape as e

    # the provisional plan's line is at the top of the report: not repeated as a warning
    shown = "provisional plan: before authorisation confirm " + "; ".join(rec.get("to_confirm", []))
    for warning in rec.get("warnings", []):
        if rec.get("plan_status") == "provisional" and warning == shown:
            continue
        out.print(f"[bold yellow]warning[/bold yellow] {e(warning)}")
    for item in rec.get("unverified", []):
        out.print(f"[yellow]unverified[/yellow] {e(item)}")
    out.print("[dim]sources: " + ", ".join(s["id"] for s in rec.get("sources", [])) + "[/dim]")
    out.print(f"[dim]knowledge {rec['knowledge_version']} · engine {rec['engine_version']}[/dim]")
    out.print(f"[dim]{rec['disclaimer']}[/dim]")


def _print_prognosis(out: Console, rows: list[dict[str, Any]]) -> None:
    """The condition's prognostic scores: the total and its band, or what is still needed."""
    from rich.markup import escape as e

    for row in rows:
        head = f"[b]Prognosis[/b] {e(row['name'])} ({e(row['version'])}): "
        result = row.get("result")
        if result:
            bands = "; ".join(i["label"] for i in result.get("interpretation", []))
            mark = "" if result.get("verified") else " [yellow](unverified)[/yellow]"
            out.print(f"{head}{_g(result['total'])} {e(str(result['unit']))}{mark} — {e(bands)}")
        elif row.get("missing"):
            out.print(f"{head}needs {e(', '.join(row['missing']))}")
        elif row.get("refused"):
            out.print(f"{head}not computed: {e(row['refused'])}")


def print_recommendation(out: Console, rec: dict[str, Any]) -> None:
    """The recommendation as one terminal report: eligibility, dose, products, rates, follow-up."""
    from rich.markup import escape as e

    if rec.get("plan_status") == "provisional":
        out.print(
            "[bold cyan]PROVISIONAL PLAN[/bold cyan] — before authorisation confirm: "
            + e("; ".join(rec["to_confirm"]))
        )
    _print_eligibility(out, rec["eligibility"])
    weight, dose = rec.get("dosing_weight"), rec.get("dose")
    if weight and dose:
        _print_dose(out, weight, dose)
    if rec.get("products"):
        _print_products(out, rec["products"])
    if rec.get("infusion"):
        _print_infusion(out, rec["infusion"])
    _print_follow_up(out, rec)
    _print_notes(out, rec)
