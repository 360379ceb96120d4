"""Issue 17 on the running service: limits before authentication, short errors, security
headers, no 5xx from odd input (reactions, NUL, lone surrogates, huge ids), pagination,
token revocation and user deactivation, OAuth tokens reused, the four-eyes rule."""

from __future__ import annotations

import json
import logging
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import make_engine, session_scope, upgrade
from ivig.service import CdsIssuer, Settings, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REQUEST: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 62, "weight_kg": 85, "height_cm": 178},
    "condition": "cidp",
    "indication": "maintenance",
    "phase": "maintenance",
    "jurisdiction": "au",
    "findings": {
        "previous_ig_response": True,
        "baseline_measure_recorded": True,
        "anti_mag_antibodies": False,
    },
}


class Registry:
    """A migrated SQLite registry with one user per role, a token each and a running course."""

    def __init__(self, folder: Path, kb: KnowledgeBase) -> None:
        self.url = f"sqlite:///{folder / 'registry.db'}"
        engine = make_engine(self.url)
        upgrade(engine)
        self.tokens: dict[str, str] = {}
        with session_scope(engine) as s:
            api.create_user(s, "admin", "admin", actor="system")
            for role in ("steward", "clinician", "pharmacist", "nurse"):
                api.create_user(s, role, role, actor="admin")
            for name in ("admin", "steward", "clinician", "pharmacist", "nurse"):
                self.tokens[name] = api.issue_token(s, name, actor="admin")["token"]
            made = api.create_request(
                s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb
            )
            api.authorise(s, made["request_id"], outcome="approve", reason="ok", actor="steward")
            course = api.start_course(s, made["request_id"], start_date="2026-01-05", actor="nurse")
        self.course_id = int(course["id"])
        self.product = str(course["product"])
        engine.dispose()

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Registry:
    return Registry(tmp_path_factory.mktemp("hardening"), kb)


@pytest.fixture(scope="module")
def client(registry: Registry, kb: KnowledgeBase) -> Iterator[TestClient]:
    settings = Settings(knowledge=kb, database_url=registry.url, json_logs=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc


def _boom_router() -> APIRouter:
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("patient P-123 secret")

    return router


@pytest.fixture(scope="module")
def server(live_server: Any, kb: KnowledgeBase) -> Iterator[Any]:
    started = live_server(
        lambda url: create_app(
            Settings(public_base_url=url, knowledge=kb, json_logs=False),
            extra_routers=[_boom_router()],
        )
    )
    yield started
    started.stop()


def _raw(url: str, request: bytes, *, timeout_s: float = 10) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_a_300_mb_body_is_refused_before_it_is_read_and_before_auth(server: Any) -> None:
    """The header says 300 MB and no byte of the body is sent: a server that read it would
    wait; this one answers 413 at once, without a token."""
    head = (
        b"POST /api/dose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 314572800\r\n\r\n"
    )
    answer = _raw(server.url, head)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_streamed_body_past_the_limit_is_cut_off(server: Any) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):  # 40 x 64 KiB = 2.5 MB, no Content-Length
            yield b" " * 65536

    with httpx.Client(timeout=20) as http:
        response = http.post(f"{server.url}/api/dose", content=chunks())
    assert response.status_code == 413


def test_huge_headers_answer_431(server: Any) -> None:
    with httpx.Client(timeout=20) as http:
        response = http.get(f"{server.url}/api/kb", headers={"X-Big": "a" * 20000})
    assert response.status_code in (431, 400)  # uvicorn may refuse it first


