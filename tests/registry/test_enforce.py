"""Issue 17, defect 1: the steward's authorisation is enforced, not advisory."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.registry.enforce import list_overrides
from tests._helpers.registry import add_users

from .test_workflow import REQUEST


def _approved(
    engine: Engine, kb: KnowledgeBase, *, changes: dict[str, Any] | None = None, **auth: Any
) -> tuple[int, dict[str, Any]]:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
        api.authorise(
            s,
            made["request_id"],
            outcome="approve_with_changes" if changes else "approve",
            reason="ok",
            actor="steward",
            changes=changes,
            knowledge=kb,
            **auth,
        )
    return int(made["request_id"]), made["recommendation"]


def _infuse(engine: Engine, course_id: int, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"date": "2026-01-05", "lot_number": "L1", "actor": "nurse", **kw}
    with session_scope(engine) as s:
        out: dict[str, Any] = api.record_infusion(s, course_id, **args)
    return out


def test_a_course_must_use_the_authorised_product(engine: Engine, kb: KnowledgeBase) -> None:
    request_id, rec = _approved(engine, kb)
    authorised = rec["dose"]["product"]
    other = next(p["id"] for p in kb.data["products"] if p["id"] != authorised)
    with session_scope(engine) as s, pytest.raises(InputError, match="authorised product") as e:
        api.start_course(s, request_id, start_date="2026-01-05", actor="nurse", product=other)
    assert e.value.field == "product"
    with session_scope(engine) as s, pytest.raises(api.RoleError):  # nurses do not substitute
        api.start_course(
            s,
            request_id,
            start_date="2026-01-05",
            actor="nurse",
            product=other,
            substitution_reason="shortage",
        )
    with session_scope(engine) as s:
        course = api.start_course(
            s,
            request_id,
            start_date="2026-01-05",
            actor="pharmacist",
            product=other,
            substitution_reason="shortage of the authorised product",
        )
        assert course["substitution_reason"] == "shortage of the authorised product"
        shown = list_overrides(s)
    assert [(r["kind"], r["course_id"]) for r in shown] == [("substitution", course["id"])]


def test_an_unknown_product_is_refused_everywhere(engine: Engine, kb: KnowledgeBase) -> None:
    request_id, _ = _approved(engine, kb)
    with session_scope(engine) as s, pytest.raises(InputError, match="knowledge base"):
        api.start_course(s, request_id, start_date="2026-01-05", actor="nurse", product="acme-ig")
    with session_scope(engine) as s:
        course = api.start_course(s, request_id, start_date="2026-01-05", actor="nurse")
    with pytest.raises(InputError, match="knowledge base"):
        _infuse(engine, course["id"], product="acme-ig", grams=10)
    with pytest.raises(InputError, match="authorised product"):
        other = next(p["id"] for p in kb.data["products"] if p["id"] != course["product"])
        _infuse(engine, course["id"], product=other, grams=10)


def test_grams_past_the_authorised_total_are_refused_without_override(
    engine: Engine, kb: KnowledgeBase
) -> None:
    """More grams than the 100 g authorised (the report: 420 g): refused; with an override by a
    permitted role, kept and shown. One infusion above dose_g_per_day (250 g;
    ivig-engineering-limits) is refused outright (the report: 5,000 g)."""
    request_id, _ = _approved(engine, kb, changes={"total_g": 100})
    with session_scope(engine) as s:
        course = api.start_course(s, request_id, start_date="2026-01-05", actor="nurse")
    product = course["product"]
    _infuse(engine, course["id"], product=product, grams=60)
    with pytest.raises(InputError, match="1 to 250"):
        _infuse(engine, course["id"], product=product, grams=5000, override_reason="x")
    with pytest.raises(InputError, match="cumulative 260 g passes the 100 g") as e:
        _infuse(engine, course["id"], product=product, grams=200)
    assert e.value.field == "grams"
    with pytest.raises(api.RoleError):
        _infuse(engine, course["id"], product=product, grams=200, override_reason="urgent")
    kept = _infuse(
        engine,
        course["id"],
        product=product,
        grams=40,
        actor="clinician",
        date="2026-01-06",
    )
    assert kept["override_reason"] is None
    over = _infuse(
        engine,
        course["id"],
        product=product,
        grams=20,
        actor="clinician",
        date="2026-01-06",
        override_reason="relapse; steward informed",
    )
    assert over["over_runs"] and "passes the 100 g" in over["over_runs"][0]
    with session_scope(engine) as s:
        rows = list_overrides(s)
        logged = api.list_audit(s, entity="infusion", entity_id=over["id"])
    assert rows[0]["infusion_id"] == over["id"] and rows[0]["reason"].startswith("relapse")
    assert logged[0]["payload"]["override_reason"] == "relapse; steward informed"


def test_maintenance_allows_one_total_per_interval(engine: Engine, kb: KnowledgeBase) -> None:
    request_id, _ = _approved(engine, kb, changes={"total_g": 50, "interval_weeks": 4})
    with session_scope(engine) as s:
        course = api.start_course(s, request_id, start_date="2026-01-05", actor="nurse")
    product = course["product"]
    _infuse(engine, course["id"], product=product, grams=50)
    with pytest.raises(InputError, match="100 g passes the 50 g"):
        _infuse(engine, course["id"], product=product, grams=50, date="2026-01-26")
    _infuse(engine, course["id"], product=product, grams=50, date="2026-02-02")


def test_dates_after_expiry_or_in_the_future_are_refused(engine: Engine, kb: KnowledgeBase) -> None:
    request_id, _ = _approved(engine, kb, expiry_date="2026-03-01")
    with session_scope(engine) as s:
        course = api.start_course(s, request_id, start_date="2026-01-05", actor="nurse")
    product = course["product"]
    with pytest.raises(InputError, match="expiry"):
        _infuse(engine, course["id"], product=product, grams=10, date="2026-03-02")
    with pytest.raises(InputError, match="on or before today"):
        _infuse(engine, course["id"], product=product, grams=10, date="2099-01-01")
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    with pytest.raises(InputError, match="on or before today"):  # no override for the future
        _infuse(
            engine,
            course["id"],
            product=product,
            grams=10,
            date=future,
            actor="clinician",
            override_reason="x",
        )


def test_approved_changes_are_checked_against_the_knowledge_base(
    engine: Engine, kb: KnowledgeBase
) -> None:
    """A course total above dose_g_per_kg_per_course (2.5 g/kg; ivig-engineering-limits) for the
    patient's 85 kg is refused, as is a product the knowledge base does not hold."""
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
    limit = kb.limit("dose_g_per_kg_per_course")
    assert limit is not None
    for changes, field in (
        ({"total_g": 1e9}, "changes.total_g"),
        ({"total_g": limit["max"] * 85 + 1}, "changes.total_g"),
        ({"product": "acme-ig"}, "changes.product"),
    ):
        with session_scope(engine) as s, pytest.raises(InputError) as e:
            api.authorise(
                s,
                made["request_id"],
                outcome="approve_with_changes",
                reason="x",
                actor="steward",
                changes=changes,
                knowledge=kb,
            )
        assert e.value.field == field


