"""Measured serum IgG levels of a course (migration 0002), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.registry.users import RoleError
from tests._helpers.registry import add_users

REQUEST = {
    "patient": {"sex": "female", "age_years": 50, "weight_kg": 70, "height_cm": 165},
    "condition": "cidp",
    "indication": "maintenance",
    "phase": "maintenance",
    "jurisdiction": "au",
    "findings": {"previous_ig_response": True, "baseline_measure_recorded": True,
                 "anti_mag_antibodies": False},
}  # fmt: skip


def _course(engine: Engine, kb: KnowledgeBase) -> int:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-IGG", actor="clinician", knowledge=kb)
        api.authorise(s, made["request_id"], outcome="approve", reason="ok", actor="steward")
        course = api.start_course(
            s, made["request_id"], start_date="2026-03-02", actor="pharmacist"
        )
    return int(course["id"])


def test_levels_are_stored_by_date_with_their_kind(engine: Engine, kb: KnowledgeBase) -> None:
    course_id = _course(engine, kb)
    with session_scope(engine) as s:
        api.record_igg_level(
            s, course_id, date="2026-03-30", kind="trough", igg_g_per_l=9.8, actor="nurse",
            knowledge=kb,
        )  # fmt: skip
        api.record_igg_level(
            s, course_id, date="2026-02-20", kind="baseline", igg_g_per_l=7.1,
            actor="clinician", note="before the first course", knowledge=kb,
        )  # fmt: skip
    with session_scope(engine) as s:
        levels = api.igg_levels(s, course_id)
        audit = api.list_audit(s)
    assert [(lv["date"], lv["kind"], lv["igg_g_per_l"]) for lv in levels] == [
        ("2026-02-20", "baseline", 7.1),
        ("2026-03-30", "trough", 9.8),
    ]
    assert levels[0]["note"] == "before the first course"
    assert any(e["action"] == "record_igg_level" for e in audit)


@pytest.mark.parametrize(
    ("changes", "field", "allowed"),
    [
        ({"igg_g_per_l": 150}, "igg_g_per_l", "0 to 100"),  # the plausibility limit of the KB
        ({"igg_g_per_l": -1}, "igg_g_per_l", "above 0"),
        ({"kind": "nadir"}, "kind", "trough"),
        ({"date": "2026-01-01"}, "date", "2026-03-02"),  # a trough before the course start
        ({"date": "01/04/2026"}, "date", "YYYY-MM-DD"),
    ],
)
def test_a_bad_level_is_refused_with_the_field_named(
    engine: Engine, kb: KnowledgeBase, changes: dict[str, object], field: str, allowed: str
) -> None:
    course_id = _course(engine, kb)
    args: dict[str, object] = {"date": "2026-03-30", "kind": "trough", "igg_g_per_l": 9.0}
    args.update(changes)
    with pytest.raises(InputError) as caught, session_scope(engine) as s:
        api.record_igg_level(s, course_id, actor="nurse", knowledge=kb, **args)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert allowed in str(caught.value)


def test_a_steward_may_not_record_a_level(engine: Engine, kb: KnowledgeBase) -> None:
    course_id = _course(engine, kb)
    with pytest.raises(RoleError), session_scope(engine) as s:
        api.record_igg_level(s, course_id, date="2026-03-30", kind="trough", igg_g_per_l=9.0,
                             actor="steward", knowledge=kb)  # fmt: skip
