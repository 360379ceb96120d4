"""Usage reports: grams and cost by condition, indication, product, month or prescriber;
patients on maintenance; responders; adverse-event rates; dosing-weight savings.

Cost needs a local price list (``prices``: product id -> price per gram, in the hospital's
currency); it is a contract price, not clinical knowledge, so it is given by the caller. The
rows are plain data; :mod:`ivig.registry.charts` draws them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ivig.errors import InputError, IvigError
from ivig.registry._rows import as_date
from ivig.registry.models import (
    AdverseEvent,
    Course,
    CourseReview,
    Infusion,
    Patient,
    RequestRecord,
    User,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "USAGE_GROUPS",
    "report_adverse_events",
    "report_maintenance",
    "report_responders",
    "report_usage",
    "report_weight_savings",
]

USAGE_GROUPS = ("condition", "indication", "product", "month", "prescriber")


def report_usage(
    session: Session,
    *,
    by: str = "condition",
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    prices: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Grams infused (and cost when ``prices`` is given) grouped ``by`` one of ``USAGE_GROUPS``."""
    if by not in USAGE_GROUPS:
        raise InputError("by", by, ", ".join(USAGE_GROUPS))
    query = (
        select(
            Infusion,
            RequestRecord.condition,
            RequestRecord.indication,
            User.username,
            Course.patient_id,
        )
        .join(Course, Infusion.course_id == Course.id)
        .join(RequestRecord, Course.request_id == RequestRecord.id)
        .join(User, RequestRecord.submitted_by == User.id)
    )
    if since is not None:
        query = query.where(Infusion.date >= as_date(since, "since"))
    if until is not None:
        query = query.where(Infusion.date <= as_date(until, "until"))
    groups: dict[str, dict[str, Any]] = {}
    patients: dict[str, set[int]] = defaultdict(set)
    for inf, condition, indication, prescriber, patient_id in session.execute(
        query.execution_options(yield_per=2000)
    ):
        key = {
            "condition": condition,
            "indication": indication or "(none)",
            "product": inf.product,
            "month": inf.date.strftime("%Y-%m"),
            "prescriber": prescriber,
        }[by]
        row = groups.setdefault(key, {by: key, "infusions": 0, "grams": 0.0, "cost": None})
        row["infusions"] += 1
        row["grams"] += inf.grams
        patients[key].add(patient_id)
        if prices is not None:
            price = prices.get(inf.product)
            if price is not None:
                row["cost"] = (row["cost"] or 0.0) + inf.grams * price
                row.setdefault("unpriced_grams", 0.0)
            else:
                row["unpriced_grams"] = row.get("unpriced_grams", 0.0) + inf.grams
    out = []
    for key, row in groups.items():
        row["patients"] = len(patients[key])
        out.append(row)
    if by == "month":
        out.sort(key=lambda r: r["month"])
    else:
        out.sort(key=lambda r: (-r["grams"], str(r[by])))
    return out


def report_maintenance(
    session: Session, *, today: dt.date | str | None = None
) -> list[dict[str, Any]]:
    """Patients on maintenance: running maintenance courses with their grams so far."""
    day = as_date(today, "today", default=dt.datetime.now(dt.UTC).date())
    courses = session.scalars(
        select(Course)
        .join(RequestRecord, Course.request_id == RequestRecord.id)
        .where(RequestRecord.phase == "maintenance", Course.status.in_(("active", "trial_off")))
        .order_by(Course.id)
    ).all()
    out = []
    for course in courses:
        infusions = session.scalars(select(Infusion).where(Infusion.course_id == course.id)).all()
        out.append(
            {
                "patient_ref": course.patient.local_ref,
                "course_id": course.id,
                "condition": course.request.condition,
                "indication": course.request.indication,
                "product": course.product,
                "status": course.status,
                "start_date": course.start_date.isoformat(),
                "weeks_on_treatment": round((day - course.start_date).days / 7.0, 1),
                "infusions": len(infusions),
                "grams": sum(i.grams for i in infusions),
                "last_infusion": max((i.date.isoformat() for i in infusions), default=None),
            }
        )
    return out


def report_responders(session: Session) -> list[dict[str, Any]]:
    """Latest review verdict of each reviewed course, counted per condition."""
    latest: dict[int, CourseReview] = {}
    for review in session.scalars(select(CourseReview).order_by(CourseReview.id)):
        latest[review.course_id] = review
    table: dict[str, dict[str, Any]] = {}
    for course_id, review in latest.items():
        course = session.get(Course, course_id)
        if course is None:  # pragma: no cover - foreign keys forbid it
            continue
        condition = course.request.condition
        row = table.setdefault(condition, {"condition": condition, "reviewed": 0})
        verdict = review.verdict or "not_computed"
        row["reviewed"] += 1
        row[verdict] = row.get(verdict, 0) + 1
    for row in table.values():
        row["responder_percent"] = 100.0 * row.get("responder", 0) / row["reviewed"]
    return sorted(table.values(), key=lambda r: r["condition"])


