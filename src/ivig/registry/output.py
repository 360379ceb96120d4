"""Rendering of registry rows: terminal tables, CSV files and PNG/SVG bar charts.

matplotlib is imported only when a chart is drawn, with the Agg backend (no display needed).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivig.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["csv_safe", "csv_safe_row", "print_table", "write_chart", "write_csv"]

#: a cell starting with one of these is read as a formula by spreadsheets (OWASP CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet: text that starts like a formula gets a leading
    apostrophe (OWASP); numbers and other values are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe_row(row: dict[str, Any]) -> dict[str, Any]:
    """Every cell of ``row`` through :func:`csv_safe` (for any CSV export, e.g. batch audit)."""
    return {key: csv_safe(value) for key, value in row.items()}


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if not isinstance(value, dict | list):
                cols.setdefault(key)
    return list(cols)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"
    return str(value)


def print_table(out: Console, title: str, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` as a rich table (nested values are left out; use --json for them)."""
    from rich.table import Table

    if not rows:
        out.print(f"[bold]{title}[/bold]: nothing to show")
        return
    cols = _columns(rows)
    table = Table(title=title, title_justify="left")
    for col in cols:
        table.add_column(col.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in cols))
    out.print(table)


def write_csv(path: str, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` to a CSV file (columns in first-seen order; nested values left out; cells that
    would start a spreadsheet formula neutralised)."""
    cols = _columns(rows)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[csv_safe(c) for c in cols], extrasaction="ignore")
        writer.writeheader()
        writer.writerows({csv_safe(k): csv_safe(v) for k, v in row.items()} for row in rows)


def write_chart(
    path: str, rows: Sequence[dict[str, Any]], label: str, value: str, title: str
) -> None:
    """A bar chart of ``value`` per ``label`` to ``path`` (.png or .svg)."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise InputError("chart", path, "a file name ending in .png or .svg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [str(r.get(label)) for r in rows]
    values = [float(r.get(value) or 0.0) for r in rows]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(rows) + 2), 4.0))
    try:
        ax.bar(range(len(values)), values, color="#3b6ea5")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_ylabel(value.replace("_", " "))
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path, format=suffix[1:])
    finally:
        plt.close(fig)
