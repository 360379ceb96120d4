"""``ivig check-order REQUEST``: the ordered regimen beside the policy plan, with findings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivig.cli._common import console, emit_json, kb

if TYPE_CHECKING:
    import argparse

__all__ = ["add_parsers"]

_SEVERITY_STYLE = {"info": "green", "warning": "bold yellow", "critical": "bold red"}


def _order(args: argparse.Namespace) -> dict[str, Any]:
    names = ("product", "grams_per_day", "days", "total_g", "interval_weeks", "rate_ml_per_h")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _g(value: object) -> str:
    return "—" if value is None else f"{value:g}"


def _run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from ivig.app.order_check import check_order
    from ivig.app.recommend import validate
    from ivig.cli.recommend import load_request_file

    knowledge = kb()
    request = validate(load_request_file(args.request))
    result = check_order(knowledge, request, _order(args), tolerance_pct=args.tolerance_pct)
    if args.json:
        emit_json(result)
        return 0 if result["severity"] != "critical" else 1
    out = console()
    style = _SEVERITY_STYLE[result["severity"]]
    head = f"[{style}]{result['severity'].upper()}[/{style}]"
    out.print(f"{head} order check ({result['plan_status']} plan)")
    out.print(
        f"ordered {_g(result['ordered_total_g'])} g ({_g(result['ordered_g_per_kg'])} g/kg)"
        f"; policy {_g(result['policy_total_g'])} g ({_g(result['policy_g_per_kg'])} g/kg)"
        f" on a dosing weight of {_g(result['dosing_weight_kg'])} kg"
    )
    if result["difference_g"] is not None:
        per = " per week" if result["compared_per"] == "week" else ""
        out.print(
            f"difference {result['difference_g']:+g} g{per} ({result['difference_pct']:+.1f} %), "
            f"tolerance {result['tolerance_pct']:g} %"
        )
    if result["ordered_rate_mg_per_kg_per_min"] is not None:
        out.print(
            f"rate {args.rate_ml_per_h:g} mL/h = {result['ordered_rate_mg_per_kg_per_min']:g} "
            "mg/kg/min on the schedule's weight and concentration"
        )
    for finding in result["findings"]:
        fstyle = _SEVERITY_STYLE[finding["severity"]]
        out.print(f"[{fstyle}]{finding['severity']}[/{fstyle}] {escape(finding['message'])}")
    out.print(f"[dim]{escape(knowledge.disclaimer)}[/dim]")
    return 0 if result["severity"] != "critical" else 1


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "check-order",
        help="check an ordered regimen against the policy plan (exit 1 when critical)",
    )
    p.add_argument("request", help="request as JSON or YAML (- for standard input)")
    p.add_argument("--product", help="ordered product id")
    p.add_argument("--grams-per-day", type=float, help="ordered grams per day (with --days)")
    p.add_argument("--days", type=int, help="days the order runs over")
    p.add_argument("--total-g", type=float, help="ordered total grams of the course")
    p.add_argument("--interval-weeks", type=float, help="ordered repeat interval")
    p.add_argument("--rate-ml-per-h", type=float, help="ordered (highest) infusion rate")
    p.add_argument(
        "--tolerance-pct",
        type=float,
        default=None,
        help="percentage above the policy dose that is flagged (default: the knowledge base's, "
        "10, the common stewardship rule)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run)
