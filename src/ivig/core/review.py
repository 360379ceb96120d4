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
    stability_and_taper,
    step_of,
)
from ivig.core.review_schedule import dose_change_note, review_schedule, timing_rules
from ivig.core.review_verdict import measure_row, verdict_of
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


def _assessment_items(
    kb: KnowledgeBase, score: Mapping[str, Any], raw: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """The item values of one assessment: ``items``, or ``value`` for a single-item measure.

    A score made of several items (MG-ADL, MRC sum, INCAT...) is computed from its items; its
    total alone is refused with a message that names the items it needs."""
    ids = [item["id"] for item in score["items"]]
    if "items" in raw:
        if not isinstance(raw["items"], Mapping):
            raise InputError(f"{where}.items", raw["items"], f"a mapping of {', '.join(ids)}")
        return dict(raw["items"])
    if len(ids) == 1:
        if "value" not in raw:
            item = score["items"][0]
            raise MissingFieldError(
                f"{where}.value",
                f"an assessment of {score['id']} (its {item['id']})",
                item.get("unit"),
            )
        return {ids[0]: raw["value"]}
    single = sorted(s["id"] for s in kb.data["scores"] if len(s["items"]) == 1)
    needed = (
        f"the {len(ids)} item scores of {score['id']} under items: ({', '.join(ids)}), each with "
        f"the values its score record allows"
    )
    detail = (
        f"{score['id']} is computed from its items, so a total alone is not accepted; value: is "
        f"taken only by single-item measures ({', '.join(single)})"
    )
    if "value" in raw:
        raise InputError(f"{where}.value", raw["value"], needed, detail=detail)
    raise MissingFieldError(f"{where}.items", f"an assessment of {score['id']}: {needed}; {detail}")


def _assessments(kb: KnowledgeBase, history: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    for k, raw in enumerate(history.get("assessments") or []):
        where = f"assessments[{k}]"
        if not isinstance(raw, Mapping) or "score" not in raw:
            raise MissingFieldError(f"{where}.score", "an assessment")
        score = score_record(kb, str(raw["score"]))
        items = _assessment_items(kb, score, raw, where)
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
    rows = [measure_row(ctx, sid, entries, start, min_weeks) for sid, entries in series.items()]

    findings: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    findings["fluctuation"] = detect_fluctuation(ctx, history, series, start, steps)
    trf = bool(findings["fluctuation"] and findings["fluctuation"]["trf"])
    verdict, why = verdict_of(rows, trf)
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
    _verdict_steps(ctx, verdict, rows, review_block, min_weeks, steps)
    if verdict == "responder" and not steps and not stable["stable"]:
        steps.append({"action": "Continue; repeat the review measures at the next review."})

    rules = timing_rules(ctx, history.get("indication"), review_block, courses)
    next_review = _next_review(
        review_block=review_block,
        rules=rules,
        series=series,
        courses=courses,
        as_of=as_of,
        stable=stable,
        findings=findings,
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


def _verdict_steps(
    ctx: ReviewContext,
    verdict: str,
    rows: list[dict[str, Any]],
    review_block: Mapping[str, Any],
    min_weeks: float,
    steps: list[dict[str, Any]],
) -> None:
    """The next steps that follow from the verdict (stop rules, what to record or judge)."""
    if verdict == "non_responder":
        rule = ctx.rule("stop_no_benefit")
        if rule is not None:
            ctx.use(rule)
            steps.append(step_of(rule))
        if review_block.get("stop_rule"):
            steps.append({"action": review_block["stop_rule"], "rule": "indication review"})
    unjudged = [r for r in rows if r["status"] == "no_threshold" and r["change"]]
    if unjudged and verdict in ("non_responder", "insufficient_data"):
        moved = ", ".join(
            f"{r['score']} ({r['change']:+g}{'' if r['unit'] == 'none' else ' ' + r['unit']})"
            for r in unjudged
        )
        steps.append(
            {
                "action": f"The knowledge base holds no meaningful-change value for {moved}: "
                "judge that change clinically before acting on this verdict."
            }
        )
    if verdict != "insufficient_data":
        return
    if any(r["status"] == "too_early" for r in rows):
        steps.append(
            {
                "action": f"Too early to judge: continue and reassess at the first review "
                f"(from week {min_weeks:g} of treatment).",
                "rule": "indication review",
            }
        )
        return
    missing = [r["score"] for r in rows if r["status"] == "insufficient"]
    if missing or not rows:
        wanted = list(review_block.get("measures") or []) or missing
        steps.append({"action": f"Record baseline and follow-up of: {', '.join(wanted)}"})


def _next_review(
    *,
    review_block: Mapping[str, Any],
    rules: list[dict[str, Any]],
    series: Mapping[str, list[dict[str, Any]]],
    courses: list[dict[str, Any]],
    as_of: dt.date,
    stable: Mapping[str, Any],
    findings: Mapping[str, Any],
) -> dict[str, Any]:
    """The next review: now for a fluctuation, after a taper step, else the review rules."""
    measures = list(review_block.get("measures") or []) or list(series)
    what = [f"{m}" for m in measures]
    if (findings.get("wearing_off") or {}).get("detected"):
        what.append("each measure just before the next dose and again after it")
    start = courses[0]["date"] if courses else None
    dates = [e["date"] for entries in series.values() for e in entries]
    planned = review_schedule(rules, start, dates, as_of)
    out: dict[str, Any] = {**planned, "measure": what, "notes": []}
    if findings.get("fluctuation") and findings["fluctuation"].get("trf"):
        out |= {
            "due": as_of.isoformat(),
            "overdue": None,
            "basis": "now: treatment-related fluctuation",
            "rule": None,
        }
    elif stable.get("review_weeks"):
        due = as_of + dt.timedelta(weeks=float(stable["review_weeks"]))
        out |= {
            "due": due.isoformat(),
            "overdue": None,
            "basis": f"after the next step ({stable['review_weeks']:g} weeks, rule "
            f"{stable['rule']})",
            "rule": None,
        }
    note = dose_change_note(courses, rules)
    if note:
        out["notes"].append(note)
    return out
