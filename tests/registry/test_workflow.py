"""The full workflow, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from ivig.errors import InputError, InvalidRequestError
from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.registry.models import ApiToken, AuditEntry, Decision
from tests._helpers.registry import add_users

REQUEST: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 62, "weight_kg": 85, "height_cm": 178},
    "condition": "cidp",
    "indication": "maintenance",
    "phase": "maintenance",
    "jurisdiction": "au",
    "findings": {
        "previous_ig_response": True,
        "baseline_measure_recorded": True,
        "anti_mag_antibodies": False,
    },
}


def test_full_workflow_request_to_trial_off(engine: Engine, kb: KnowledgeBase) -> None:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
    rec = made["recommendation"]
    assert made["status"] == "pending"
    assert rec["knowledge_version"] == kb.version
    assert rec["eligibility"]["status"] in ("supported", "supported_with_conditions")
    request_id = made["request_id"]
    with session_scope(engine) as s:
        shown = api.get_request(s, request_id)
        assert shown["request"] == REQUEST  # stored as submitted
        assert shown["recommendation"] == rec  # stored as computed
        auth = api.authorise(
            s,
            request_id,
            outcome="approve",
            reason="meets criteria",
            actor="steward",
            expiry_date="2027-01-01",
        )
    assert auth["request_status"] == "approved"
    with session_scope(engine) as s:
        course = api.start_course(s, request_id, start_date="2026-01-05", actor="pharmacist")
    assert course["product"] == rec["dose"]["product"]
    window = rec["review"]["first_review_weeks"]
    assert (
        course["next_review_date"]
        == (dt.date(2026, 1, 5) + dt.timedelta(weeks=window["min"])).isoformat()
    )
    course_id = course["id"]
    # the last day of the first-review window (the indication's first_review_weeks): still due
    review_day = dt.date(2026, 1, 5) + dt.timedelta(weeks=window["max"])
    with session_scope(engine) as s:
        api.record_outcome(
            s,
            course_id,
            score_id="adjusted-incat",
            value=None,
            items={"arm": 2, "leg": 2},
            date="2026-01-04",
            timing="baseline",
            actor="clinician",
            knowledge=kb,
        )
    for k in range(3):
        with session_scope(engine) as s:
            inf = api.record_infusion(
                s,
                course_id,
                date=dt.date(2026, 1, 5) + dt.timedelta(weeks=3 * k),
                product=course["product"],
                lot_number="LOT-A" if k < 2 else "LOT-B",
                grams=75,
                actor="nurse",
                duration_min=180,
            )
    with session_scope(engine) as s:
        api.record_adverse_event(
            s,
            patient_ref="P-1",
            date="2026-02-16",
            event_type="headache",
            severity="mild",
            outcome="resolved",
            infusion_id=inf["id"],
            actor="nurse",
        )
        recall = api.recall_lot(s, "LOT-A")
        assert [p["patient_ref"] for p in recall["patients"]] == ["P-1"]
        assert recall["grams"] == 150
        assert api.recall_lot(s, "LOT-B")["adverse_events"][0]["event_type"] == "headache"
        due = api.reviews_due(s, today=review_day.isoformat())
        assert due[0]["course_id"] == course_id and due[0]["status"] == "due"
        assert any("follow-up" in p for p in due[0]["problems"])
        api.record_outcome(
            s,
            course_id,
            score_id="adjusted-incat",
            value=None,
            items={"arm": 1, "leg": 0},
            date=(review_day - dt.timedelta(days=12)).isoformat(),
            actor="clinician",
            knowledge=kb,
        )
        review = api.review_course(
            s,
            course_id,
            date=review_day.isoformat(),
            action="trial_off",
            reason="stable",
            actor="steward",
            knowledge=kb,
        )
    assert review["verdict"] in ("responder", "partial", "non_responder", "insufficient_data")
    trial_id = review["trial_off"]["id"]
    with session_scope(engine) as s:
        ended = api.end_trial_off(
            s,
            trial_id,
            end_date=(review_day + dt.timedelta(weeks=13)).isoformat(),
            result="stable",
            actor="clinician",
        )
        assert ended["course"]["status"] == "stopped"
        assert api.get_request(s, request_id)["status"] == "stopped"
        usage = api.report_usage(s, by="product", prices={course["product"]: 2.0})
        assert usage == [
            {
                "product": course["product"],
                "infusions": 3,
                "grams": 225.0,
                "cost": 450.0,
                "unpriced_grams": 0.0,
                "patients": 1,
            }
        ]
        events = api.report_adverse_events(s)
        assert events[0]["per_1000_g"] == pytest.approx(1000 / 225)
        verdict = api.verify_audit(s)
    assert verdict["ok"], verdict
    assert verdict["entries"] == 5 + 1 + 1 + 1 + 1 + 3 + 1 + 1 + 2 + 2  # one per step
    assert verdict["decisions"] == 1


def test_shortage_ranks_by_the_evidence_system_rank(engine: Engine, kb: KnowledgeBase) -> None:
    """Ranks come from evidence_systems.yaml (uk_dh_colour: red > blue > grey)."""
    add_users(engine)
    gbs = {
        "patient": {"sex": "female", "age_years": 40, "weight_kg": 60, "height_cm": 165},
        "condition": "gbs",
        "phase": "induction",
        "jurisdiction": "uk",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }
    with session_scope(engine) as s:
        api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
        api.create_request(s, gbs, patient_ref="P-2", actor="clinician", knowledge=kb)
        rows = api.shortage_triage(s, kb, system="uk_dh_colour")
        with pytest.raises(InputError, match="system"):
            api.shortage_triage(s, kb, system="no-such-system")
    ranks = {lv["id"]: lv["rank"] for lv in kb.evidence_system("uk_dh_colour")["levels"]}
    assert [r["rank"] for r in rows] == sorted((r["rank"] for r in rows), reverse=True)
    for row in rows:
        assert row["rank"] == ranks[row["level"]]
        if row["total_g"] and row["interval_weeks"]:
            assert row["grams_per_week"] == pytest.approx(row["total_g"] / row["interval_weeks"])
    assert rows[-1]["cumulative_grams_per_week"] == pytest.approx(
        sum(r["grams_per_week"] or 0 for r in rows)
    )


def test_roles_are_enforced_and_bad_input_is_named(engine: Engine, kb: KnowledgeBase) -> None:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
    with session_scope(engine) as s, pytest.raises(api.RoleError, match="steward"):
        api.authorise(s, made["request_id"], outcome="approve", reason="x", actor="nurse")
    with session_scope(engine) as s, pytest.raises(InputError, match="outcome"):
        api.authorise(s, made["request_id"], outcome="maybe", reason="x", actor="steward")
    with session_scope(engine) as s, pytest.raises(InputError, match="changes"):
        api.authorise(
            s, made["request_id"], outcome="approve_with_changes", reason="x", actor="steward"
        )
    with session_scope(engine) as s, pytest.raises(InputError, match="an approved request"):
        api.start_course(s, made["request_id"], start_date="2026-01-01", actor="pharmacist")
    with session_scope(engine) as s, pytest.raises(InvalidRequestError):
        api.create_request(s, {"condition": "cidp"}, patient_ref="P-9", actor="clinician")
    with session_scope(engine) as s:
        api.authorise(
            s,
            made["request_id"],
            outcome="approve_with_changes",
            reason="less",
            changes={"total_g": 60, "interval_weeks": 4},
            actor="steward",
        )
        course = api.start_course(s, made["request_id"], start_date="2026-01-01", actor="nurse")
        row = next(r for r in api.shortage_triage(s, kb) if r["request_id"] == made["request_id"])
        assert (row["grams_per_week"], row["plan_source"]) == (15.0, "authorisation")
    with session_scope(engine) as s, pytest.raises(InputError, match="grams") as info:
        api.record_infusion(
            s,
            course["id"],
            date="2026-01-02",
            product=course["product"],
            lot_number="L1",
            grams=-5,
            actor="nurse",
        )
    assert info.value.unit == "g"
    with session_scope(engine) as s, pytest.raises(InputError, match="on or after"):
        api.record_infusion(
            s,
            course["id"],
            date="2025-12-01",
            product=course["product"],
            lot_number="L1",
            grams=5,
            actor="nurse",
        )
    with session_scope(engine) as s, pytest.raises(InputError, match="stop the course first"):
        api.authorise(s, made["request_id"], outcome="decline", reason="no", actor="steward")
    with session_scope(engine) as s:  # failed steps left nothing behind
        assert api.verify_audit(s)["ok"]
        assert s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) == 8


def test_tokens_store_only_a_hash(engine: Engine) -> None:
    add_users(engine)
    with session_scope(engine) as s:
        issued = api.issue_token(s, "nurse", actor="nurse", label="tablet")
    token = issued["token"]
    with session_scope(engine) as s:
        assert api.verify_token(s, token)["username"] == "nurse"  # type: ignore[index]
        assert api.verify_token(s, token + "x") is None
        stored = s.scalars(select(ApiToken)).one()
        assert token not in (stored.token_hash, stored.label)
        dumped = " ".join(str(row) for row in s.execute(text("SELECT * FROM audit_log")))
        assert token not in dumped
        with pytest.raises(api.RoleError):
            api.issue_token(s, "admin", actor="nurse")
    with session_scope(engine) as s:
        api.set_user_active(s, "nurse", False, actor="admin")
        assert api.verify_token(s, token) is None
        api.set_user_active(s, "nurse", True, actor="admin")
        api.revoke_token(s, issued["token_id"], actor="admin")
        assert api.verify_token(s, token) is None


def test_decision_is_stored_not_recomputed(engine: Engine, kb: KnowledgeBase) -> None:
    add_users(engine)
    rec = {
        "eligibility": {"status": "supported", "indication": "cidp.maintenance"},
        "dose": None,
        "knowledge_version": "old-version",
        "engine_version": "0.0.1",
    }
    with session_scope(engine) as s:
        made = api.create_request(
            s, REQUEST, patient_ref="P-1", actor="clinician", recommendation=rec
        )
    with session_scope(engine) as s:
        decision = s.scalars(select(Decision)).one()
        assert (decision.knowledge_version, decision.engine_version) == ("old-version", "0.0.1")
        assert api.get_request(s, made["request_id"])["recommendation"] == rec