def report_adverse_events(session: Session) -> list[dict[str, Any]]:
    """Adverse events per product: counts, per 100 infusions and per 1,000 g infused."""
    table: dict[str, dict[str, Any]] = {}
    for product, grams in session.execute(select(Infusion.product, Infusion.grams)):
        row = table.setdefault(
            product, {"product": product, "infusions": 0, "grams": 0.0, "events": 0, "severe": 0}
        )
        row["infusions"] += 1
        row["grams"] += grams
    for event in session.scalars(select(AdverseEvent)):
        product = event.product or "(unknown product)"
        row = table.setdefault(
            product, {"product": product, "infusions": 0, "grams": 0.0, "events": 0, "severe": 0}
        )
        row["events"] += 1
        if event.severity in ("severe", "life_threatening", "fatal"):
            row["severe"] += 1
    for row in table.values():
        row["per_100_infusions"] = (
            100.0 * row["events"] / row["infusions"] if row["infusions"] else None
        )
        row["per_1000_g"] = 1000.0 * row["events"] / row["grams"] if row["grams"] else None
    return sorted(table.values(), key=lambda r: (-r["events"], r["product"]))


def report_weight_savings(
    session: Session, knowledge: KnowledgeBase, *, policy: str
) -> dict[str, Any]:
    """Grams prescribed (stored decisions) against grams under dosing-weight ``policy``.

    For each request whose decision holds a dose, the dose is recomputed with the pure core
    functions under ``policy`` (same indication, regimen and rounding); the decision itself is
    never changed. ``grams_given`` scales the saving to the grams actually infused.
    """
    from ivig.app.policy import policy_course_g, policy_dosing_weight

    knowledge.dosing_policy(policy)
    rows = []
    totals = {
        "requests": 0,
        "grams_prescribed": 0.0,
        "grams_under_policy": 0.0,
        "grams_given": 0.0,
        "grams_given_saving": 0.0,
        "skipped": 0,
    }
    records = session.execute(
        select(RequestRecord, Patient.local_ref).join(Patient).order_by(RequestRecord.id)
    ).all()
    for record, patient_ref in records:
        rec = record.decision.recommendation if record.decision else {}
        dose = rec.get("dose")
        if not dose:
            continue
        patient = rec["request"]["patient"]
        try:
            weight = policy_dosing_weight(
                knowledge,
                policy,
                sex=patient["sex"],
                age_years=patient["age_years"],
                weight_kg=patient["weight_kg"],
                height_cm=patient.get("height_cm"),
                pregnant=patient.get("pregnant", False),
                pre_pregnancy_weight_kg=patient.get("pre_pregnancy_weight_kg"),
            )
            plan = policy_course_g(
                knowledge,
                indication_id=dose["indication"],
                phase=dose["phase"],
                dosing_weight_kg=weight["kg"],
                regimen_id=dose["regimen"]["id"],
                rounding=dose["rounding"].get("method", "none")
                if dose["rounding"].get("method") != "vials"
                else "none",
            )
        except IvigError:
            totals["skipped"] += 1
            continue
        given = sum(
            session.scalars(
                select(Infusion.grams).join(Course).where(Course.request_id == record.id)
            )
        )
        prescribed = float(dose["total_g"])
        under = float(plan["total_g"])
        saving_fraction = max(0.0, 1.0 - under / prescribed) if prescribed else 0.0
        rows.append(
            {
                "request_id": record.id,
                "patient_ref": patient_ref,
                "indication": dose["indication"],
                "prescribed_policy": (rec.get("dosing_weight") or {}).get("policy"),
                "grams_prescribed": prescribed,
                "grams_under_policy": under,
                "grams_given": given,
                "grams_given_saving": given * saving_fraction,
            }
        )
        totals["requests"] += 1
        totals["grams_prescribed"] += prescribed
        totals["grams_under_policy"] += under
        totals["grams_given"] += given
        totals["grams_given_saving"] += given * saving_fraction
    saving = totals["grams_prescribed"] - totals["grams_under_policy"]
    return {
        "policy": policy,
        **totals,
        "saving_percent": 100.0 * saving / totals["grams_prescribed"]
        if totals["grams_prescribed"]
        else 0.0,
        "rows": rows,
    }
