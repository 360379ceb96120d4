"""Issue 17, defect 4: every tampering with the registry behind its back is detected or blocked.

Each tampering runs as the database's owner would (raw SQL, triggers dropped first where the
tampering needs it) on a registry with a full workflow in it; the verification must then fail,
or the database must refuse the statement. The test counts tamperings and undetected ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import read_scope, session_scope
from tests._helpers.registry import add_users

from .test_workflow import REQUEST

_DROP = {
    "sqlite": ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
    "postgresql": ["ALTER TABLE audit_log DISABLE TRIGGER USER"],
}


def _unkeyed(conn: Connection, seq: int) -> None:
    """Recompute entry ``seq`` and every later link with plain SHA-256 (no key)."""
    rows = conn.execute(
        text(
            "SELECT seq, at, actor, action, entity, entity_id, payload, prev_hash, rows "
            "FROM audit_log WHERE seq >= :seq ORDER BY seq"
        ),
        {"seq": seq},
    ).all()
    prev = rows[0].prev_hash
    for row in rows:
        fields = [*row[:7], prev, row.rows]
        new = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
        conn.execute(
            text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": prev, "h": new, "s": row.seq},
        )
        prev = new
    conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})


Tamper = Callable[[Connection], None]


def _sql(*statements: str) -> Tamper:
    def run(conn: Connection) -> None:
        for statement in statements:
            conn.execute(text(statement))

    return run


def _last_seq(conn: Connection) -> int:
    return int(conn.execute(text("SELECT max(seq) FROM audit_log")).scalar_one())


def _delete_newest(conn: Connection) -> None:
    conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": _last_seq(conn)})


def _truncate_and_move_head(conn: Connection) -> None:
    last = _last_seq(conn)
    kept = conn.execute(
        text("SELECT seq, hash FROM audit_log WHERE seq = :s"), {"s": last - 2}
    ).one()
    conn.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": last - 2})
    conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": kept.seq, "h": kept.hash})


def _edit_and_rechain(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    _unkeyed(conn, 3)


def _forge_entry(conn: Connection) -> None:
    last = conn.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).one()
    conn.execute(
        text(
            "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, payload, "
            "prev_hash, hash) VALUES (:s, '2026-01-01T00:00:00+00:00', 'mallory', 'create_user', "
            "'user', 99, '{}', :p, :h)"
        ),
        {"s": last.seq + 1, "p": last.hash, "h": "f" * 64},
    )
    conn.execute(
        text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last.seq + 1, "h": "f" * 64}
    )


def _swap_entries(conn: Connection) -> None:
    conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 2"))
    conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
    conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = -1"))


def _replace_entry(conn: Connection) -> None:
    row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
    values = {**row, "actor": "mallory"}
    columns = ", ".join(values)
    marks = ", ".join(f":{c}" for c in values)
    verb = "INSERT OR REPLACE" if conn.dialect.name == "sqlite" else "INSERT"
    tail = (
        "" if conn.dialect.name == "sqlite" else " ON CONFLICT (id) DO UPDATE SET actor = 'mallory'"
    )
    conn.execute(text(f"{verb} INTO audit_log ({columns}) VALUES ({marks}){tail}"), values)


#: name -> (tampering, needs the append-only triggers out of the way)
TAMPERINGS: dict[str, tuple[Tamper, bool]] = {
    "edit entry payload": (_sql("UPDATE audit_log SET payload = '{}' WHERE seq = 3"), True),
    "edit entry actor": (_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"), True),
    "edit entry time": (_sql("UPDATE audit_log SET at = '2020-01-01' WHERE seq = 4"), True),
    "edit entry row digests": (_sql("UPDATE audit_log SET rows = NULL WHERE seq = 5"), True),
    "edit and re-chain without the key": (_edit_and_rechain, True),
    "delete a middle entry": (_sql("DELETE FROM audit_log WHERE seq = 2"), True),
    "delete the newest entry": (_delete_newest, True),
    "delete every entry": (_sql("DELETE FROM audit_log"), True),
    "delete every entry and the head": (
        _sql("DELETE FROM audit_log", "DELETE FROM audit_head"),
        True,
    ),
    "truncate the tail and move the head": (_truncate_and_move_head, True),
    "insert a forged entry": (_forge_entry, False),
    "swap two entries": (_swap_entries, True),
    "replace an entry in place": (_replace_entry, True),
    "move the head back": (_sql("UPDATE audit_head SET seq = seq - 1"), False),
    "change infusion grams": (_sql("UPDATE infusions SET grams = 5"), False),
    "change request status": (_sql("UPDATE requests SET status = 'approved'"), False),
    "change a user's role": (
        _sql("UPDATE users SET role = 'admin' WHERE username = 'nurse'"),
        False,
    ),
    "deactivate a user": (
        _sql("UPDATE users SET active = false WHERE username = 'pharmacist'"),
        False,
    ),
    "un-revoke a token": (_sql("UPDATE api_tokens SET revoked_at = NULL"), False),
    "replace a token hash": (_sql("UPDATE api_tokens SET token_hash = 'abc'"), False),
    "change an authorised total": (
        _sql("UPDATE authorisations SET changes = '{\"total_g\": 999}'"),
        False,
    ),
    "change the course product": (_sql("UPDATE courses SET product = 'other'"), False),
    "change an outcome value": (_sql("UPDATE outcome_assessments SET value = 0"), False),
    "soften an adverse event": (_sql("UPDATE adverse_events SET severity = 'mild'"), False),
    "change a decision total": (_sql("UPDATE decisions SET total_g = 1"), False),
    "change a decision's recommendation": (
        _sql("UPDATE decisions SET recommendation = '{\"x\": 1}'"),
        False,
    ),
    "delete an adverse event": (_sql("DELETE FROM adverse_events"), False),
    "insert an infusion": (
        _sql(
            "INSERT INTO infusions (course_id, date, product, lot_number, grams, recorded_by, "
            "recorded_at) SELECT id, start_date, 'privigen', 'X', 5, started_by, "
            "'2026-01-01 00:00:00' FROM courses"
        ),
        False,
    ),
    "insert a user": (
        _sql(
            "INSERT INTO users (username, role, active, created_at) "
            "VALUES ('mallory', 'admin', true, '2026-01-01 00:00:00')"
        ),
        False,
    ),
    "change a patient's reference": (_sql("UPDATE patients SET local_ref = 'P-2'"), False),
}


def _fill(engine: Engine, kb: KnowledgeBase) -> None:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
        api.authorise(s, made["request_id"], outcome="approve", reason="ok", actor="steward")
        course = api.start_course(s, made["request_id"], start_date="2026-01-05", actor="nurse")
        inf = api.record_infusion(
            s,
            course["id"],
            date="2026-01-05",
            product=course["product"],
            lot_number="L1",
            grams=30,
            actor="nurse",
            knowledge=kb,
        )
        api.record_adverse_event(
            s,
            patient_ref="P-1",
            date="2026-01-05",
            event_type="headache",
            severity="severe",
            outcome="resolved",
            infusion_id=inf["id"],
            actor="nurse",
        )
        api.record_outcome(
            s,
            course["id"],
            score_id="adjusted-incat",
            value=None,
            items={"arm": 2, "leg": 2},
            date="2026-01-05",
            timing="baseline",
            actor="clinician",
            knowledge=kb,
        )
        token = api.issue_token(s, "nurse", actor="admin")
        api.revoke_token(s, token["token_id"], actor="admin")
        api.set_user_active(s, "pharmacist", True, actor="admin")
    with read_scope(engine) as s:
        assert api.verify_audit(s)["ok"]


def _detected(engine: Engine, tamper: Tamper, drop: bool) -> bool:
    try:
        with engine.begin() as conn:
            if drop:
                for statement in _DROP[engine.dialect.name]:
                    conn.execute(text(statement))
            tamper(conn)
    except DBAPIError:
        return True  # the database refused it
    with read_scope(engine) as s:
        result = api.verify_audit(s)
    return not result["ok"]


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_each_tampering_is_detected_or_blocked(
    name: str, engine: Engine, kb: KnowledgeBase
) -> None:
    _fill(engine, kb)
    tamper, drop = TAMPERINGS[name]
    assert _detected(engine, tamper, drop), f"undetected: {name}"


def test_the_suite_has_more_than_the_21_reported_tamperings() -> None:
    assert len(TAMPERINGS) >= 21


def test_insert_or_replace_is_refused_with_the_triggers_in_place(
    sqlite_engine: Engine, kb: KnowledgeBase
) -> None:
    """SQLite REPLACE deletes the old row first; recursive_triggers makes the trigger see it."""
    _fill(sqlite_engine, kb)
    with pytest.raises(DBAPIError, match="append-only"), sqlite_engine.begin() as conn:
        _replace_entry(conn)


def test_truncation_past_the_checkpoint_is_reported(
    sqlite_engine: Engine, kb: KnowledgeBase
) -> None:
    """The checkpoint outside the database still names the entry that was cut off."""
    _fill(sqlite_engine, kb)
    with sqlite_engine.begin() as conn:
        for statement in _DROP["sqlite"]:
            conn.execute(text(statement))
        _truncate_and_move_head(conn)
        conn.execute(text("DELETE FROM api_tokens"))  # also hide the rows the tail covered
        conn.execute(text("UPDATE users SET active = 1"))
    with read_scope(sqlite_engine) as s:
        result = api.verify_audit(s, full=False)
    assert not result["ok"]
    assert "checkpoint" in result["problem"]


def test_on_postgresql_the_application_role_cannot_touch_the_audit_table(
    pg_engine: Engine, kb: KnowledgeBase
) -> None:
    """The migration hands audit_log to ivig_audit_owner; a login in ivig_app (as the docs
    deploy it) works the registry but can neither change the log nor disable its triggers."""
    from sqlalchemy import create_engine

    with pg_engine.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS app_login"))
        conn.execute(text("CREATE ROLE app_login LOGIN IN ROLE ivig_app"))
    url = pg_engine.url.set(username="app_login")
    app = create_engine(url)
    try:
        _fill(app, kb)  # the whole workflow runs as the application role
        for statement in (
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "UPDATE audit_log SET actor = 'mallory'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "DROP TRIGGER audit_log_no_change ON audit_log",
        ):
            with pytest.raises(DBAPIError), app.begin() as conn:
                conn.execute(text(statement))
    finally:
        app.dispose()
        with pg_engine.begin() as conn:
            conn.execute(text("DROP OWNED BY app_login"))
            conn.execute(text("DROP ROLE app_login"))
