"""``ivig score`` and ``ivig review``: compute clinical scores and review a course history.

``ivig score NAME item=value ... [--json]`` validates every item and prints the total, range,
interpretation, MCID and sources; ``ivig score list`` lists the scores. ``ivig review FILE``
reads a YAML/JSON course history and prints the verdict, reasons, next steps and the next review
date; ``--plot FILE`` writes a trend chart (PNG or SVG; matplotlib is imported only then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivig.cli._common import console, emit_json, kb, print_footer
from ivig.errors import InputError

if TYPE_CHECKING:
    import argparse

__all__ = ["add_parsers", "parse_items", "plot_review"]

#: the unverified marker, escaped so that rich does not read it as markup
UNVERIFIED = " \\[unverified]"


def parse_items(pairs: list[str]) -> dict[str, str]:
    """``["arm=2", "leg=3"]`` -> ``{"arm": "2", "leg": "3"}``; refuses malformed pairs."""
    items: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise InputError("item", pair, "name=value, e.g. arm=2")
        if name in items:
            raise InputError("item", pair, "each item once", detail="given twice")
        items[name.strip()] = value.strip()
    return items


def _score(args: argparse.Namespace) -> int:
    from ivig.app.scores import item_allowed_text, list_scores, score

    knowledge = kb()
    if args.name == "list":
        scores = list_scores(knowledge)
        if args.json:
            emit_json(
                {
                    "knowledge_version": knowledge.version,
                    "scores": [
                        {
                            "id": s["id"],
                            "name": s["name"],
                            "kind": s["kind"],
                            "items": {i["id"]: item_allowed_text(i) for i in s["items"]},
                            "verified": s["verified"],
                        }
                        for s in scores
                    ],
                }
            )
            return 0
        from rich.table import Table

        table = Table(title="Scores and outcome measures (* not verified)")
        for col in ("id", "name", "items"):
            table.add_column(col)
        for s in scores:
            items = ", ".join(f"{i['id']}={item_allowed_text(i)}" for i in s["items"])
            if len(items) > 70:
                items = f"{len(s['items'])} items ({s['items'][0]['id']}, ...)"
            table.add_row(s["id"] + ("" if s["verified"] else "*"), s["name"], items)
        out = console()
        out.print(table)
        print_footer(out, knowledge)
        return 0
    result = score(knowledge, args.name, parse_items(args.items))
    if args.json:
        emit_json(result)
        return 0
    out = console()
    rng = result.get("range")
    shown = f" (range {rng['min']:g}-{rng['max']:g})" if rng and rng["max"] is not None else ""
    out.print(f"[bold]{result['name']}[/bold]: {result['total']} {result['unit']}{shown}")
    for row in result["items"]:
        points = ""
        if "points" in row:
            unit = "point" if row["points"] == 1 else "points"
            points = f" -> {row['points']:g} {unit}" + ("" if row["verified"] else UNVERIFIED)
        out.print(
            f"  {row['id']} = {row['value']}"
            + (f"  ({row['label']})" if "label" in row else "")
            + points
        )
    for band in result["interpretation"]:
        out.print(f"  meaning: {band['label']}" + ("" if band["verified"] else UNVERIFIED))
    if result["mcid"]:
        out.print(f"  minimal important change: {result['mcid']['text']}")
    if result.get("not_encoded"):
        out.print(f"  [dim]not encoded: {result['not_encoded']}[/dim]")
    out.print(f"  sources: {', '.join(result['sources'])}")
    if result["unverified"]:
        out.print(
            f"  [yellow]not verified in the source: {'; '.join(result['unverified'])}[/yellow]"
        )
    print_footer(out, knowledge)
    return 0


def _read_history(path: str) -> dict[str, Any]:
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError(
            "history file", path, "a readable YAML or JSON file", detail=str(exc)
        ) from exc
    if path.endswith(".json"):
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise InputError("history file", path, "a mapping with condition, courses, assessments")
    return data


def plot_review(review: dict[str, Any], path: str) -> None:
    """Write the trend chart of ``review`` (one panel per measure, doses marked) to ``path``."""
    import datetime as dt

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = review["series"]
    if not path.endswith((".png", ".svg")):
        raise InputError("--plot", path, "a file name ending in .png or .svg")
    fig, axes = plt.subplots(max(len(series), 1), 1, figsize=(8, 2.6 * max(len(series), 1)))
    panels = axes if hasattr(axes, "__len__") else [axes]
    doses = [dt.date.fromisoformat(c["date"]) for c in review["courses"]]
    for ax, (sid, points) in zip(panels, series.items(), strict=False):
        days = [dt.date.fromisoformat(p["date"]) for p in points]
        ax.plot(days, [p["value"] for p in points], marker="o")
        for day in doses:
            ax.axvline(day, color="grey", alpha=0.3, linewidth=1)
        ax.set_ylabel(sid)
    panels[0].set_title(f"{review['condition']}: {review['verdict']} (doses as grey lines)")
    fig.autofmt_xdate()
    fig.text(
        0.99, 0.995, f"knowledge {review['knowledge_version']}", fontsize=6, ha="right", va="top"
    )
    fig.savefig(path)
    plt.close(fig)


def _review(args: argparse.Namespace) -> int:
    from ivig.app.scores import review_history

    knowledge = kb()
    review = review_history(knowledge, _read_history(args.history))
    if args.plot:
        plot_review(review, args.plot)
        review["plot"] = args.plot
    if args.json:
        emit_json(review)
        return 0
    out = console()
    out.print(
        f"[bold]Verdict: {review['verdict']}[/bold] "
        f"({review['condition']}, as of {review['as_of']})"
    )
    for reason in review["reasons"]:
        out.print(f"  - {reason}")
    for row in review["measures"]:
        if "change" in row:
            unit = "" if row.get("unit") in (None, "", "none") else f" {row['unit']}"
            out.print(
                f"  {row['score']}: {row['baseline']['value']:g} -> {row['latest']['value']:g} "
                f"(improvement {row['change']:g}{unit}) {row['status']}"
            )
        else:
            out.print(f"  {row['score']}: {row['status']} ({row.get('why', '')})")
    found = review["findings"]
    for key in ("fluctuation", "wearing_off", "dose_creep"):
        value = found.get(key)
        if value and (value.get("detected") or value.get("trf") or value.get("acute_onset_cidp")):
            out.print(f"  finding: {key.replace('_', ' ')}")
    out.print("[bold]Next steps[/bold]")
    for step in review["next_steps"]:
        flag = "" if step.get("verified", True) else UNVERIFIED
        out.print(f"  - {step['action']}{flag}")
    _print_next_review(out, review["next_review"])
    if review["unverified"]:
        out.print("[yellow]Not verified in the source:[/yellow]")
        for text in review["unverified"]:
            out.print(f"  [yellow]- {text}[/yellow]")
    out.print(f"[dim]sources: {', '.join(review['sources'])}[/dim]")
    if args.plot:
        out.print(f"chart: {args.plot}")
    print_footer(out, knowledge)
    return 0


def _print_next_review(out: Any, nxt: dict[str, Any]) -> None:
    """The next review: date (or overdue), the rule and its sources, each rule's status."""
    late = nxt.get("overdue")
    when = nxt["due"] or "not set"
    if late:
        when = f"[bold red]OVERDUE[/bold red] since {late['since']} ({late['weeks']:g} weeks)"
    out.print(f"[bold]Next review:[/bold] {when} ({nxt['basis']})")
    rule = nxt.get("rule")
    if rule:
        flag = "" if rule["verified"] else UNVERIFIED
        out.print(f"  rule: {rule['text']}{flag}")
        for quote in rule.get("locators") or rule["sources"]:
            out.print(f"    source {quote}")
    schedule = nxt.get("schedule", [])
    for status in schedule if len(schedule) > 1 else []:
        out.print(f"  - {status['rule']}: {status['when']}")
    for note in nxt.get("notes", []):
        out.print(f"  note: {note}")
    out.print(f"  measure: {', '.join(nxt['measure'])}")


def add_parsers(sub: Any) -> None:
    """Register ``score`` and ``review``."""
    score = sub.add_parser("score", help="compute a clinical score (or `ivig score list`)")
    score.add_argument("name", help="score id (see `ivig score list`) or 'list'")
    score.add_argument("items", nargs="*", help="item=value pairs, e.g. arm=2 leg=3")
    score.add_argument("--json", action="store_true", help="machine-readable output")
    score.set_defaults(func=_score)
    review = sub.add_parser("review", help="review a course history: is the Ig working?")
    review.add_argument("history", help="YAML or JSON course history")
    review.add_argument("--json", action="store_true", help="machine-readable output")
    review.add_argument("--plot", metavar="FILE", help="write a trend chart (.png or .svg)")
    review.set_defaults(func=_review)