def test_a_server_error_keeps_the_connection_and_says_nothing(
    server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(timeout=20) as http, caplog.at_level(logging.INFO, logger="ivig"):
        first = http.get(f"{server.url}/boom")
        second = http.get(f"{server.url}/boom")
    assert (first.status_code, second.status_code) == (500, 500)
    assert first.json() == {"detail": "internal error", "problems": []}
    assert first.headers.get("connection") != "close"
    assert "P-123" not in caplog.text
    assert any(getattr(r, "event", None) == "server_error" for r in caplog.records)


def test_security_headers_on_every_answer(client: TestClient) -> None:
    response = client.get("/api/kb")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_an_error_quotes_only_a_prefix_of_a_bad_value(
    client: TestClient, registry: Registry
) -> None:
    """The report: a 10 MB field gave a 31 MB answer. Now a 900 kB value gives under 4 kB."""
    response = client.post(
        f"/api/registry/courses/{registry.course_id}/infusions",
        json={"date": "2026-01-05", "product": "x" * 900_000, "lot_number": "L", "grams": 10},
        headers=registry.headers("nurse"),
    )
    assert response.status_code == 422
    assert len(response.content) < 4000
    assert response.json()["problems"][0]["field"] == "product"


def test_reactions_on_infusions_are_recorded(client: TestClient, registry: Registry) -> None:
    """The report: reactions on infusions always gave 500."""
    response = client.post(
        f"/api/registry/courses/{registry.course_id}/infusions",
        json={
            "date": "2026-01-05",
            "product": registry.product,
            "lot_number": "L1",
            "grams": 10,
            "reactions": ["headache", "chills"],
        },
        headers=registry.headers("nurse"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["reactions"] == "headache; chills"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (
            '{"date": "2026-01-05", "product": "a\\u0000b", "lot_number": "L", "grams": 1}',
            "product",
        ),
        (
            '{"date": "2026-01-05", "product": "p", "lot_number": "\\ud800", "grams": 1}',
            "lot_number",
        ),
        ('{"date": "2026-01-05", "product": "p", "lot_number": "L", "grams": "many"}', "grams"),
        ('{"date": ["2026"], "product": "p", "lot_number": "L", "grams": 1}', "date"),
    ],
)
def test_odd_input_gets_a_422_naming_the_field(
    client: TestClient, registry: Registry, raw: str, field: str
) -> None:
    response = client.post(
        f"/api/registry/courses/{registry.course_id}/infusions",
        content=raw.encode(),
        headers={**registry.headers("nurse"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == field


def test_ids_above_the_integer_column_are_refused(client: TestClient, registry: Registry) -> None:
    response = client.get(f"/api/registry/requests/{2**31}", headers=registry.headers("nurse"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "request_id"


def test_request_lists_are_paginated(client: TestClient, registry: Registry) -> None:
    headers = registry.headers("clinician")
    for _ in range(2):
        made = client.post(
            "/api/registry/requests",
            json={"request": REQUEST, "patient_ref": "P-2"},
            headers=headers,
        )
        assert made.status_code == 200, made.text
    first = client.get("/api/registry/requests?limit=2", headers=headers)
    assert len(first.json()) == 2
    cursor = first.headers["x-next-cursor"]
    rest = client.get(f"/api/registry/requests?limit=2&cursor={cursor}", headers=headers)
    ids = [r["request_id"] for r in first.json() + rest.json()]
    assert ids == sorted(set(ids), reverse=True) and len(ids) == 3
    assert "x-next-cursor" not in rest.headers


def test_the_audit_log_verifies_only_what_is_new_unless_asked(
    client: TestClient, registry: Registry
) -> None:
    headers = registry.headers("steward")
    full = client.get("/api/registry/audit-log?verify=full&limit=5", headers=headers).json()
    assert full["verify"]["ok"] and full["verify"]["full"]
    new = client.get("/api/registry/audit-log?limit=5", headers=headers).json()
    assert new["verify"]["ok"] and new["verify"]["checked"] == 0
    older = client.get(
        f"/api/registry/audit-log?verify=none&limit=2&cursor={new['entries'][-1]['seq']}",
        headers=headers,
    ).json()
    assert older["verify"] is None
    assert [e["seq"] for e in older["entries"]] == [
        new["entries"][-1]["seq"] - 1,
        new["entries"][-1]["seq"] - 2,
    ]


def test_admin_revokes_tokens_and_deactivates_users(
    client: TestClient, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    admin = registry.headers("admin")
    issued = client.post("/api/registry/users/nurse/tokens", json={"label": "t"}, headers=admin)
    token = issued.json()
    mine = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/api/registry/reviews-due", headers=mine).status_code == 200
    assert (
        client.post(f"/api/registry/tokens/{token['token_id']}/revoke", headers=mine).status_code
        == 403
    )
    with caplog.at_level(logging.INFO, logger="ivig"):
        revoked = client.post(f"/api/registry/tokens/{token['token_id']}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert client.get("/api/registry/reviews-due", headers=mine).status_code == 401
    assert any(getattr(r, "event", None) == "token_revoked" for r in caplog.records)
    pharmacist = registry.headers("pharmacist")
    assert client.get("/api/registry/reviews-due", headers=pharmacist).status_code == 200
    assert (
        client.post("/api/registry/users/pharmacist/deactivate", headers=admin).status_code == 200
    )
    assert client.get("/api/registry/reviews-due", headers=pharmacist).status_code == 401
    assert client.post("/api/registry/users/pharmacist/activate", headers=admin).status_code == 200


def test_401_reasons_are_logged_without_the_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ivig"):
        response = client.get(
            "/api/registry/reviews-due", headers={"Authorization": "Bearer not-a-token-xyz"}
        )
    assert response.status_code == 401
    events = [r for r in caplog.records if getattr(r, "event", None) == "unauthenticated"]
    assert events and events[0].reason == "unknown token"  # type: ignore[attr-defined]
    assert "not-a-token-xyz" not in caplog.text


def test_the_four_eyes_rule_holds_on_the_api(client: TestClient, registry: Registry) -> None:
    made = client.post(
        "/api/registry/requests",
        json={"request": REQUEST, "patient_ref": "P-3"},
        headers=registry.headers("steward"),
    ).json()
    response = client.post(
        f"/api/registry/requests/{made['request_id']}/authorise",
        json={"outcome": "approve", "reason": "mine"},
        headers=registry.headers("steward"),
    )
    assert response.status_code == 422
    assert "four-eyes" in response.json()["detail"]
    huge = client.post(
        f"/api/registry/requests/{made['request_id']}/authorise",
        json={"outcome": "approve_with_changes", "reason": "x", "changes": {"total_g": 1e9}},
        headers=registry.headers("admin"),
    )
    assert huge.status_code == 422
    assert huge.json()["problems"][0]["field"] == "changes.total_g"


def test_oauth_access_tokens_with_a_jti_work_more_than_once(kb: KnowledgeBase) -> None:
    """Keycloak, Okta, Entra ID and Auth0 put a jti in every access token; it is not a nonce."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}
    aud = "http://testserver"
    settings = Settings(
        public_base_url=aud,
        knowledge=kb,
        json_logs=False,
        oauth_issuers=(CdsIssuer("https://idp.example.org", jwks={"keys": [jwk]}),),
    )
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "https://idp.example.org",
            "aud": aud,
            "sub": "u1",
            "iat": now,
            "exp": now + 300,
            "jti": "same-every-call",
            "roles": ["clinician"],
        },
        key,
        algorithm="ES384",
        headers={"kid": "k1"},
    )
    body = {
        "sex": "male",
        "age_years": 62,
        "weight_kg": 85,
        "condition": "gbs",
        "phase": "induction",
    }
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        codes = [
            tc.post(
                "/api/dose", json=body, headers={"Authorization": f"Bearer {token}"}
            ).status_code
            for _ in range(3)
        ]
    assert codes == [200, 200, 200]


def test_json_log_lines_carry_no_path_values(kb: KnowledgeBase) -> None:
    import io

    from ivig.service.logs import JsonLinesFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    logger = logging.getLogger("ivig.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with TestClient(create_app(Settings(knowledge=kb, json_logs=False))) as tc:
            tc.get("/api/kb/conditions/P-SECRET-77")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and lines[-1]["event"] == "request"
    assert {"request_id", "route", "status", "ms", "method"} <= set(lines[-1])
    assert "P-SECRET-77" not in stream.getvalue()


def test_cds_feedback_is_stored_before_it_is_acknowledged(
    registry: Registry, kb: KnowledgeBase
) -> None:
    """Idempotent in the database: a restarted service (a new app) does not store it twice,
    and a failed write is not acknowledged."""
    item = {"card": "c-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s-1"}],
            "outcomeTimestamp": "2026-11-22T10:00:00Z"}  # fmt: skip
    url = "/cds-services/ivig-order/feedback"

    def app() -> TestClient:
        settings = Settings(
            knowledge=kb, database_url=registry.url, json_logs=False, cds_require_jwt=False
        )
        return TestClient(create_app(settings), raise_server_exceptions=False)

    with app() as first:
        assert first.post(url, json={"feedback": [item]}).json() == {"recorded": 1}
    with app() as restarted:
        assert restarted.post(url, json={"feedback": [item]}).json() == {"recorded": 0}
        broken = restarted.app.state.ivig.registry  # type: ignore[attr-defined]
        broken.engine.dispose()
        broken.engine = make_engine("sqlite:////nonexistent/dir/registry.db")
        failed = restarted.post(url, json={"feedback": [{**item, "card": "c-2"}]})
    assert failed.status_code == 500  # not acknowledged: the EHR sends it again


def test_a_fhir_server_off_the_allow_list_is_not_fetched(
    live: Any, es_signer: Any, fhir_server: Any
) -> None:
    """No SSRF: the service never calls a fhirServer its issuer's allow-list does not name."""
    import uuid

    base = live.url.rstrip("/")
    now = int(time.time())
    import jwt

    token = jwt.encode(
        {"iss": "https://ehr.example.org", "aud": base, "iat": now, "exp": now + 300,
         "jti": str(uuid.uuid4())},
        es_signer.key,
        algorithm=es_signer.alg,
        headers={"kid": es_signer.kid, "typ": "JWT"},
    )  # fmt: skip
    body = {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "http://169.254.169.254/latest",
        "context": {"userId": "Practitioner/1", "patientId": "p1", "selections": [],
                    "draftOrders": {"resourceType": "Bundle", "entry": []}},
        "prefetch": {},
    }  # fmt: skip
    before = len(fhir_server.app.state.calls)
    with httpx.Client(timeout=20) as http:
        response = http.post(
            f"{base}/cds-services/ivig-order",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code in (200, 412), response.text
    assert len(fhir_server.app.state.calls) == before


def test_the_fhir_allow_list_is_per_issuer() -> None:
    settings = Settings(
        fhir_allowed_bases={
            "https://ehr.example.org": ("https://fhir.example.org/r4", "https://tenant.example/*")
        }
    )
    allowed = settings.fhir_base_allowed
    assert allowed("https://ehr.example.org", "https://fhir.example.org/r4/")
    assert allowed("https://ehr.example.org", "https://tenant.example/a/r4")
    assert not allowed("https://other.example", "https://fhir.example.org/r4")
    assert not allowed("https://ehr.example.org", "https://fhir.example.org.evil.example/r4")
    assert not allowed(None, "https://fhir.example.org/r4")  # no JWT (demo): nothing fetched


def test_igg_levels_are_recorded_and_read_back_over_rest(
    client: TestClient, registry: Registry
) -> None:
    """A trough recorded by the nurse over REST is listed by date for any signed-in role."""
    path = f"/api/registry/courses/{registry.course_id}/igg-levels"
    for day, value in (("2026-02-02", 9.1), ("2026-01-20", 8.4)):
        made = client.post(
            path,
            json={"date": day, "kind": "trough", "igg_g_per_l": value, "note": "pre-infusion"},
            headers=registry.headers("nurse"),
        )
        assert made.status_code == 200, made.text
        assert made.json()["igg_g_per_l"] == value
    listed = client.get(path, headers=registry.headers("steward"))
    assert listed.status_code == 200
    rows = [r for r in listed.json() if r["note"] == "pre-infusion"]
    assert [(r["date"], r["igg_g_per_l"]) for r in rows] == [
        ("2026-01-20", 8.4),
        ("2026-02-02", 9.1),
    ]


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"date": "2026-02-02", "kind": "nadir", "igg_g_per_l": 9}, "kind", 422),
        ({"date": "2026-02-02", "kind": "trough", "igg_g_per_l": -3}, "igg_g_per_l", 422),
        ({"date": "2026-02-02", "kind": "trough", "igg_g_per_l": 900}, "igg_g_per_l", 422),
        ({"date": "2025-12-01", "kind": "trough", "igg_g_per_l": 9}, "date", 422),
        ({"date": "2026-02-02", "kind": "trough", "igg_g_per_l": "9 g/L"}, "igg_g_per_l", 422),
        # review findings: strings and booleans are not numbers, only YYYY-MM-DD is a date,
        # and a level cannot be measured after today (it would bend the fitted curve)
        ({"date": "2026-02-02", "kind": "trough", "igg_g_per_l": "9"}, "igg_g_per_l", 422),
        ({"date": "2026-02-02", "kind": "trough", "igg_g_per_l": True}, "igg_g_per_l", 422),
        ({"date": "20260202", "kind": "trough", "igg_g_per_l": 9}, "date", 422),
        ({"date": "2026-W05", "kind": "trough", "igg_g_per_l": 9}, "date", 422),
        ({"date": "9999-12-31", "kind": "trough", "igg_g_per_l": 9}, "date", 422),
        ({"date": "2999-01-01", "kind": "baseline", "igg_g_per_l": 9}, "date", 422),
    ],
)
def test_a_bad_igg_level_is_refused_naming_the_field(
    client: TestClient, registry: Registry, body: dict[str, object], field: str, status: int
) -> None:
    response = client.post(
        f"/api/registry/courses/{registry.course_id}/igg-levels",
        json=body,
        headers=registry.headers("nurse"),
    )
    assert response.status_code == status, response.text
    assert response.json()["problems"][0]["field"] == field


def test_igg_levels_of_an_unknown_course_are_refused_naming_the_id(
    client: TestClient, registry: Registry
) -> None:
    response = client.get(
        "/api/registry/courses/999999/igg-levels", headers=registry.headers("nurse")
    )
    assert response.status_code == 422, response.text  # as every unknown row id here
    assert response.json()["problems"][0]["field"] == "course_id"
    refused = client.post(
        f"/api/registry/courses/{registry.course_id}/igg-levels",
        json={"date": "2026-02-02", "kind": "trough", "igg_g_per_l": 9},
        headers=registry.headers("steward"),
    )
    assert refused.status_code == 403


def test_the_user_list_is_paginated(client: TestClient, registry: Registry) -> None:
    """Like requests and the audit log: pages of at most ``limit``, by username, with the next
    page's cursor in ``X-Next-Cursor`` until the last page."""
    headers = registry.headers("admin")
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/registry/users", params=params, headers=headers)
        assert page.status_code == 200 and len(page.json()) <= 2
        seen += [u["username"] for u in page.json()]
        cursor = page.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    everyone = client.get("/api/registry/users", params={"limit": 500}, headers=headers).json()
    assert seen == sorted(seen) == [u["username"] for u in everyone]
    assert len(seen) >= 5
    bad = client.get("/api/registry/users", params={"limit": 0}, headers=headers)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "limit"
