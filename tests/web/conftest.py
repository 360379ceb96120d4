"""Fixtures of the web tests: a temporary SQLite registry seeded with the demonstration data,
the service app with the web pages mounted, and a signed-in test client per role."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from ivig.service import Settings, StaticToken, create_app
from ivig.web import mount
from ivig.web.session import WebConfig

with warnings.catch_warnings():  # starlette warns that its test client wraps httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

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


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Path:
    """A seeded registry file, built once and copied for each test module."""
    path = tmp_path_factory.mktemp("web-registry") / "template.db"
    seed_registry(f"sqlite:///{path}", kb)
    return path


@pytest.fixture(scope="module")
def registry_url(registry_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("web-db") / "registry.db"
    path.write_bytes(registry_template.read_bytes())
    return f"sqlite:///{path}"


def build_app(registry_url: str | None, kb: KnowledgeBase, *, demo_login: bool = False) -> Any:
    settings = Settings(
        database_url=registry_url,
        static_tokens=TOKENS,
        knowledge=kb,
        today=lambda: TODAY,
    )
    return mount(create_app(settings), config=WebConfig(secret=b"t" * 32, demo_login=demo_login))


@pytest.fixture(scope="module")
def app(registry_url: str, kb: KnowledgeBase) -> Any:
    return build_app(registry_url, kb, demo_login=True)


@pytest.fixture(scope="module")
def client_for(app: Any) -> Iterator[Callable[[str], TestClient]]:
    """A test client signed in with the token of ``role`` (one per role, reused)."""
    clients: dict[str, TestClient] = {}

    def make(role: str) -> TestClient:
        if role not in clients:
            client = TestClient(app)
            response = client.post("/app/login", data={"token": f"tok-{role}", "next": "/app"})
            assert response.status_code == 200, response.text
            clients[role] = client
        return clients[role]

    yield make
    for client in clients.values():
        client.close()
