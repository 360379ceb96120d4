"""``ivig recommend REQUEST --compare``: the same patient under every jurisdiction, side by side
(split from :mod:`ivig.cli.recommend` so that a plain recommendation does not compile it)."""

from __future__ import annotations

from ivig.cli._common import console, emit_json, kb
from ivig.cli.recommend import load_request_file

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse

__all__ = ["run_compare"]


def run_compare(args: argparse.Namespace) -> int:
    """Print (or emit as JSON) the request's patient under every jurisdiction's policy."""
    from ivig.app.compare import compare

    result = compare(kb(), load_request_file(args.request))
    if args.json:
        emit_json(result)
        return 0
    from rich.markup import escape
    from rich.table import Table

    out = console()
    table = Table(title="The same patient in every jurisdiction", show_lines=True)
    for col in (
        "jurisdiction",
        "policy",
        "dosing weight",
        "dose",
        "rounding",
        "status",
        "evidence",
    ):
        table.add_column(col, overflow="fold")
    for row in result["rows"]:
        if row["error"]:
            table.add_row(row["jurisdiction"], row["policy"] or "", escape(row["error"]))
            continue
        weight = "" if row["dosing_weight_kg"] is None else f"{row['dosing_weight_kg']:g} kg"
        weight += (
            f" ({row['weight_method']}, rule {row['weight_rule_id']})"
            if row["weight_rule_id"]
            else ""
        )
        dose = "" if row["total_g"] is None else f"{row['total_g']:g} g ({row['g_per_kg']:g} g/kg)"
        table.add_row(
            row["jurisdiction"], row["policy"] or "", escape(weight), dose,
            row["rounding"] or "", f"{row['status']} / {row['plan_status']}",
            escape("; ".join(row["evidence"])),
        )  # fmt: skip
    out.print(table)
    for row in result["rows"]:
        if row["cliff"]:
            out.print(f"[yellow]threshold[/yellow] {escape(row['cliff'])}")
    out.print(f"[dim]{escape(result['disclaimer'])}[/dim]")
    return 0
