"""Care steps on a running course: infusions (with lot numbers), adverse events, outcome
assessments, reviews (continue / change / trial off / stop), trial-off periods, and the
feedback CDS Hooks clients send on cards. Each function writes one audit entry; the caller
commits.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ivig.errors import InputError, IvigError
from ivig.registry._rows import (
    as_date,
    get_or_fail,
    jsonable,
    optional_positive,
    positive,
    required_text,
    row_out,
)
from ivig.registry.audit import append_audit, save_audited, sha256_json
from ivig.registry.enforce import (
    check_infusion,
    check_product,
    check_substitution,
    knowledge_or_default,
)
from ivig.registry.models import (
    AdverseEvent,
    CdsFeedback,
    Course,
    CourseReview,
    IggLevel,
    Infusion,
    OutcomeAssessment,
    Patient,
    TrialOff,
)
from ivig.registry.users import get_user, require_permission
from ivig.registry.workflow import stop_course

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "AE_OUTCOMES",
    "AE_SEVERITIES",
    "CDS_OUTCOMES",
    "IGG_KINDS",
    "REVIEW_ACTIONS",
    "TIMINGS",
    "course_history",
    "end_trial_off",
    "igg_levels",
    "record_adverse_event",
    "record_cds_feedback",
    "record_igg_level",
    "record_infusion",
    "record_outcome",
    "review_course",
    "start_trial_off",
]

AE_SEVERITIES = ("mild", "moderate", "severe", "life_threatening", "fatal")
AE_OUTCOMES = ("resolved", "resolving", "ongoing", "sequelae", "fatal", "unknown")
TIMINGS = ("baseline", "pre_dose", "post_dose", "routine")
REVIEW_ACTIONS = ("continue", "change", "trial_off", "stop")
CDS_OUTCOMES = ("accepted", "overridden")


def _one_of(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(field, value, ", ".join(allowed))
    return str(value)


def _course(session: Session, course_id: int, *statuses: str) -> Course:
    course: Course = get_or_fail(session, Course, course_id, "course_id")
    if statuses and course.status not in statuses:
        raise InputError(
            "course_id",
            course_id,
            f"a course that is {' or '.join(statuses)}",
            detail=f"its status is {course.status}",
        )
    return course


def _not_before(day: dt.date, course: Course, field: str) -> None:
    if day < course.start_date:
        raise InputError(
            field,
            day.isoformat(),
            f"on or after {course.start_date.isoformat()}",
            detail="the course start",
        )


def _reactions_text(reactions: object) -> str | None:
    """Reactions as one text: a string, or a list of strings joined by "; "."""
    if reactions is None:
        return None
    if isinstance(reactions, list | tuple):
        if not all(isinstance(r, str) for r in reactions):
            raise InputError("reactions", None, "a text or a list of texts")
        reactions = "; ".join(r.strip() for r in reactions if r.strip())
    if not isinstance(reactions, str):
        raise InputError("reactions", reactions, "a text or a list of texts")
    text = reactions.strip()
    if len(text) > 2000:
        raise InputError("reactions", text[:40], "a text of at most 2000 characters")
    return text or None


def _infusion_numbers(
    knowledge: KnowledgeBase, grams: object, rate_ml_per_h: object, duration_min: object
) -> tuple[float, float | None, float | None]:
    """Grams, rate and duration checked: above 0 and within the knowledge base's limits."""
    checked = positive(grams, "grams", "g")
    limit = knowledge.limit("dose_g_per_day")
    if limit is not None and not limit["min"] <= checked <= limit["max"]:
        raise InputError(
            "grams", checked, f"{limit['min']:g} to {limit['max']:g}", "g", limit["reason"]
        )
    rate = optional_positive(rate_ml_per_h, "rate_ml_per_h", "mL/h")
    rate_limit = knowledge.limit("rate_ml_per_h")
    if rate is not None and rate_limit is not None and rate > rate_limit["max"]:
        raise InputError(
            "rate_ml_per_h",
            rate,
            f"{rate_limit['min']:g} to {rate_limit['max']:g}",
            "mL/h",
            rate_limit["reason"],
        )
    duration = optional_positive(duration_min, "duration_min", "min")
    if duration is not None and duration > 24 * 60:
        raise InputError("duration_min", duration, "at most 1440 (one day)", "min")
    return checked, rate, duration


