"""The audit log: append-only in the database, tamper-evident by its hash chain."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ivig.registry import api
from ivig.registry.db import session_scope
from tests._helpers.registry import add_users

_DROP = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["DROP TRIGGER audit_log_no_change ON audit_log"],
}


def _raw(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_the_database_refuses_update_and_delete(engine: Engine) -> None:
    add_users(engine)
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            _raw(engine, statement)
    with session_scope(engine) as s:
        assert api.verify_audit(s)["entries"] == 5


def test_an_altered_entry_breaks_the_chain_at_that_entry(engine: Engine) -> None:
    add_users(engine)
    with session_scope(engine) as s:
        assert api.verify_audit(s)["ok"]
    payload = json.dumps({"username": "mallory"})
    _raw(
        engine,
        *_DROP[engine.dialect.name],
        f"UPDATE audit_log SET payload = '{payload}' WHERE seq = 3",
    )
    with session_scope(engine) as s:
        result = api.verify_audit(s)
    assert (result["ok"], result["first_bad_seq"]) == (False, 3)
    assert "altered" in result["problem"]


def test_a_deleted_entry_is_found_missing(engine: Engine) -> None:
    add_users(engine)
    _raw(engine, *_DROP[engine.dialect.name], "DELETE FROM audit_log WHERE seq = 2")
    with session_scope(engine) as s:
        result = api.verify_audit(s)
    assert (result["ok"], result["first_bad_seq"]) == (False, 2)
    assert "missing" in result["problem"]


def test_a_rewritten_chain_tail_breaks_the_link(engine: Engine) -> None:
    add_users(engine)
    _raw(engine, *_DROP[engine.dialect.name], "UPDATE audit_log SET prev_hash = hash WHERE seq = 4")
    with session_scope(engine) as s:
        result = api.verify_audit(s)
    assert (result["ok"], result["first_bad_seq"]) == (False, 4)


def test_an_edited_decision_no_longer_matches_its_hash(engine: Engine) -> None:
    from .test_workflow import REQUEST

    add_users(engine)
    rec = {"eligibility": {"status": "supported"}, "knowledge_version": "v", "engine_version": "e"}
    with session_scope(engine) as s:
        api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", recommendation=rec)
    edited = json.dumps({**rec, "eligibility": {"status": "not_supported"}})
    _raw(engine, f"UPDATE decisions SET recommendation = '{edited}'")
    with session_scope(engine) as s:
        result = api.verify_audit(s)
    assert not result["ok"]
    assert result["decision_mismatches"] == [1]
