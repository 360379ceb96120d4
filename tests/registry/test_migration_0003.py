"""Migration 0003 on a registry that already has data: the unkeyed chain is verified, signed
again with the audit key, and every existing row is recorded in a baseline entry."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ivig.registry import api
from ivig.registry.db import read_scope, upgrade


def _old_hash(fields: list[object]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _fill_0001(engine: Engine, *, break_chain: bool = False) -> None:
    """Two users and their audit entries as revision 0001 wrote them (plain SHA-256)."""
    prev = "0" * 64
    with engine.begin() as conn:
        for seq, (name, role) in enumerate((("admin", "admin"), ("nina", "nurse")), start=1):
            conn.execute(
                text(
                    "INSERT INTO users (id, username, role, active, created_at) "
                    "VALUES (:id, :u, :r, true, '2026-01-01 00:00:00')"
                ),
                {"id": seq, "u": name, "r": role},
            )
            at = f"2026-01-01T00:00:0{seq}.000000+00:00"
            payload = json.dumps({"username": name}, separators=(",", ":"))
            fields: list[object] = [seq, at, "system", "create_user", "user", seq, payload, prev]
            digest = _old_hash(fields)
            if break_chain and seq == 2:
                digest = "f" * 64
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, payload, "
                    "prev_hash, hash) VALUES (:s, :at, 'system', 'create_user', 'user', :s, :p, "
                    ":prev, :h)"
                ),
                {"s": seq, "at": at, "p": payload, "prev": prev, "h": digest},
            )
            prev = digest


def test_upgrade_from_0001_rekeys_and_records_a_baseline(tmp_path: object) -> None:
    from pathlib import Path

    from ivig.registry.db import make_engine

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    upgrade(engine, "0001")
    _fill_0001(engine)
    upgrade(engine)
    with read_scope(engine) as s:
        result = api.verify_audit(s)
        log = api.list_audit(s, limit=5)
    assert result["ok"], result
    assert result["entries"] == 3
    assert log[0]["action"] == "baseline_rows" and log[0]["payload"]["rows"] == 2
    engine.dispose()


def test_a_broken_0001_chain_stops_the_migration(tmp_path: object) -> None:
    from pathlib import Path

    from ivig.registry.db import make_engine

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'old.db'}")
    upgrade(engine, "0001")
    _fill_0001(engine, break_chain=True)
    with pytest.raises(RuntimeError, match="audit entry 2 does not verify"):
        upgrade(engine)
    engine.dispose()
