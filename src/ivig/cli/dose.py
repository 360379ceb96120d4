"""``ivig dose``: dosing weight, dose, daily split and rounding, with the trace and sources.

This command is on the fast path: it imports neither pydantic nor YAML nor rich when asked for
``--json`` (see benchmarks/startup.py).
"""

from __future__ import annotations

from ivig.cli._common import emit_json, kb

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ivig.knowledge.base import KnowledgeBase

__all__ = ["add_parsers"]


def _query(args: argparse.Namespace) -> dict[str, Any]:
    """The dose query (:func:`ivig.app.dose.dose`) from the parsed arguments."""
    names = (
        "sex", "weight_kg", "weight_lb", "height_cm", "height_in", "pregnant",
        "pre_pregnancy_weight_kg", "condition", "indication", "phase", "regimen", "route",
        "dose_g_per_kg", "days", "interval_weeks", "jurisdiction", "policy", "rounding",
        "product", "opt_out_justification",
    )  # fmt: skip
    query = {name: getattr(args, name) for name in names}
    query["age_years"] = args.age
    return query


def _run(args: argparse.Namespace) -> int:
    from ivig.app.dose import dose

    knowledge = kb()
    result: dict[str, Any] = dict(dose(knowledge, _query(args)))
    if args.json:
        emit_json(result)
        return 0
    _print_report(knowledge, result)
    return 0


def _print_report(knowledge: KnowledgeBase, result: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ivig.cli._common import console, print_footer

    out = console()
    weight, plan = result["dosing_weight"], result["dose"]
    out.print(f"[b]Dose plan[/b] — {result['indication']} ({plan['phase']}, {plan['route']})")
    out.print(
        f"Dosing weight [b]{weight['kg']:g} kg[/b] "
        f"({weight['method']}; policy {weight['policy']}): "
        f"{weight['rule']['reason']}"
    )
    trace = Table(title="Calculation trace")
    for col in ("step", "formula", "result", "source"):
        trace.add_column(col, overflow="fold")
    for row in weight["steps"] + plan["steps"]:
        trace.add_row(
            row["step"],
            row["formula"],
            f"{row['result']} {row['unit']}".strip(),
            row.get("source", ""),
        )
    out.print(trace)
    days = Table(title=f"Daily split: {plan['total_g']:g} g ({plan['g_per_kg']:g} g/kg)")
    days.add_column("day")
    days.add_column("grams")
    days.add_column("volume mL")
    days.add_column("vials")
    for row in plan["days"]:
        vials = ", ".join(f"{v['count']} x {v['size_g']:g} g" for v in row.get("vials", []))
        volume = f"{row['volume_ml']:g}" if "volume_ml" in row else ""
        days.add_row(str(row["day"]), f"{row['grams']:g}", volume, vials)
    out.print(days)
    from ivig.render.fmt import rounded_from

    if rounded_from(plan):
        out.print(f"Dose {rounded_from(plan)}")
    if plan["interval_weeks"] is not None:
        weeks = plan["interval_weeks"]
        out.print("Repeat every week." if weeks == 1 else f"Repeat every {weeks:g} weeks.")
    if "sc_equivalent" in plan:
        sc = plan["sc_equivalent"]
        out.print(
            f"SCIg equivalent: {sc['weekly_g']:g} g/week ({sc['formula']}) \\[{sc['conversion']}]"
        )
    out.print(f"Rounding: {plan['rounding']['method']} — {plan['rounding']['detail']}")
    for item in result["unverified"]:
        out.print(f"[yellow]unverified:[/yellow] {item}")
    for src in result["sources"]:
        out.print(f"[dim]\\[{src['id']}] {escape(src['citation'])}[/dim]")
    print_footer(out, knowledge)


def add_parsers(sub: Any) -> None:
    from ivig.vocabulary import JURISDICTIONS, PHASES, ROUNDINGS, ROUTES, SEXES

    p = sub.add_parser("dose", help="dosing weight, dose and daily split with the trace")
    p.add_argument("--sex", required=True, choices=SEXES)
    p.add_argument("--age", required=True, type=float, help="age in years")
    height = p.add_mutually_exclusive_group()
    height.add_argument("--height-cm", type=float)
    height.add_argument("--height-in", type=float, help="height in inches (converted to cm)")
    weight = p.add_mutually_exclusive_group(required=True)
    weight.add_argument("--weight-kg", type=float)
    weight.add_argument("--weight-lb", type=float, help="weight in pounds (converted to kg)")
    p.add_argument("--pregnant", action="store_true")
    p.add_argument("--pre-pregnancy-weight-kg", type=float)
    p.add_argument("--condition", required=True, help="condition id, name, synonym or code")
    p.add_argument(
        "--indication", help="indication id (default: first with a regimen for the phase)"
    )
    p.add_argument("--phase", required=True, choices=PHASES)
    p.add_argument("--regimen", help="regimen id (default: the indication's first for the phase)")
    p.add_argument("--route", choices=ROUTES)
    p.add_argument("--dose-g-per-kg", type=float, help="within the regimen's range")
    p.add_argument("--days", type=int, help="days to split the dose over (within the regimen)")
    p.add_argument("--interval-weeks", type=float, help="maintenance interval (within the regimen)")
    p.add_argument("--jurisdiction", default="international", choices=JURISDICTIONS)
    p.add_argument("--policy", help="dosing-weight policy: au-2026, ontario, us-120, actual")
    p.add_argument("--rounding", choices=ROUNDINGS)
    p.add_argument("--product", help="product id (volumes; vial rounding)")
    p.add_argument("--opt-out-justification", help="written reason to opt out of adjusted weight")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run)