def test_no_one_authorises_their_own_request(engine: Engine, kb: KnowledgeBase) -> None:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="steward", knowledge=kb)
    with session_scope(engine) as s, pytest.raises(InputError, match="four-eyes"):
        api.authorise(s, made["request_id"], outcome="approve", reason="mine", actor="steward")
    with session_scope(engine) as s:  # a single-person site opts in explicitly
        out = api.authorise(
            s,
            made["request_id"],
            outcome="approve",
            reason="mine",
            actor="steward",
            allow_self=True,
        )
    assert out["request_status"] == "approved"


def test_self_authorisation_setting_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from ivig.registry.enforce import self_authorisation_allowed

    monkeypatch.delenv("IVIG_ALLOW_SELF_AUTHORISATION", raising=False)
    assert not self_authorisation_allowed()
    assert self_authorisation_allowed({"IVIG_ALLOW_SELF_AUTHORISATION": "1"})


@pytest.mark.parametrize("value", [1e9, -1e9, 11, -1])
def test_an_outcome_outside_the_score_range_is_refused(
    engine: Engine, kb: KnowledgeBase, value: float
) -> None:
    """The report: INCAT stored as ±1e9 fed the response review. Adjusted INCAT runs 0 to 10
    (adjusted-incat range; incat-table-reproduction, Table 2)."""
    request_id, _ = _approved(engine, kb)
    with session_scope(engine) as s:
        course = api.start_course(s, request_id, start_date="2026-01-05", actor="nurse")
    with session_scope(engine) as s, pytest.raises(InputError, match="0 to 10") as e:
        api.record_outcome(
            s,
            course["id"],
            score_id="adjusted-incat",
            value=value,
            date="2026-01-05",
            actor="clinician",
            knowledge=kb,
        )
    assert e.value.field == "value"
