"""Demonstration data: a realistic small registry (``ivig registry demo``).

Users of every role, then for each pseudonymous patient a request drawn from the knowledge
base (a condition, indication and phase with a regimen, with findings that the criteria
accept), its recommendation through the full ``recommend`` path, the steward's decision, a
course with infusions (lot numbers from a small pool per product, so a recall finds several
patients), outcome assessments on the indication's review measures, some adverse events and
reviews. Every step goes through :mod:`ivig.registry.api`, so the audit chain is real.
Randomness comes only from ``seed``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import TYPE_CHECKING, Any

from ivig.errors import IvigError
from ivig.registry import care, workflow
from ivig.registry._rows import as_date, today_utc
from ivig.registry.orders_gen import order_scenarios
from ivig.registry.users import SYSTEM_ACTOR, create_user

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = ["DEMO_USERS", "seed_demo"]

DEMO_USERS = (
    ("admin", "admin", "Registry administrator"),
    ("steward", "steward", "Immunoglobulin steward"),
    ("dr_lee", "clinician", "Neurologist A"),
    ("dr_silva", "clinician", "Neurologist B"),
    ("pharm_kim", "pharmacist", "Pharmacist"),
    ("nurse_ng", "nurse", "Infusion nurse"),
)
_AE_TYPES = ("headache", "infusion reaction", "fever", "rash", "aseptic meningitis")


def _supported_findings(
    kb: KnowledgeBase, sc: dict[str, Any], patient: dict[str, Any], rnd: random.Random
) -> dict[str, Any] | None:
    from ivig.app.policy import criteria_verdict
    from ivig.registry.orders_gen import _finding_value

    base = {"age_years": patient["age_years"], "sex": patient["sex"], "pregnant": False}
    for _ in range(40):
        findings = {m["name"]: _finding_value(m, rnd) for m in sc["missing"]}
        result = criteria_verdict(
            kb,
            sc["condition"],
            {**findings, **base},
            indication_id=f"{sc['condition']}.{sc['indication']}",
            phase=sc["phase"],
        )
        if result["status"] in ("supported", "supported_with_conditions"):
            return findings
    return None


def _score_items(kb: KnowledgeBase, score_id: str, rnd: random.Random) -> dict[str, Any] | None:
    score = next((s for s in kb.data["scores"] if s["id"] == score_id), None)
    if score is None or not score["items"]:
        return None
    items: dict[str, Any] = {}
    for item in score["items"]:
        if item.get("choices"):
            items[item["id"]] = rnd.choice(item["choices"])["value"]
        elif item.get("min") is not None and item.get("max") is not None:
            items[item["id"]] = round(rnd.uniform(float(item["min"]), float(item["max"])))
        else:
            return None
    return items


def _day_grams(dose: dict[str, Any], authorised_g: float) -> list[float]:
    """Each day's grams, scaled to the authorised total and never summing above it."""
    scale = authorised_g / dose["total_g"]
    days = [math.floor(day["grams"] * scale * 10) / 10 for day in dose["days"]]
    return days


def _measure(kb: KnowledgeBase, rec: dict[str, Any]) -> str | None:
    for m in (rec.get("review") or {}).get("measures") or []:
        if any(s["id"] == m["id"] and s["items"] for s in kb.data["scores"]):
            return str(m["id"])
    return None


def seed_demo(
    session: Session,
    knowledge: KnowledgeBase,
    *,
    seed: int = 0,
    patients: int = 40,
    today: dt.date | str | None = None,
) -> dict[str, int]:
    """Fill an empty registry with demonstration data; returns the counts written."""
    rnd = random.Random(seed)
    day0 = as_date(today, "today", default=today_utc())
    counts = {
        "users": 0,
        "requests": 0,
        "courses": 0,
        "infusions": 0,
        "outcomes": 0,
        "adverse_events": 0,
        "reviews": 0,
    }
    for username, role, name in DEMO_USERS:
        create_user(
            session,
            username,
            role,
            actor=SYSTEM_ACTOR if username == "admin" else "admin",
            display_name=name,
        )
        counts["users"] += 1
    scenarios = [s for s in order_scenarios(knowledge) if s["g_per_kg"] is not None]
    clinicians = [u for u, r, _ in DEMO_USERS if r == "clinician"]
    for k in range(patients):
        sc = rnd.choice(scenarios)
        sex = rnd.choice(("female", "male"))
        patient = {
            "sex": sex,
            "age_years": rnd.randint(20, 85),
            "height_cm": rnd.randint(150, 185) if sex == "female" else rnd.randint(160, 198),
            "weight_kg": round(rnd.uniform(50.0, 120.0), 1),
        }
        findings = _supported_findings(knowledge, sc, patient, rnd)
        request: dict[str, Any] = {
            "patient": patient,
            "condition": sc["condition"],
            "indication": sc["indication"],
            "phase": sc["phase"],
            "jurisdiction": rnd.choice(("au", "international", "uk")),
            "findings": findings or {},
        }
        try:
            made = workflow.create_request(
                session,
                request,
                patient_ref=f"DEMO-{k + 1:04d}",
                actor=rnd.choice(clinicians),
                knowledge=knowledge,
            )
        except IvigError:
            continue
        counts["requests"] += 1
        _follow(session, knowledge, made, day0, rnd, counts)
    return counts


