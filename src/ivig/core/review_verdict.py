"""Per-measure change against the measure's meaningful change, and the verdict of the review.

Helpers of :mod:`ivig.core.review`. A change counts only when it reaches the measure's
meaningful change: the responder or deterioration rule of ``review_rules.yaml`` for the
measure, else the score's MCID, else one grade of a single-item ordinal scale (flagged
unverified). A smaller change is no meaningful change. A measure the knowledge base holds no
such value for is reported with its change and is not judged: no threshold is made up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ivig.core.review_findings import (
    ReviewContext,
    meets,
    note_threshold,
    signed_change,
    threshold,
    weeks_between,
)

__all__ = ["JUDGED", "describe_limit", "measure_row", "verdict_of"]

#: statuses of a measure that was judged against a meaningful change
JUDGED = ("responder", "deteriorated", "unchanged")


def _amount(value: float, unit: str) -> str:
    if unit in ("none", ""):
        return f"{value:g}"
    if unit == "points" and abs(value) == 1:
        return f"{value:g} point"
    return f"{value:g} {unit}"


def _signed(value: float, unit: str) -> str:
    sign = "+" if value > 0 else ""
    return sign + _amount(round(value, 4), unit)


def describe_limit(
    ctx: ReviewContext, score_id: str, limit: Mapping[str, Any], kind: str
) -> dict[str, Any]:
    """A threshold as plain data: value, comparison text, rule or MCID, sources, verified."""
    score = ctx.kb.score(score_id)
    unit = str(score.get("unit", ""))
    amount = _amount(float(limit["value"]), unit)
    rule = limit["rule"]
    sources = [r["id"] for r in rule["sources"]] if rule else list(limit.get("sources", []))
    text = f"more than {amount}" if limit["strict"] else f"{amount} or more"
    borrowed = kind == "deterioration" and (rule is None or rule["kind"] != "deterioration")
    mcid: Mapping[str, Any] = score.get("mcid") or {}
    return {
        "value": limit["value"],
        "strict": limit["strict"],
        "unit": unit,
        "text": text,
        "basis": limit["basis"],
        "rule_text": rule["text"] if rule else mcid.get("text"),
        "sources": sources,
        "verified": limit["verified"],
        "applied_to_worsening": borrowed,
    }


def _against(limit: Mapping[str, Any]) -> str:
    sources = ", ".join(limit["sources"]) or "no source"
    borrowed = (
        "; no deterioration rule, the improvement threshold applied to worsening"
        if limit.get("applied_to_worsening")
        else ""
    )
    return f"{limit['text']} ({limit['basis']}; {sources}{borrowed})"


def _judge(
    ctx: ReviewContext, row: dict[str, Any], score_id: str, change: float, unit: str
) -> None:
    """Set the status and judgement text of a measure with a follow-up."""
    better = threshold(ctx, score_id, "responder")
    worse = threshold(ctx, score_id, "deterioration")
    shown = _signed(change, unit)
    if better is None or worse is None:
        row["status"] = "no_threshold"
        row["judgement"] = (
            f"change {shown}; the knowledge base holds no meaningful-change value for "
            f"{score_id}, so this change is not judged"
        )
        return
    up = describe_limit(ctx, score_id, better, "responder")
    down = describe_limit(ctx, score_id, worse, "deterioration")
    row["threshold"], row["deterioration_threshold"] = up, down
    if meets(change, better):
        note_threshold(ctx, better)
        row["status"] = "responder"
        row["judgement"] = f"meaningful improvement: {shown}, reaching {_against(up)}"
    elif meets(-change, worse):
        note_threshold(ctx, worse)
        row["status"] = "deteriorated"
        row["judgement"] = f"meaningful worsening: {shown}, reaching {_against(down)}"
    else:
        limit, shown_limit = (worse, down) if change < 0 else (better, up)
        note_threshold(ctx, limit)
        row["status"] = "unchanged"
        row["judgement"] = (
            f"no meaningful change: {shown} is smaller than the meaningful change of "
            f"{_against(shown_limit)}"
        )


def measure_row(
    ctx: ReviewContext,
    score_id: str,
    entries: list[dict[str, Any]],
    start: dt.date | None,
    min_weeks: float,
) -> dict[str, Any]:
    """Baseline, latest value, change (improvement positive) and the judgement of one measure."""
    base_pool = [e for e in entries if start is None or e["date"] <= start]
    baseline = next((e for e in entries if e["timing"] == "baseline"), None)
    baseline = baseline or (base_pool[-1] if base_pool else None)
    row: dict[str, Any] = {"score": score_id, "n": len(entries)}
    follow = [e for e in entries if baseline is not None and e["date"] > baseline["date"]]
    if baseline is None or not follow or start is None:
        row["status"] = "insufficient"
        row["why"] = "no baseline before treatment" if baseline is None else "no follow-up"
        return row
    latest = follow[-1]
    change = signed_change(ctx, score_id, baseline, latest)
    unit = str(ctx.kb.score(score_id).get("unit", ""))
    row |= {
        "baseline": {"date": baseline["date"].isoformat(), "value": baseline["value"]},
        "latest": {"date": latest["date"].isoformat(), "value": latest["value"]},
        "change": round(change, 4),
        "unit": unit,
        "threshold": None,
    }
    _judge(ctx, row, score_id, change, unit)
    weeks = weeks_between(start, latest["date"])
    if row["status"] != "responder" and weeks < min_weeks:
        row["status"] = "too_early"
        row["judgement"] = (
            f"too early to judge (week {weeks:.0f} of treatment; the first review is from week "
            f"{min_weeks:g}); so far {row['judgement']}"
        )
    return row


def _names(rows: Sequence[Mapping[str, Any]], status: str) -> list[str]:
    return [r["score"] for r in rows if r["status"] == status]


def _unjudged(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [f"{r['score']}: {r['judgement']}" for r in rows if r["status"] == "no_threshold"]


def _why_not_judged(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    early = [f"{r['score']}: {r['judgement']}" for r in rows if r["status"] == "too_early"]
    if early:
        return ["too early to judge", *early, *_unjudged(rows)]
    if _unjudged(rows):
        head = "no measure recorded has a meaningful-change value in the knowledge base"
        return [head, *_unjudged(rows)]
    return ["no measure has a baseline and a follow-up after treatment started"]


def verdict_of(rows: Sequence[Mapping[str, Any]], fluctuation: bool) -> tuple[str, list[str]]:
    """The verdict and its reasons: which measures changed meaningfully, by how much, against
    which threshold."""
    if fluctuation:
        return "partial", ["improved or stabilised after treatment, then worsened (fluctuation)"]
    judged = [r for r in rows if r["status"] in JUDGED]
    lines = [f"{r['score']}: {r['judgement']}" for r in judged] + _unjudged(rows)
    if not judged:
        return "insufficient_data", _why_not_judged(rows)
    better, worse = _names(rows, "responder"), _names(rows, "deteriorated")
    if better and worse:
        head = f"meaningful improvement on {', '.join(better)} but meaningful worsening on "
        return "partial", [head + ", ".join(worse), *lines]
    if better:
        return "responder", [f"meaningful improvement on {', '.join(better)}", *lines]
    if worse:
        head = f"meaningful worsening on {', '.join(worse)} and no meaningful improvement"
        return "non_responder", [head, *lines]
    names = ", ".join(r["score"] for r in judged)
    head = f"no meaningful change against baseline on {names}: no demonstrable benefit"
    return "non_responder", [head, *lines]
