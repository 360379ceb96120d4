"""Response review: is the immunoglobulin working, and what should happen next?

``review_course(kb, history)`` reads a course history (courses given, assessments over time) and
returns a plain-data review: a verdict (responder / partial / non_responder / insufficient_data)
with reasons, per-measure changes, findings (end-of-dose wearing off, GBS treatment-related
fluctuation, dose creep, stability), the next steps and the next review date with what to
measure. Every threshold comes from the ``review_rules`` collection and the score records; the
indication's ``review`` block (first review, interval, measures, stop rule) is used where the
knowledge base has it. Pure computation: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivig.core.review_findings import (
    ReviewContext,
    detect_dose_creep,
    detect_fluctuation,
    detect_wearing_off,
    meets,
    note_threshold,
    signed_change,
    stability_and_taper,
    step_of,
    threshold,
    weeks_between,
)
from ivig.core.scores import compute_score, score_record
from ivig.errors import InputError, MissingFieldError, UnknownIdError
from ivig.vocabulary import PHASES

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["VERDICTS", "parse_date", "review_course"]

VERDICTS = ("responder", "partial", "non_responder", "insufficient_data")


def parse_date(value: object, field: str) -> dt.date:
    """A date from a ``date``/``datetime`` or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(field, value, "a date as YYYY-MM-DD")


# -- input ---------------------------------------------------------------------------------------
def _courses(history: Mapping[str, Any]) -> list[dict[str, Any]]:
    weight = (history.get("patient") or {}).get("weight_kg")
    out = []
    for k, raw in enumerate(history.get("courses") or []):
        where = f"courses[{k}]"
        if not isinstance(raw, Mapping):
            raise InputError(where, raw, "a mapping with date, phase and dose")
        course = dict(raw)
        course["date"] = parse_date(raw.get("date"), f"{where}.date")
        if "dose_g_per_kg" not in raw:
            if "dose_g" in raw and weight:
                course["dose_g_per_kg"] = float(raw["dose_g"]) / float(weight)
            else:
                raise MissingFieldError(f"{where}.dose_g_per_kg", "the dose history", "g/kg")
        dose = float(course["dose_g_per_kg"])
        if dose <= 0:
            raise InputError(f"{where}.dose_g_per_kg", dose, "a dose above 0", "g/kg")
        phase = raw.get("phase")
        if phase is None:
            raise MissingFieldError(f"{where}.phase", "the dose history", None)
        if phase not in PHASES:
            raise InputError(f"{where}.phase", phase, "induction, maintenance, one_off")
        course["phase"] = phase
        out.append(course)
    return sorted(out, key=lambda c: c["date"])


