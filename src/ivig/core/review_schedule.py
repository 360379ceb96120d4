"""When the next response review is due, from the review rules as their sources word them.

Helpers of :mod:`ivig.core.review`. Two kinds of rule set the timing:

* the indication's ``review`` block: a first review ``first_review_weeks`` after the start of
  treatment (a window ``min``..``max`` where the sources differ) and, where the block has one, a
  review at least every ``interval_weeks`` after that;
* for maintenance without an interval of its own, the general ``maintenance_review`` rule
  (Ontario IGUM best practice: evaluated 6 months after the start of therapy and at minimum
  annually thereafter).

Each rule is read as written. The first review counts from the start of treatment (the first
course of the history) and is done by the first assessment on or after the day its window opens;
until then it is due that day, and overdue once the window's last day has passed. After the first
review the rule asks for a review at least every ``interval`` weeks: due that many weeks after
the latest assessment, overdue once that day has passed. An overdue review is reported as overdue
(since when, by how much), never replaced by a later date. No rule in the knowledge base says that
a dose change restarts the first review, so a dose change moves no date and the result says so.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.core.review_findings import ReviewContext

__all__ = ["dose_change_note", "review_schedule", "timing_rules"]

DAYS_PER_WEEK = 7  # calendar fact, not a clinical number


def _weeks(value: float) -> dt.timedelta:
    return dt.timedelta(weeks=float(value))


def _refs(sources: Sequence[Any]) -> list[str]:
    return [ref if isinstance(ref, str) else ref["id"] for ref in sources]


def _quotes(sources: Sequence[Any]) -> list[str]:
    """Each cited source with the locator the knowledge base gives for it."""
    return [
        f"{ref['id']}: {ref['locator']}"
        for ref in sources
        if not isinstance(ref, str) and ref.get("locator")
    ]


def _block_text(first: Mapping[str, Any] | None, interval: Mapping[str, Any] | None) -> str:
    parts = []
    if first:
        low, high = float(first["min"]), float(first["max"])
        span = f"{low:g}" if low == high else f"{low:g} to {high:g}"
        parts.append(f"first review {span} weeks after the start of treatment")
    if interval:
        parts.append(f"then at least every {float(interval['min']):g} weeks")
    return "; ".join(parts)


def timing_rules(
    ctx: ReviewContext,
    indication_id: str | None,
    review_block: Mapping[str, Any],
    courses: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The rules that time the reviews of this history, most specific first."""
    rules: list[dict[str, Any]] = []
    first = review_block.get("first_review_weeks")
    interval = review_block.get("interval_weeks")
    if first or interval:
        rules.append(
            {
                "rule": f"indication {indication_id}",
                "first_weeks": [float(first["min"]), float(first["max"])] if first else None,
                "interval_weeks": float(interval["min"]) if interval else None,
                "text": _block_text(first, interval),
                "sources": _refs(review_block.get("sources", [])),
                "locators": _quotes(review_block.get("sources", [])),
                "verified": bool(review_block.get("verified", False)),
            }
        )
    if interval or not any(c["phase"] == "maintenance" for c in courses):
        return rules
    general = ctx.rule("maintenance_review")
    if general is None:
        return rules
    ctx.use(general)
    weeks = general.get("first_review_weeks")
    rules.append(
        {
            "rule": general["id"],
            "first_weeks": [float(weeks), float(weeks)] if weeks is not None else None,
            "interval_weeks": general.get("interval_weeks"),
            "text": general["text"],
            "sources": _refs(general["sources"]),
            "locators": _quotes(general["sources"]),
            "verified": bool(general["verified"]),
        }
    )
    return rules


def _overdue(last_day: dt.date, as_of: dt.date) -> dict[str, Any] | None:
    if as_of <= last_day:
        return None
    days = (as_of - last_day).days
    return {"since": last_day.isoformat(), "days": days, "weeks": round(days / DAYS_PER_WEEK, 1)}


def _first_stage(
    rule: Mapping[str, Any], start: dt.date, dates: Sequence[dt.date], as_of: dt.date
) -> tuple[dict[str, Any], dt.date | None]:
    """The first review of ``rule``: its window and the assessment that did it, if any."""
    low, high = rule["first_weeks"]
    opens, closes = start + _weeks(low), start + _weeks(high)
    done = next((d for d in dates if opens <= d <= as_of), None)
    span = f"{low:g} weeks" if low == high else f"{low:g} to {high:g} weeks"
    window = opens.isoformat() if low == high else f"{opens.isoformat()} to {closes.isoformat()}"
    status = f"done {done.isoformat()}" if done else f"due {window}"
    stage: dict[str, Any] = {
        "stage": "first",
        "opens": opens.isoformat(),
        "closes": closes.isoformat(),
        "done": done.isoformat() if done else None,
        "when": f"first review {span} after the start of treatment on {start.isoformat()} "
        f"({status})",
    }
    if done is None:
        stage |= {"due": opens.isoformat(), "overdue": _overdue(closes, as_of)}
    return stage, done


