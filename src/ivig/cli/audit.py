"""``ivig audit ORDERS.csv``: check historical orders against a dosing policy and the criteria.

Streams the file (constant memory), uses every CPU by default, shows a progress bar on a
terminal, prints the totals (``--json`` for machine output) and writes per-order details and
bad rows to CSV files when asked (only when the run succeeds). See
:mod:`ivig.registry.batch_audit` for the definitions.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

from ivig.cli._common import console, emit_json, kb, print_footer

if TYPE_CHECKING:
    import argparse

__all__ = ["CRITERIA_LABELS", "add_parsers"]

#: how the criteria column reads in the terminal table
CRITERIA_LABELS = {
    "met": "documented and met",
    "unmet": "documented and unmet",
    "not_documented": "not documented",
    "out_of_scope": "out of scope",
}


def _run(args: argparse.Namespace) -> int:
    from ivig.registry.batch_audit import AuditOptions, audit_orders, default_workers

    knowledge = kb()
    options = AuditOptions(
        jurisdiction=args.jurisdiction, policy=args.policy, rounding=args.rounding
    )
    outputs = _Outputs(args.details, args.errors)
    show_progress = sys.stderr.isatty() and not args.no_progress
    with outputs:
        if show_progress:
            result = _with_progress(args, knowledge, options, outputs.details, outputs.errors)
        else:
            result = audit_orders(
                args.orders,
                knowledge,
                options,
                workers=args.workers or default_workers(),
                on_error=args.on_error,
                details=outputs.details,
                errors_out=outputs.errors,
            )
    if args.json:
        emit_json(result)
        return 0
    _print(result, knowledge)
    return 0


class _Outputs:
    """The details and errors files, written beside their final names and moved into place
    only when the run succeeds: a failed run leaves no empty or partial file behind."""

    def __init__(self, details: str | None, errors: str | None) -> None:
        self._targets = [details, errors]
        self._temps: list[str | None] = [None, None]
        self._files: list[IO[str] | None] = [None, None]

    @property
    def details(self) -> IO[str] | None:
        return self._files[0]

    @property
    def errors(self) -> IO[str] | None:
        return self._files[1]

    def __enter__(self) -> _Outputs:
        import os
        import tempfile

        from ivig.errors import InputError

        for k, target in enumerate(self._targets):
            if target is None:
                continue
            folder = os.path.dirname(os.path.abspath(target))
            try:
                fd, temp = tempfile.mkstemp(prefix=".ivig-audit-", suffix=".csv", dir=folder)
            except OSError as exc:
                self._discard()
                raise InputError(
                    "--details" if k == 0 else "--errors", target, "a writable path",
                    detail=exc.strerror,
                ) from None  # fmt: skip
            self._temps[k] = temp
            self._files[k] = open(fd, "w", encoding="utf-8", newline="")
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        import os

        if kind is not None:
            self._discard()
            return
        for k, target in enumerate(self._targets):
            handle, temp = self._files[k], self._temps[k]
            if handle is not None and temp is not None and target is not None:
                handle.close()
                os.replace(temp, target)

    def _discard(self) -> None:
        import contextlib
        import os

        for handle, temp in zip(self._files, self._temps, strict=True):
            if handle is not None:
                handle.close()
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)


def _with_progress(
    args: argparse.Namespace, knowledge: Any, options: Any, details: Any, errors: Any
) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ivig.registry.batch_audit import audit_orders, default_workers

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_err(),
        transient=True,
    ) as progress:
        task = progress.add_task("auditing orders", total=None)
        result = audit_orders(
            args.orders,
            knowledge,
            options,
            workers=args.workers or default_workers(),
            on_error=args.on_error,
            details=details,
            errors_out=errors,
            progress=lambda n: progress.update(task, completed=n),
        )
    return result


def console_err() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _print(result: dict[str, Any], knowledge: Any) -> None:
    from rich.table import Table

    out = console()
    table = Table(
        title=f"Audit: policy {result['policy']}, jurisdiction {result['jurisdiction']}",
        title_justify="left",
        show_header=False,
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("orders audited", f"{result['orders']:,}")
    table.add_row("criteria", "")
    for criteria, count in result["by_criteria"].items():
        table.add_row(f"  {CRITERIA_LABELS.get(criteria, criteria)}", f"{count:,}")
    table.add_row("orders with a policy dose", f"{result['orders_with_policy_dose']:,}")
    table.add_row(
        "orders without a policy dose (see the details' note)",
        f"{result['orders_without_policy_dose']:,}",
    )
    table.add_row("bad rows (skipped)", f"{result['bad_rows']:,}")
    table.add_row("grams prescribed", f"{result['grams_prescribed']:,.1f} g")
    table.add_row(
        "grams prescribed where the policy gives a dose",
        f"{result['grams_with_policy_dose']:,.1f} g",
    )
    table.add_row("grams by policy", f"{result['grams_by_policy']:,.1f} g")
    table.add_row("grams over policy", f"{result['grams_over_policy']:,.1f} g")
    table.add_row("orders over policy", f"{result['orders_over_policy']:,}")
    table.add_row(
        "grams in orders outside the criteria", f"{result['grams_outside_criteria']:,.1f} g"
    )
    table.add_row("could be saved", f"{result['saving_percent']:.1f} % of grams prescribed")
    out.print(table)
    if result.get("note"):
        out.print(f"note: {result['note']}")
    for err in result["errors"][:20]:
        out.print(f"[yellow]line {err['line']}[/yellow] ({err['order_id']}): {err['error']}")
    if result["bad_rows"] > 20:
        out.print(f"... {result['bad_rows'] - 20} more bad rows (use --errors FILE for all)")
    print_footer(out, knowledge)


def add_parsers(sub: Any) -> None:
    from ivig.vocabulary import ROUNDINGS

    p = sub.add_parser("audit", help="audit historical orders (CSV) against criteria and policy")
    p.add_argument(
        "orders",
        help="CSV: order_id, date, sex, age_years, height_cm, weight_kg, "
        "condition, phase, grams [, indication, findings_json]",
    )
    p.add_argument("--policy", help="dosing-weight policy id (default: the jurisdiction's)")
    p.add_argument(
        "--jurisdiction",
        help="criteria to apply (default: the policy's jurisdiction, else international)",
    )
    p.add_argument(
        "--rounding",
        choices=[r for r in ROUNDINGS if r != "vials"],
        help="rounding of policy doses (vials needs a product, which an order row lacks)",
    )
    p.add_argument("--details", metavar="FILE", help="write one CSV row per order")
    p.add_argument("--errors", metavar="FILE", help="write every bad row (line, id, error)")
    p.add_argument(
        "--on-error",
        choices=("skip", "stop"),
        default="skip",
        help="skip bad rows (reported) or stop at the first",
    )
    p.add_argument("--workers", type=int, help="processes (default: the CPUs available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="totals as JSON")
    p.set_defaults(func=_run)
