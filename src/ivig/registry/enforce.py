"""The steward's authorisation, enforced: product, grams, dates and the four-eyes rule.

A course must use the authorised product, and each infusion the course's product, unless a
substitution is recorded with a reason by a role that may substitute. Infusions are refused when
they are dated in the future, after the authorisation's expiry, or when the cumulative grams of
the course would pass what the authorisation allows by that date; an over-run is recorded only
with an explicit ``override_reason``, which the audit entry and :func:`list_overrides` show.
Approved changes are checked against the knowledge base (a known product; a course total
within the knowledge base's course limit for the patient's weight). No one authorises their own
request unless the site allows it (``IVIG_ALLOW_SELF_AUTHORISATION=1``, off by default).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ivig.errors import InputError
from ivig.permissions import roles_for
from ivig.registry._rows import required_text, today_utc
from ivig.registry.models import Authorisation, Course, Infusion, RequestRecord
from ivig.registry.users import require_permission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "SELF_AUTHORISATION_ENV",
    "SUBSTITUTING_ROLES",
    "allowance_g",
    "authorised_plan",
    "check_changes",
    "check_four_eyes",
    "check_infusion",
    "check_product",
    "check_substitution",
    "knowledge_or_default",
    "list_overrides",
    "self_authorisation_allowed",
]

SELF_AUTHORISATION_ENV = "IVIG_ALLOW_SELF_AUTHORISATION"
#: roles that may record a product substitution or an over-run override (with a reason)
SUBSTITUTING_ROLES = roles_for("override_authorisation")


def knowledge_or_default(knowledge: KnowledgeBase | None) -> KnowledgeBase:
    """``knowledge``, or the installed knowledge base."""
    if knowledge is not None:
        return knowledge
    from ivig.knowledge import load_knowledge

    return load_knowledge()


def self_authorisation_allowed(env: dict[str, str] | None = None) -> bool:
    """Whether this site lets a steward authorise their own request (single-person sites)."""
    value = (env if env is not None else os.environ).get(SELF_AUTHORISATION_ENV, "")
    return value.strip().lower() in ("1", "true", "yes")


def check_four_eyes(record: RequestRecord, actor: str, *, allow_self: bool | None) -> None:
    """Refuse when ``actor`` submitted the request (unless the site allows it)."""
    allowed = self_authorisation_allowed() if allow_self is None else allow_self
    if not allowed and record.submitter.username == actor:
        raise InputError(
            "actor",
            actor,
            "a steward other than the one who submitted the request",
            detail=f"four-eyes rule; a single-person site sets {SELF_AUTHORISATION_ENV}=1",
        )


def check_product(knowledge: KnowledgeBase, product: object, field: str) -> str:
    """``product`` as the id of a product in the knowledge base."""
    name = required_text(product, field, 80)
    try:
        found = knowledge.product(name)
    except InputError as exc:
        raise InputError(
            field, name, exc.allowed, detail="not a product of the knowledge base"
        ) from None
    return str(found["id"])


def _weight_kg(record: RequestRecord) -> float | None:
    weight = ((record.body or {}).get("patient") or {}).get("weight_kg")
    return float(weight) if isinstance(weight, int | float) else None


def check_changes(
    knowledge: KnowledgeBase, record: RequestRecord, changes: dict[str, Any]
) -> dict[str, Any]:
    """Approved changes checked against the knowledge base and the plan; returns them cleaned."""
    out = dict(changes)
    if out.get("product") is not None:
        out["product"] = check_product(knowledge, out["product"], "changes.product")
    total = out.get("total_g")
    limit = knowledge.limit("dose_g_per_kg_per_course")
    weight = _weight_kg(record)
    if total is not None and limit is not None and weight is not None:
        highest = limit["max"] * weight
        if float(total) > highest:
            raise InputError(
                "changes.total_g",
                total,
                f"at most {highest:g} ({limit['max']:g} g/kg for {weight:g} kg)",
                "g",
                limit["reason"],
            )
    return out


def authorised_plan(session: Session, record: RequestRecord) -> dict[str, Any] | None:
    """The plan the latest authorisation allows (product, total, interval, expiry), or None."""
    auth = session.scalar(
        select(Authorisation)
        .where(Authorisation.request_id == record.id)
        .order_by(Authorisation.id.desc())
        .limit(1)
    )
    if auth is None or auth.outcome == "decline":
        return None
    changes = auth.changes or {}
    decision = record.decision
    return {
        "authorisation_id": auth.id,
        "product": changes.get("product") or (decision.product if decision else None),
        "total_g": changes.get("total_g", decision.total_g if decision else None),
        "interval_weeks": changes.get(
            "interval_weeks", decision.interval_weeks if decision else None
        ),
        "expiry_date": auth.expiry_date,
    }


def check_substitution(
    session: Session,
    *,
    actor: str,
    expected: str | None,
    given: str,
    reason: str | None,
    field: str,
) -> str | None:
    """The substitution reason when ``given`` is not ``expected``; refused without one."""
    if expected is None or given == expected:
        return None
    if reason is None or not str(reason).strip():
        raise InputError(
            field,
            given,
            f"the authorised product {expected}",
            detail="a substitution needs substitution_reason",
        )
    require_permission(session, actor, "override_authorisation")
    return required_text(reason, "substitution_reason", 2000)


def allowance_g(plan: dict[str, Any], start: dt.date, day: dt.date) -> float | None:
    """Grams the plan allows from ``start`` up to ``day``: one course total per interval begun."""
    total = plan.get("total_g")
    if total is None:
        return None
    interval = plan.get("interval_weeks")
    if not interval:
        return float(total)
    cycles = math.floor(max((day - start).days, 0) / (float(interval) * 7)) + 1
    return float(total) * cycles


def _given_g(session: Session, course_id: int) -> float:
    given = session.scalar(
        select(func.coalesce(func.sum(Infusion.grams), 0.0)).where(Infusion.course_id == course_id)
    )
    return float(given or 0.0)


def _over_runs(
    session: Session, course: Course, plan: dict[str, Any] | None, day: dt.date, grams: float
) -> list[str]:
    found: list[str] = []
    if plan is None:
        return ["the request has no authorisation in force"]
    expiry = plan.get("expiry_date")
    if expiry is not None and day > expiry:
        found.append(f"dated after the authorisation's expiry ({expiry.isoformat()})")
    allowed = allowance_g(plan, course.start_date, day)
    if allowed is not None:
        after = _given_g(session, course.id) + grams
        if after > allowed + 1e-9:
            found.append(
                f"cumulative {after:g} g passes the {allowed:g} g authorised"
                f" up to {day.isoformat()}"
            )
    return found


def check_infusion(
    session: Session,
    course: Course,
    *,
    day: dt.date,
    grams: float,
    actor: str,
    override_reason: str | None,
) -> list[str]:
    """The over-runs of this infusion (empty when within the authorisation).

    A future date is always refused. An over-run is refused unless ``override_reason`` is given
    by a role that may override; then the over-runs are returned to be stored with the row.
    """
    today = today_utc()
    if day > today:
        raise InputError("date", day.isoformat(), f"on or before today ({today.isoformat()})")
    found = _over_runs(session, course, authorised_plan(session, course.request), day, grams)
    if not found:
        return []
    if override_reason is None or not str(override_reason).strip():
        raise InputError(
            "grams" if "cumulative" in found[-1] else "date",
            grams if "cumulative" in found[-1] else day.isoformat(),
            "within the authorisation",
            detail="; ".join(found) + "; record it only with override_reason",
        )
    require_permission(session, actor, "override_authorisation")
    return found


def list_overrides(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Infusions recorded past their authorisation, and courses with a substituted product."""
    rows: list[dict[str, Any]] = []
    infusions = session.scalars(
        select(Infusion)
        .where(Infusion.override_reason.is_not(None))
        .order_by(Infusion.id.desc())
        .limit(limit)
    )
    for inf in infusions:
        rows.append(
            {
                "kind": "over_run",
                "course_id": inf.course_id,
                "infusion_id": inf.id,
                "date": inf.date.isoformat(),
                "grams": inf.grams,
                "over_runs": list(inf.over_runs or []),
                "reason": inf.override_reason,
            }
        )
    courses = session.scalars(
        select(Course)
        .where(Course.substitution_reason.is_not(None))
        .order_by(Course.id.desc())
        .limit(limit)
    )
    for course in courses:
        rows.append(
            {
                "kind": "substitution",
                "course_id": course.id,
                "product": course.product,
                "reason": course.substitution_reason,
            }
        )
    return rows