def _assessments(kb: KnowledgeBase, history: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    for k, raw in enumerate(history.get("assessments") or []):
        where = f"assessments[{k}]"
        if not isinstance(raw, Mapping) or "score" not in raw:
            raise MissingFieldError(f"{where}.score", "an assessment")
        score = score_record(kb, str(raw["score"]))
        if "items" in raw:
            items = dict(raw["items"])
        elif "value" in raw and len(score["items"]) == 1:
            items = {score["items"][0]["id"]: raw["value"]}
        else:
            raise MissingFieldError(f"{where}.value", f"an assessment of {score['id']}")
        result = compute_score(kb, score["id"], items)
        total = result["total"] if score["method"] != "class" else result["rank"]
        timing = raw.get("timing", "routine")
        if timing not in ("baseline", "pre_dose", "post_dose", "routine"):
            raise InputError(f"{where}.timing", timing, "baseline, pre_dose, post_dose, routine")
        entry = {
            "date": parse_date(raw.get("date"), f"{where}.date"),
            "value": float(total),
            "items": items,
            "timing": timing,
        }
        series.setdefault(score["id"], []).append(entry)
    for entries in series.values():
        entries.sort(key=lambda e: e["date"])
    return series


def _indication(kb: KnowledgeBase, indication_id: str | None) -> dict[str, Any] | None:
    if not indication_id:
        return None
    try:
        found: dict[str, Any] = dict(kb.indication(indication_id))
    except UnknownIdError:
        return None
    return found


# -- per-measure change --------------------------------------------------------------------------
def _measure(
    ctx: ReviewContext,
    score_id: str,
    entries: list[dict[str, Any]],
    start: dt.date | None,
    min_weeks: float,
) -> dict[str, Any]:
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
    row |= {
        "baseline": {"date": baseline["date"].isoformat(), "value": baseline["value"]},
        "latest": {"date": latest["date"].isoformat(), "value": latest["value"]},
        "change": round(change, 4),
    }
    responder = threshold(ctx, score_id, "responder")
    worse = threshold(ctx, score_id, "deterioration")
    row["threshold"] = (
        None
        if responder is None
        else {
            "value": responder["value"],
            "strict": responder["strict"],
            "basis": responder["basis"],
            "verified": responder["verified"],
        }
    )
    if responder is not None and meets(change, responder):
        note_threshold(ctx, responder)
        row["status"] = "responder"
    elif worse is not None and meets(-change, worse):
        note_threshold(ctx, worse)
        row["status"] = "deteriorated"
    elif change > 0:
        row["status"] = "improved"
    elif change < 0:
        row["status"] = "worse"
    else:
        row["status"] = "unchanged"
    if row["status"] != "responder" and weeks_between(start, latest["date"]) < min_weeks:
        row["status"] = "too_early"
    return row


def _verdict(rows: list[dict[str, Any]], fluctuation: bool) -> tuple[str, list[str]]:
    statuses = [r["status"] for r in rows]
    names = {s: [r["score"] for r in rows if r["status"] == s] for s in set(statuses)}
    if fluctuation:
        return "partial", ["improved or stabilised after treatment, then worsened (fluctuation)"]
    judged = [s for s in statuses if s not in ("insufficient", "too_early")]
    if not judged:
        why = "too early to judge" if "too_early" in statuses else "no measure has a baseline "
        why += "" if "too_early" in statuses else "and a follow-up after treatment started"
        return "insufficient_data", [why]
    if "responder" in statuses:
        return _responder_verdict(names)
    if "improved" in statuses:
        return "partial", [
            f"improvement below the responder threshold on {', '.join(names['improved'])}"
        ]
    worse = names.get("deteriorated", []) + names.get("worse", [])
    if worse:
        return "non_responder", [f"worse than baseline on {', '.join(worse)}"]
    return "non_responder", ["no improvement against baseline"]


def _responder_verdict(names: dict[str, list[str]]) -> tuple[str, list[str]]:
    """A meaningful improvement somewhere: responder, or partial when another measure is worse."""
    if "deteriorated" in names:
        return "partial", [
            f"meaningful improvement on {', '.join(names['responder'])} but deterioration "
            f"on {', '.join(names['deteriorated'])}"
        ]
    return "responder", [f"meaningful improvement on {', '.join(names['responder'])}"]


def review_course(kb: KnowledgeBase, history: Mapping[str, Any]) -> dict[str, Any]:
    """Review one course history; see the module docstring for the result."""
    condition = history.get("condition")
    if not condition:
        raise MissingFieldError("condition", "the response review")
    condition = kb.condition(str(condition))["id"]
    ctx = ReviewContext(kb, condition)
    indication = _indication(kb, history.get("indication"))
    review_block: dict[str, Any] = dict((indication or {}).get("review") or {})
    if history.get("indication") and indication is None:
        ctx.reasons.append(
            f"indication {history['indication']!r} is not in the knowledge base; "
            "its review schedule is not applied"
        )
    if review_block:
        for ref in review_block.get("sources", []):
            if ref["id"] not in ctx.sources:
                ctx.sources.append(ref["id"])
        if not review_block.get("verified", False):
            ctx.unverified.append(f"review rules of indication {history.get('indication')}")
    courses = _courses(history)
    series = _assessments(kb, history)
    start = courses[0]["date"] if courses else None
    dates = [e["date"] for s in series.values() for e in s] + [c["date"] for c in courses]
    as_of = (
        parse_date(history["as_of"], "as_of") if "as_of" in history else max(dates, default=None)
    )
    if as_of is None:
        raise MissingFieldError("assessments", "the response review")
    min_weeks = float((review_block.get("first_review_weeks") or {}).get("min", 0))
    rows = [_measure(ctx, sid, entries, start, min_weeks) for sid, entries in series.items()]

    findings: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    findings["fluctuation"] = detect_fluctuation(ctx, history, series, start, steps)
    verdict, why = _verdict(rows, bool(findings["fluctuation"] and findings["fluctuation"]["trf"]))
    ctx.reasons[:0] = why
    findings["wearing_off"] = detect_wearing_off(ctx, series, courses, steps)
    findings["dose_creep"] = detect_dose_creep(ctx, courses, indication, steps)
    stable = stability_and_taper(
        ctx,
        verdict=verdict,
        series=series,
        courses=courses,
        findings=findings,
        as_of=as_of,
        review_block=review_block,
        steps=steps,
    )
    findings["stable"] = stable["stable"]
    if verdict == "non_responder":
        rule = ctx.rule("stop_no_benefit")
        if rule is not None:
            ctx.use(rule)
            steps.append(step_of(rule))
        if review_block.get("stop_rule"):
            steps.append({"action": review_block["stop_rule"], "rule": "indication review"})
    if verdict == "insufficient_data":
        missing = [r["score"] for r in rows if r["status"] == "insufficient"]
        wanted = list(review_block.get("measures") or []) or missing
        steps.append({"action": f"Record baseline and follow-up of: {', '.join(wanted)}"})
    if verdict == "responder" and not steps and not stable["stable"]:
        steps.append({"action": "Continue; repeat the review measures at the next review."})

    fallback = _maintenance_review_rule(ctx, courses, review_block)
    next_review = _next_review(
        review_block=review_block,
        rows=rows,
        series=series,
        start=start,
        as_of=as_of,
        stable=stable,
        findings=findings,
        fallback=fallback,
    )
    return {
        "condition": condition,
        "indication": history.get("indication"),
        "as_of": as_of.isoformat(),
        "verdict": verdict,
        "reasons": ctx.reasons,
        "measures": rows,
        "findings": findings,
        "next_steps": steps,
        "next_review": next_review,
        "rules_used": ctx.used,
        "sources": ctx.sources,
        "unverified": ctx.unverified,
        "series": {
            sid: [{"date": e["date"].isoformat(), "value": e["value"]} for e in entries]
            for sid, entries in series.items()
        },
        "courses": [
            {
                "date": c["date"].isoformat(),
                "phase": c["phase"],
                "dose_g_per_kg": round(float(c["dose_g_per_kg"]), 4),
                **({"product": c["product"]} if "product" in c else {}),
            }
            for c in courses
        ],
        "knowledge_version": kb.version,
        "disclaimer": kb.disclaimer,
    }


def _first_review(first_due: dt.date, as_of: dt.date, whose: str) -> tuple[dt.date, str]:
    """The first review, or now when it is overdue (no interval follows)."""
    if first_due >= as_of:
        return first_due, f"first review of {whose}"
    return as_of, f"now: the first review of {whose} was due on {first_due.isoformat()}"


def _maintenance_review_rule(
    ctx: ReviewContext, courses: list[dict[str, Any]], review_block: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The general maintenance-review rule, when maintenance was given (recorded as used when
    the indication has no review interval of its own)."""
    if not any(c["phase"] == "maintenance" for c in courses):
        return None
    rule = ctx.rule("maintenance_review")
    if rule is not None and not (review_block.get("interval_weeks") or {}).get("min"):
        ctx.use(rule)
    return rule


def _timing(
    review_block: Mapping[str, Any], fallback: Mapping[str, Any] | None
) -> tuple[float | None, float | None, str]:
    """First review and interval (weeks) of the indication; for maintenance without an interval
    of its own, those of the general maintenance-review rule (Ontario IGUM best practice)."""
    first = (review_block.get("first_review_weeks") or {}).get("min")
    interval = (review_block.get("interval_weeks") or {}).get("min")
    if interval or fallback is None:
        return first, interval, "the indication"
    first = first or fallback.get("first_review_weeks")
    return first, fallback.get("interval_weeks"), f"maintenance (rule {fallback['id']})"


def _scheduled_review(
    first: float | None,
    interval: float | None,
    whose: str,
    start: dt.date | None,
    as_of: dt.date,
    too_early: bool,
) -> tuple[dt.date | None, str]:
    if too_early and start is not None and first:
        return start + dt.timedelta(weeks=float(first)), f"first review of {whose}"
    if interval:
        return as_of + dt.timedelta(weeks=float(interval)), f"review interval of {whose}"
    if first and start is not None:
        return _first_review(start + dt.timedelta(weeks=float(first)), as_of, whose)
    return None, (
        "the knowledge base gives no review interval for this indication; the review period "
        "of the Australian criteria (BloodSTAR) or Ontario IGUM for it would settle it"
    )


def _next_review(
    *,
    review_block: Mapping[str, Any],
    rows: list[dict[str, Any]],
    series: Mapping[str, list[dict[str, Any]]],
    start: dt.date | None,
    as_of: dt.date,
    stable: Mapping[str, Any],
    findings: Mapping[str, Any],
    fallback: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    measures = list(review_block.get("measures") or []) or list(series)
    what = [f"{m}" for m in measures]
    if (findings.get("wearing_off") or {}).get("detected"):
        what.append("each measure just before the next dose and again after it")
    due: dt.date | None = None
    if findings.get("fluctuation") and findings["fluctuation"].get("trf"):
        due, basis = as_of, "now: treatment-related fluctuation"
    elif stable.get("review_weeks"):
        due = as_of + dt.timedelta(weeks=float(stable["review_weeks"]))
        basis = f"after the next step ({stable['review_weeks']:g} weeks, rule {stable['rule']})"
    else:
        first, interval, whose = _timing(review_block, fallback)
        too_early = any(r["status"] == "too_early" for r in rows)
        due, basis = _scheduled_review(first, interval, whose, start, as_of, too_early)
    return {"due": due.isoformat() if due else None, "basis": basis, "measure": what}
