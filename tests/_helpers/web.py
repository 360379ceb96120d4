"""Helpers of the web tests: the demonstration registry's tokens, a filled request form, and the
service app with the web pages mounted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ivig.knowledge import KnowledgeBase
from ivig.service import Settings, StaticToken, create_app
from ivig.web import mount
from ivig.web.session import WebConfig

TODAY = dt.date(2026, 11, 22)
#: one static API token per role, named after the demonstration registry's users
TOKENS = {
    "tok-clinician": StaticToken("dr_lee", "clinician"),
    "tok-pharmacist": StaticToken("pharm_kim", "pharmacist"),
    "tok-nurse": StaticToken("nurse_ng", "nurse"),
    "tok-steward": StaticToken("steward", "steward"),
    "tok-admin": StaticToken("admin", "admin"),
}
GBS_FORM = {
    "condition": "gbs",
    "phase": "induction",
    "patient.sex": "male",
    "patient.age_years": "62",
    "patient.weight_kg": "85",
    "patient.height_cm": "178",
    "patient.labs.iga_g_per_l": "1.8",
    "patient.labs.egfr_ml_per_min_1_73m2": "82",
    "findings.able_to_walk_unaided": "false",
    "findings.days_since_onset": "5",
    "jurisdiction": "au",
    "action": "recommend",
}


def seed_registry(url: str, kb: KnowledgeBase) -> None:
    """Migrate and fill a registry with the demonstration data as of :data:`TODAY`."""
    from ivig.registry import api
    from ivig.registry.db import make_engine, session_scope, upgrade

    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        api.seed_demo(session, kb, today=TODAY)
    engine.dispose()


def build_app(registry_url: str | None, kb: KnowledgeBase, *, demo_login: bool = False) -> Any:
    settings = Settings(
        database_url=registry_url,
        static_tokens=TOKENS,
        knowledge=kb,
        today=lambda: TODAY,
    )
    return mount(create_app(settings), config=WebConfig(secret=b"t" * 32, demo_login=demo_login))


def login_token(client: Any) -> str:
    """The sign-in form's CSRF token, as a browser gets it: by opening the sign-in page (which
    also sets the nonce cookie the token is bound to on ``client``)."""
    import re

    html = client.get("/app/login").text
    found = re.search(r'name="login_csrf" value="([^"]+)"', html)
    assert found, "the sign-in page carries no CSRF token"
    return found.group(1)


def sign_in(client: Any, data: dict[str, str], **kwargs: Any) -> Any:
    """POST the sign-in form as a browser does: the page first, then the form with its token."""
    return client.post("/app/login", data={**data, "login_csrf": login_token(client)}, **kwargs)