def record_infusion(
    session: Session,
    course_id: int,
    *,
    date: dt.date | str,
    product: str,
    lot_number: str,
    grams: float,
    actor: str,
    rate_ml_per_h: float | None = None,
    duration_min: float | None = None,
    reactions: str | list[str] | None = None,
    substitution_reason: str | None = None,
    override_reason: str | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """One infusion given on an active course, with its lot (batch) number.

    The product must be the course's (or a substitution with ``substitution_reason``); the
    date may not be in the future; an infusion after the authorisation's expiry or past its
    grams is refused unless ``override_reason`` is given (see :mod:`ivig.registry.enforce`).
    """
    require_permission(session, actor, "record_infusion")
    user = get_user(session, actor)
    kb = knowledge_or_default(knowledge)
    course = _course(session, course_id, "active")
    day = as_date(date, "date")
    _not_before(day, course, "date")
    given = check_product(kb, product, "product")
    checked_g, rate, duration = _infusion_numbers(kb, grams, rate_ml_per_h, duration_min)
    why = check_substitution(
        session,
        actor=actor,
        expected=course.product,
        given=given,
        reason=substitution_reason,
        field="product",
    )
    over_runs = check_infusion(
        session, course, day=day, grams=checked_g, actor=actor, override_reason=override_reason
    )
    infusion = Infusion(
        course_id=course.id,
        date=day,
        product=given,
        lot_number=required_text(lot_number, "lot_number", 80),
        grams=checked_g,
        rate_ml_per_h=rate,
        duration_min=duration,
        reactions=_reactions_text(reactions),
        substitution_reason=why,
        override_reason=required_text(override_reason, "override_reason", 2000)
        if over_runs
        else None,
        over_runs=over_runs or None,
        recorded_by=user.id,
    )
    session.add(infusion)
    return save_audited(session, infusion, actor=actor, action="record_infusion", entity="infusion")


def record_adverse_event(
    session: Session,
    *,
    patient_ref: str,
    date: dt.date | str,
    event_type: str,
    severity: str,
    outcome: str,
    actor: str,
    product: str | None = None,
    lot_number: str | None = None,
    course_id: int | None = None,
    infusion_id: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """An adverse event; product and lot default to those of ``infusion_id`` when given."""
    require_permission(session, actor, "record_adverse_event")
    user = get_user(session, actor)
    patient = session.scalar(select(Patient).where(Patient.local_ref == patient_ref))
    if patient is None:
        raise InputError("patient_ref", patient_ref, "the reference of a registered patient")
    infusion: Infusion | None = None
    if infusion_id is not None:
        infusion = get_or_fail(session, Infusion, infusion_id, "infusion_id")
        course_id = course_id or infusion.course_id
        product = product or infusion.product
        lot_number = lot_number or infusion.lot_number
    if course_id is not None:
        course = _course(session, course_id)
        if course.patient_id != patient.id:
            raise InputError("course_id", course_id, f"a course of patient {patient_ref}")
    event = AdverseEvent(
        patient_id=patient.id,
        course_id=course_id,
        infusion_id=infusion.id if infusion else None,
        date=as_date(date, "date"),
        event_type=required_text(event_type, "event_type", 80),
        severity=_one_of(severity, "severity", AE_SEVERITIES),
        outcome=_one_of(outcome, "outcome", AE_OUTCOMES),
        product=product,
        lot_number=lot_number,
        description=description,
        recorded_by=user.id,
    )
    session.add(event)
    session.flush()
    out = {**row_out(event), "patient_ref": patient.local_ref}
    append_audit(
        session,
        actor=actor,
        action="record_adverse_event",
        entity="adverse_event",
        entity_id=event.id,
        payload=out,
    )
    return out


def _score_value(
    knowledge: KnowledgeBase | None, score_id: str, value: object, items: dict[str, Any] | None
) -> tuple[str, float]:
    """The score id and its value, checked against the score record when the knowledge has it."""
    if knowledge is None:
        from ivig.knowledge import load_knowledge

        knowledge = load_knowledge()
    from ivig.core.scores import compute_score, score_record

    score = score_record(knowledge, score_id)
    if items:
        result = compute_score(knowledge, score["id"], items)
        total = result["total"] if score["method"] != "class" else result["rank"]
        if value is not None and float(positive_or_zero(value, "value")) != float(total):
            raise InputError("value", value, f"the total of the items ({total})")
        return score["id"], float(total)
    number = positive_or_zero(value, "value")
    if len(score["items"]) == 1:
        compute_score(knowledge, score["id"], {score["items"][0]["id"]: value})
    _within_range(score, number)
    return score["id"], number


def _within_range(score: Any, number: float) -> None:
    """Refuse a total outside the score's range in the knowledge base (e.g. INCAT 0 to 10)."""
    bounds = score.get("range")
    if not bounds:
        return
    low, high = float(bounds["min"]), bounds.get("max")
    if number < low or (high is not None and number > float(high)):
        shown = f"{low:g} to {float(high):g}" if high is not None else f"at least {low:g}"
        raise InputError("value", number, shown, score.get("unit"), f"the range of {score['id']}")


def positive_or_zero(value: object, field: str) -> float:
    """``value`` as a finite number (scores may be 0 or negative)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(field, value, "a number")
    try:
        number = float(value)
    except ValueError:
        raise InputError(field, value, "a number") from None
    if not math.isfinite(number):
        raise InputError(field, value, "a finite number")
    return number


def record_outcome(
    session: Session,
    course_id: int,
    *,
    score_id: str,
    value: float | None,
    date: dt.date | str,
    actor: str,
    timing: str = "routine",
    items: dict[str, Any] | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """An outcome assessment (score id and value) on a course; baseline may precede its start."""
    require_permission(session, actor, "record_outcome")
    user = get_user(session, actor)
    course = _course(session, course_id)
    day = as_date(date, "date")
    timing = _one_of(timing, "timing", TIMINGS)
    if timing != "baseline":
        _not_before(day, course, "date")
    sid, number = _score_value(knowledge, score_id, value, items)
    row = OutcomeAssessment(
        course_id=course.id,
        score_id=sid,
        value=number,
        items=jsonable(items) if items else None,
        timing=timing,
        date=day,
        assessor=user.id,
    )
    session.add(row)
    return save_audited(
        session, row, actor=actor, action="record_outcome", entity="outcome_assessment"
    )


def _administrations(infusions: list[Infusion]) -> list[tuple[dt.date, float]]:
    """Infusions on consecutive days grouped into one administration (date, grams)."""
    out: list[tuple[dt.date, float]] = []
    last: dt.date | None = None
    for inf in sorted(infusions, key=lambda i: i.date):
        if out and last is not None and (inf.date - last).days <= 1:
            out[-1] = (out[-1][0], out[-1][1] + inf.grams)
        else:
            out.append((inf.date, inf.grams))
        last = inf.date
    return out


def course_history(session: Session, course: Course, as_of: dt.date) -> dict[str, Any]:
    """The course as the history ``ivig.core.review.review_course`` reads."""
    request = course.request.body
    infusions = list(session.scalars(select(Infusion).where(Infusion.course_id == course.id)))
    assessments = session.scalars(
        select(OutcomeAssessment).where(OutcomeAssessment.course_id == course.id)
    )
    return {
        "condition": course.request.condition,
        "indication": course.request.indication,
        "patient": {"weight_kg": request["patient"]["weight_kg"]},
        "courses": [
            {"date": day.isoformat(), "phase": course.request.phase, "dose_g": grams}
            for day, grams in _administrations(infusions)
        ],
        "assessments": [
            {
                "score": a.score_id,
                "date": a.date.isoformat(),
                "timing": a.timing,
                **({"items": a.items} if a.items else {"value": a.value}),
            }
            for a in assessments
        ],
        "as_of": as_of.isoformat(),
    }


def review_course(
    session: Session,
    course_id: int,
    *,
    date: dt.date | str,
    action: str,
    reason: str,
    actor: str,
    next_review_date: dt.date | str | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """Review a course: store the computed review (``ivig.core.review``) and the decision.

    ``action`` continue or change sets the next review (given, else the one the review
    computes); trial_off starts a trial-off period; stop stops the course.
    """
    require_permission(session, actor, "review_course")
    user = get_user(session, actor)
    course = _course(session, course_id, "active")
    day = as_date(date, "date")
    _not_before(day, course, "date")
    action = _one_of(action, "action", REVIEW_ACTIONS)
    text = required_text(reason, "reason", 2000)
    if knowledge is None:
        from ivig.knowledge import load_knowledge

        knowledge = load_knowledge()
    from ivig.core.review import review_course as compute_review

    try:
        computed: dict[str, Any] | None = jsonable(
            compute_review(knowledge, course_history(session, course, day))
        )
    except IvigError as exc:
        computed = {"error": str(exc)}
    verdict = (computed or {}).get("verdict")
    due = ((computed or {}).get("next_review") or {}).get("due")
    if next_review_date is not None:
        next_day: dt.date | None = as_date(next_review_date, "next_review_date")
    else:
        next_day = as_date(due, "next_review.due") if due else None
    row = CourseReview(
        course_id=course.id,
        date=day,
        action=action,
        reason=text,
        verdict=verdict,
        review=computed,
        next_review_date=next_day if action in ("continue", "change") else None,
        reviewed_by=user.id,
    )
    session.add(row)
    if action in ("continue", "change"):
        course.next_review_date = next_day
    session.flush()
    out = row_out(row)
    append_audit(
        session,
        actor=actor,
        action=f"review_{action}",
        entity="course_review",
        entity_id=row.id,
        payload=out,
    )
    if action == "trial_off":
        out["trial_off"] = start_trial_off(
            session, course.id, start_date=day, actor=actor, reason=text
        )
    elif action == "stop":
        out["course"] = stop_course(session, course.id, date=day, reason=text, actor=actor)
    return out


def start_trial_off(
    session: Session,
    course_id: int,
    *,
    start_date: dt.date | str,
    actor: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Pause an active course to see whether the patient stays stable without treatment."""
    require_permission(session, actor, "trial_off")
    course = _course(session, course_id, "active")
    start = as_date(start_date, "start_date")
    _not_before(start, course, "start_date")
    row = TrialOff(course_id=course.id, start_date=start, reason=reason)
    session.add(row)
    course.status = "trial_off"
    return save_audited(session, row, actor=actor, action="start_trial_off", entity="trial_off")


def end_trial_off(
    session: Session,
    trial_off_id: int,
    *,
    end_date: dt.date | str,
    result: str,
    actor: str,
    next_review_date: dt.date | str | None = None,
) -> dict[str, Any]:
    """End a trial off: ``stable`` stops the course, ``relapsed`` resumes it."""
    require_permission(session, actor, "trial_off")
    row: TrialOff = get_or_fail(session, TrialOff, trial_off_id, "trial_off_id")
    if row.end_date is not None:
        raise InputError("trial_off_id", trial_off_id, "a trial off that is still running")
    result = _one_of(result, "result", ("stable", "relapsed"))
    end = as_date(end_date, "end_date")
    if end < row.start_date:
        raise InputError("end_date", end.isoformat(), f"on or after {row.start_date.isoformat()}")
    row.end_date = end
    row.result = result
    course = _course(session, row.course_id, "trial_off")
    course.status = "active"
    session.flush()
    out = row_out(row)
    append_audit(
        session,
        actor=actor,
        action=f"end_trial_off_{result}",
        entity="trial_off",
        entity_id=row.id,
        payload=out,
    )
    if result == "stable":
        out["course"] = stop_course(
            session, course.id, date=end, reason="stable after trial off", actor=actor
        )
    else:
        course.next_review_date = (
            as_date(next_review_date, "next_review_date") if next_review_date else end
        )
        session.flush()
    return out


def record_cds_feedback(
    session: Session,
    *,
    card_id: str,
    outcome: str,
    actor: str | None = None,
    service_id: str | None = None,
    override_reasons: list[Any] | None = None,
    outcome_timestamp: str | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Feedback a CDS Hooks client sends on a card (accepted or overridden, with reasons).

    Idempotent: the same service, card, outcome and time is stored once; a repeat returns the
    stored row with ``duplicate: True`` (so the caller acknowledges only what is stored)."""
    user_id = None
    if actor is not None:
        require_permission(session, actor, "cds_feedback")
        user_id = get_user(session, actor).id
    key = sha256_json([service_id, card_id, outcome, outcome_timestamp])
    found = session.scalar(select(CdsFeedback).where(CdsFeedback.feedback_key == key))
    if found is not None:
        return {**row_out(found), "duplicate": True}
    row = CdsFeedback(
        feedback_key=key,
        service_id=service_id,
        card_id=required_text(card_id, "card_id", 120),
        outcome=_one_of(outcome, "outcome", CDS_OUTCOMES),
        override_reasons=jsonable(override_reasons) if override_reasons else None,
        outcome_timestamp=outcome_timestamp,
        payload=jsonable(payload) if payload else None,
        user_id=user_id,
    )
    session.add(row)
    session.flush()
    out = row_out(row)
    append_audit(
        session,
        actor=actor or "cds-client",
        action="record_cds_feedback",
        entity="cds_feedback",
        entity_id=row.id,
        payload=out,
    )
    return {**out, "duplicate": False}


IGG_KINDS = ("baseline", "trough", "peak", "random")


def _igg_value(knowledge: KnowledgeBase | None, value: object) -> float:
    """A serum IgG in g/L within the knowledge base's plausibility limit (as the request check
    gives it: field, value, range, unit and the reason)."""
    if knowledge is None:
        from ivig.knowledge import load_knowledge

        knowledge = load_knowledge()
    number = positive(value, "igg_g_per_l", "g/L")
    limit = knowledge.limit("igg_g_per_l")
    if limit and not limit["min"] <= number <= limit["max"]:
        raise InputError(
            "igg_g_per_l",
            number,
            f"{limit['min']:g} to {limit['max']:g}",
            limit["unit"],
            limit["reason"],
        )
    return number


def record_igg_level(
    session: Session,
    course_id: int,
    *,
    date: dt.date | str,
    kind: str,
    igg_g_per_l: float,
    actor: str,
    note: str | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """A measured total serum IgG (g/L) of a course; a baseline may precede its start. Whoever
    gives the Ig records it (``record_igg_level`` in :mod:`ivig.permissions`)."""
    require_permission(session, actor, "record_igg_level")
    user = get_user(session, actor)
    course = _course(session, course_id)
    day = as_date(date, "date")
    kind = _one_of(kind, "kind", IGG_KINDS)
    if kind != "baseline":
        _not_before(day, course, "date")
    row = IggLevel(
        course_id=course.id,
        date=day,
        kind=kind,
        igg_g_per_l=_igg_value(knowledge, igg_g_per_l),
        note=note.strip() if note and note.strip() else None,
        recorded_by=user.id,
    )
    session.add(row)
    return save_audited(session, row, actor=actor, action="record_igg_level", entity="igg_level")


def igg_levels(session: Session, course_id: int) -> list[dict[str, Any]]:
    """The course's measured IgG levels by date (date, kind, igg_g_per_l, note); an unknown
    course is refused (not an empty list)."""
    _course(session, course_id)
    rows = session.scalars(
        select(IggLevel).where(IggLevel.course_id == course_id).order_by(IggLevel.date, IggLevel.id)
    )
    return [
        {
            "id": r.id,
            "date": r.date.isoformat(),
            "kind": r.kind,
            "igg_g_per_l": r.igg_g_per_l,
            "note": r.note,
        }
        for r in rows
    ]