def _follow(
    session: Session,
    kb: KnowledgeBase,
    made: dict[str, Any],
    day0: dt.date,
    rnd: random.Random,
    counts: dict[str, int],
) -> None:
    rec = made["recommendation"]
    dose = rec.get("dose")
    roll = rnd.random()
    if dose is None or roll < 0.12:
        return  # stays pending
    if roll < 0.2:
        workflow.authorise(
            session,
            made["request_id"],
            outcome="decline",
            actor="steward",
            reason="criteria not met on panel review",
        )
        return
    start = day0 - dt.timedelta(days=rnd.randint(10, 360))
    changes = None
    if roll > 0.9:
        changes = {"total_g": max(5.0, round(dose["total_g"] * 0.9 / 5) * 5), "note": "rounded"}
    workflow.authorise(
        session,
        made["request_id"],
        actor="steward",
        changes=changes,
        outcome="approve_with_changes" if changes else "approve",
        reason="meets the criteria",
        expiry_date=start + dt.timedelta(days=365),
    )
    product = dose.get("product") or "privigen"
    course = workflow.start_course(
        session, made["request_id"], start_date=start, actor="pharm_kim", product=product
    )
    counts["courses"] += 1
    measure = _measure(kb, rec)
    if measure and rnd.random() < 0.85:
        items = _score_items(kb, measure, rnd)
        if items:
            care.record_outcome(
                session,
                course["id"],
                score_id=measure,
                value=None,
                items=items,
                date=start,
                timing="baseline",
                actor="dr_lee",
                knowledge=kb,
            )
            counts["outcomes"] += 1
    days = _day_grams(dose, changes["total_g"] if changes else dose["total_g"])
    interval = dose.get("interval_weeks")
    cycle_start = start
    while cycle_start <= day0:
        for offset, grams in enumerate(days):
            when = cycle_start + dt.timedelta(days=offset)
            if when > day0:
                break
            lot = f"{product[:4].upper()}-{rnd.randint(1, 6):03d}"
            inf = care.record_infusion(
                session,
                course["id"],
                date=when,
                product=product,
                lot_number=lot,
                grams=grams,
                actor="nurse_ng",
                duration_min=rnd.choice((120, 180, 240)),
            )
            counts["infusions"] += 1
            if rnd.random() < 0.04:
                care.record_adverse_event(
                    session,
                    patient_ref=made["patient_ref"],
                    date=when,
                    actor="nurse_ng",
                    event_type=rnd.choice(_AE_TYPES),
                    infusion_id=inf["id"],
                    severity=rnd.choice(("mild", "mild", "moderate", "severe")),
                    outcome=rnd.choice(("resolved", "resolved", "resolving")),
                )
                counts["adverse_events"] += 1
        if not interval:
            break
        cycle_start += dt.timedelta(weeks=float(interval))
    if measure and (day0 - start).days > 60:
        items = _score_items(kb, measure, rnd)
        if items:
            care.record_outcome(
                session,
                course["id"],
                score_id=measure,
                value=None,
                items=items,
                date=day0 - dt.timedelta(days=rnd.randint(1, 20)),
                actor="dr_silva",
                knowledge=kb,
            )
            counts["outcomes"] += 1
        if rnd.random() < 0.5:
            care.review_course(
                session,
                course["id"],
                date=day0 - dt.timedelta(days=rnd.randint(0, 5)),
                action=rnd.choice(("continue", "continue", "change", "trial_off")),
                reason="scheduled review",
                actor="steward",
                knowledge=kb,
            )
            counts["reviews"] += 1
    elif not interval and rnd.random() < 0.5:
        workflow.stop_course(
            session,
            course["id"],
            date=min(day0, start + dt.timedelta(days=7)),
            reason="induction completed",
            actor="dr_lee",
        )
