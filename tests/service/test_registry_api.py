"""Registry endpoints on a SQLite registry: roles per endpoint, the audit log records the user,
CDS feedback lands in the registry."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from ivig.service import Settings, create_app
from tests._helpers.service import GBS_REQUEST, TODAY

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from ivig.registry import api


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[Any]:
    from ivig.registry.db import make_engine, session_scope, upgrade

    url = f"sqlite:///{Path(tmp_path_factory.mktemp('registry')) / 'r.db'}"
    engine = make_engine(url)
    upgrade(engine)
    tokens: dict[str, str] = {}
    with session_scope(engine) as session:
        api.seed_demo(session, kb, patients=12, today=TODAY)
    with session_scope(engine) as session:
        users = api.list_users(session)
        admin = next(u["username"] for u in users if u["role"] == "admin")
        for role, key in (("admin", "ada"), ("clinician", "cara"), ("steward", "stef"),
                          ("pharmacist", "phil")):  # fmt: skip
            name = next(u["username"] for u in users if u["role"] == role)
            tokens[key] = api.issue_token(session, name, actor=admin)["token"]
            tokens[key + ":name"] = name
    engine.dispose()
    settings = Settings(database_url=url, knowledge=kb, cds_require_jwt=False, today=lambda: TODAY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, tokens


def _h(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


def test_request_then_authorisation_by_role(registry: Any) -> None:
    client, tokens = registry
    body = {"request": GBS_REQUEST, "patient_ref": "P-0001"}
    created = client.post("/api/registry/requests", json=body, headers=_h(tokens, "cara"))
    assert created.status_code == 200, created.text
    request_id = created.json()["request_id"]
    decision = {"outcome": "approve", "reason": "meets criteria"}
    url = f"/api/registry/requests/{request_id}/authorise"
    assert client.post(url, json=decision, headers=_h(tokens, "cara")).status_code == 403
    assert client.post(url, json=decision, headers=_h(tokens, "stef")).status_code == 200
    audit = client.get("/api/registry/audit-log", headers=_h(tokens, "stef")).json()
    assert audit["verify"]["ok"] is True
    actors = {e.get("actor") for e in audit["entries"]}
    assert {tokens["cara:name"], tokens["stef:name"]} <= actors


def test_unknown_request_is_422(registry: Any) -> None:
    client, tokens = registry
    response = client.get("/api/registry/requests/99999", headers=_h(tokens, "cara"))
    assert response.status_code == 422


def test_users_are_for_admins(registry: Any) -> None:
    client, tokens = registry
    assert client.get("/api/registry/users", headers=_h(tokens, "cara")).status_code == 403
    users = client.get("/api/registry/users", headers=_h(tokens, "ada")).json()
    assert {u["username"] for u in users} >= {tokens[k + ":name"] for k in ("ada", "cara")}


def test_reviews_due_and_reports(registry: Any) -> None:
    client, tokens = registry
    assert client.get("/api/registry/reviews-due", headers=_h(tokens, "cara")).status_code == 200
    usage = client.get("/api/registry/reports/usage", headers=_h(tokens, "phil"))
    assert usage.status_code == 200, usage.text


def test_cds_feedback_is_recorded_in_the_registry(registry: Any) -> None:
    client, tokens = registry
    item = {"card": "card-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s-1"}],
            "outcomeTimestamp": "2026-11-22T10:00:00Z"}  # fmt: skip
    url = "/cds-services/ivig-order/feedback"
    assert client.post(url, json={"feedback": [item]}).json() == {"recorded": 1}
    assert client.post(url, json={"feedback": [item]}).json() == {"recorded": 0}
    entries = client.get("/api/registry/audit-log", headers=_h(tokens, "ada")).json()["entries"]
    assert any(e.get("entity") == "cds_feedback" or "cds" in str(e.get("action")) for e in entries)


def test_audit_upload(registry: Any) -> None:
    client, tokens = registry
    csv_text = (
        "order_id,date,sex,age_years,height_cm,weight_kg,condition,phase,grams\n"
        "1,2026-01-05,male,62,178,85,gbs,induction,170\n"
    )
    response = client.post(
        "/api/audit",
        files={"file": ("orders.csv", csv_text.encode(), "text/csv")},
        headers=_h(tokens, "phil"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["orders"] == 1 or "totals" in response.json()


def test_patient_view_shows_a_review_due(registry: Any) -> None:
    client, tokens = registry
    due = client.get("/api/registry/reviews-due", headers=_h(tokens, "cara")).json()
    assert due, "the demonstration data has running courses"
    patient = due[0]["patient_ref"]
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "6a1f9a10-0000-4000-8000-000000000002",
        "context": {"userId": "Practitioner/dr-1", "patientId": patient},
    }
    cards = client.post("/cds-services/ivig-review-due", json=body).json()["cards"]
    assert cards and all(len(c["summary"]) < 140 for c in cards)
    assert "review" in cards[0]["summary"].lower()
    other = client.post(
        "/cds-services/ivig-review-due",
        json=body | {"context": body["context"] | {"patientId": "nobody"}},
    )
    assert other.json() == {"cards": []}
