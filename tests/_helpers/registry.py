"""Helpers of the registry tests."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.registry.users import SYSTEM_ACTOR


def add_users(engine: Engine) -> None:
    """admin, steward, clinician, pharmacist and nurse users."""
    with session_scope(engine) as s:
        api.create_user(s, "admin", "admin", actor=SYSTEM_ACTOR)
        for name in ("steward", "clinician", "pharmacist", "nurse"):
            api.create_user(s, name, name, actor="admin")