def _interval_stage(
    rule: Mapping[str, Any], since: dt.date, dates: Sequence[dt.date], as_of: dt.date
) -> dict[str, Any]:
    interval = float(rule["interval_weeks"])
    anchor = max((d for d in dates if since <= d <= as_of), default=since)
    due = anchor + _weeks(interval)
    return {
        "stage": "interval",
        "due": due.isoformat(),
        "closes": due.isoformat(),
        "overdue": _overdue(due, as_of),
        "when": f"at least every {interval:g} weeks: {interval:g} weeks after the last "
        f"assessment on {anchor.isoformat()} (due {due.isoformat()})",
    }


def _rule_status(
    rule: Mapping[str, Any], start: dt.date, dates: Sequence[dt.date], as_of: dt.date
) -> dict[str, Any]:
    head = {k: rule[k] for k in ("rule", "text", "sources", "locators", "verified")}
    since, before = start, ""
    if rule["first_weeks"]:
        first, done = _first_stage(rule, start, dates, as_of)
        if done is None:
            return head | first
        head["first_review_done"] = done.isoformat()
        since, before = done, f"{first['when']}; "
    if not rule["interval_weeks"]:
        return head | {
            "stage": "none",
            "due": None,
            "overdue": None,
            "when": f"{before}the rule gives no review after the first",
        }
    later = _interval_stage(rule, since, dates, as_of)
    return head | later | {"when": before + later["when"]}


def _basis(status: Mapping[str, Any], also: Sequence[str]) -> str:
    names = " and ".join([status["rule"], *also])
    late = status["overdue"]
    if late:
        return (
            f"OVERDUE by {late['weeks']:g} weeks ({late['days']} days) since {late['since']}: "
            f"{names}: {status['when']}"
        )
    return f"{names}: {status['when']}"


def review_schedule(
    rules: Sequence[Mapping[str, Any]],
    start: dt.date | None,
    assessment_dates: Sequence[dt.date],
    as_of: dt.date,
) -> dict[str, Any]:
    """The next review of every rule, and the earliest one (overdue ones first)."""
    if start is None or not rules:
        basis = (
            "no course recorded: review dates count from the start of treatment"
            if start is None and rules
            else "the knowledge base gives no review timing for this indication; the review "
            "period of the Australian criteria (BloodSTAR) or Ontario IGUM for it would settle it"
        )
        return {"due": None, "overdue": None, "rule": None, "basis": basis, "schedule": []}
    dates = sorted(set(assessment_dates))
    statuses = [_rule_status(rule, start, dates, as_of) for rule in rules]
    pending = sorted((s for s in statuses if s["due"]), key=lambda s: (s["due"], s["closes"]))
    if not pending:
        done = "; ".join(f"{s['rule']}: {s['when']}" for s in statuses)
        return {
            "due": None,
            "overdue": None,
            "rule": None,
            "basis": f"no further review is scheduled by the rules ({done})",
            "schedule": statuses,
        }
    best = pending[0]
    also = [s["rule"] for s in pending[1:] if s["due"] == best["due"]]
    return {
        "due": best["due"],
        "overdue": best["overdue"],
        "rule": {k: best[k] for k in ("rule", "text", "sources", "locators", "verified")},
        "basis": _basis(best, also),
        "schedule": statuses,
    }


def _interval_changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Both doses state their interval and the intervals differ."""
    left, right = a.get("interval_weeks"), b.get("interval_weeks")
    return left is not None and right is not None and float(left) != float(right)


def _changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    dose = abs(float(a["dose_g_per_kg"]) - float(b["dose_g_per_kg"])) > 1e-9
    return dose or _interval_changed(a, b)


def dose_change_note(
    courses: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]]
) -> str | None:
    """Say that no review rule used restarts the schedule on a dose change, when one happened."""
    doses = [c for c in courses if c["phase"] == "maintenance"]
    changes = [(a, b) for a, b in itertools.pairwise(doses) if _changed(a, b)]
    if not changes or not rules:
        return None
    before, after = changes[-1]
    what = f"{float(before['dose_g_per_kg']):g} -> {float(after['dose_g_per_kg']):g} g/kg"
    if _interval_changed(before, after):
        what += (
            f", every {float(before['interval_weeks']):g} -> "
            f"{float(after['interval_weeks']):g} weeks"
        )
    names = ", ".join(r["rule"] for r in rules)
    return (
        f"dose changed on {after['date'].isoformat()} ({what}): the review rules used ({names}) "
        "do not say whether a dose change restarts the first review, so the dates count from "
        "the start of treatment"
    )
