"""Killed writers leave no half-written step; parallel writers on PostgreSQL lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.registry.models import AuditEntry, Infusion
from tests._helpers.registry import add_users

from .test_workflow import REQUEST

WRITER = str(Path(__file__).with_name("writer.py"))


def _course(engine: Engine, kb: KnowledgeBase) -> int:
    add_users(engine)
    with session_scope(engine) as s:
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
        api.authorise(s, made["request_id"], outcome="approve", reason="ok", actor="steward")
        course_id: int = api.start_course(
            s, made["request_id"], start_date="2026-01-01", actor="nurse"
        )["id"]
    return course_id


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _counts(engine: Engine) -> tuple[int, int, bool]:
    with session_scope(engine) as s:
        infusions = s.scalar(select(func.count()).select_from(Infusion)) or 0
        logged = s.scalar(select(func.count()).where(AuditEntry.action == "record_infusion")) or 0
        return infusions, logged, bool(api.verify_audit(s)["ok"])


def test_a_killed_writer_leaves_whole_steps_only(engine: Engine, kb: KnowledgeBase) -> None:
    course_id = _course(engine, kb)
    proc = subprocess.Popen(
        [sys.executable, WRITER, _url(engine), str(course_id), "100000", "K"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert proc.stdout is not None
    committed = 0
    for line in proc.stdout:
        committed += line.startswith("committed")
        if committed >= 30:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rest = proc.stdout.read()
    proc.stdout.close()
    committed += rest.count("committed")
    infusions, logged, ok = _counts(engine)
    assert ok
    assert infusions == logged  # every infusion has its audit entry and vice versa
    assert committed <= infusions <= committed + 1  # at most the one in flight was committed


def test_parallel_writers_on_postgresql_lose_nothing(pg_engine: Engine, kb: KnowledgeBase) -> None:
    course_id = _course(pg_engine, kb)
    writers, each = 6, 25
    procs = [
        subprocess.Popen(
            [sys.executable, WRITER, _url(pg_engine), str(course_id), str(each), f"W{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.count("committed") == each
    infusions, logged, ok = _counts(pg_engine)
    assert ok
    assert infusions == logged == writers * each
    with session_scope(pg_engine) as s:
        lots = set(s.scalars(select(Infusion.lot_number)))
        seqs = list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert lots == {f"W{n}-{k}" for n in range(writers) for k in range(each)}
    assert seqs == list(range(1, len(seqs) + 1))


def test_parallel_writers_on_sqlite_lose_nothing(sqlite_engine: Engine, kb: KnowledgeBase) -> None:
    course_id = _course(sqlite_engine, kb)
    procs = [
        subprocess.Popen(
            [sys.executable, WRITER, _url(sqlite_engine), str(course_id), "15", f"S{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    infusions, logged, ok = _counts(sqlite_engine)
    assert (infusions, logged, ok) == (45, 45, True)
