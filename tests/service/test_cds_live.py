"""CDS Hooks end to end on a real uvicorn server: signed JWTs, prefetch, FHIR fallback, 412."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests._helpers.service import (
    EHR_ISS,
    FHIR_TOKEN,
    LiveServer,
    Signer,
    hook_request,
)

SERVICE = "/cds-services/ivig-order"


def _post(live: LiveServer, signer: Signer, body: dict[str, Any], **claims: Any) -> httpx.Response:
    token = signer.token(live.url + SERVICE, **claims)
    return httpx.post(
        live.url + SERVICE, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _no_empty_values(node: Any, path: str = "") -> list[str]:
    """CDS Hooks: JSON values are never null, "", [] or {} (optional fields are left out)."""
    bad: list[str] = []
    if node is None or node in ("", [], {}):
        return [path or "(root)"]
    if isinstance(node, dict):
        for key, value in node.items():
            bad += _no_empty_values(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            bad += _no_empty_values(value, f"{path}[{n}]")
    return bad


def test_discovery_lists_the_services_with_a_signed_jwt(
    live: LiveServer, es_signer: Signer
) -> None:
    token = es_signer.token(live.url + "/cds-services")
    response = httpx.get(live.url + "/cds-services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    services = response.json()["services"]
    assert {(s["hook"], s["id"]) for s in services} == {
        ("order-select", "ivig-order-select"),
        ("order-sign", "ivig-order-sign"),
        ("patient-view", "ivig-review-due"),
    }
    assert len({s["id"] for s in services}) == len(services)  # ids are unique (issue 16)
    order = services[0]
    assert "29463-7" in order["prefetch"]["weight"]
    assert "8302-2" in order["prefetch"]["height"]
    assert "2458-8" in order["prefetch"]["iga"]
    assert order["prefetch"]["patient"] == "Patient/{{context.patientId}}"


def test_discovery_without_a_token_is_401_with_no_detail(live: LiveServer) -> None:
    response = httpx.get(live.url + "/cds-services")
    assert response.status_code == 401
    assert response.content == b""


def test_order_select_with_prefetch_gives_a_dose_card_and_a_suggestion(
    live: LiveServer, es_signer: Signer
) -> None:
    """GBS, 85 kg, 178 cm, AU policy: adjusted weight 77.91 kg and 2 g/kg over 5 days
    (regimen gbs-2g-5d, sources efns-2008 and seed-002; weight rule au-2026)."""
    response = _post(live, es_signer, hook_request("order-select"))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert _no_empty_values(card) == []
    assert len(card["summary"]) < 140
    assert "155.82 g" in card["summary"]
    assert "77.91 kg" in card["summary"]
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["url"].startswith(live.url + "/api/kb")
    assert all(r["display"] for r in card["overrideReasons"])
    assert card["selectionBehavior"] == "at-most-one"
    # the dose change keeps the draft's medication; a second suggestion also picks a product
    suggestion, with_product = card["suggestions"]
    assert suggestion["isRecommended"] and not with_product["isRecommended"]
    (action,) = suggestion["actions"]
    assert action["resource"]["medicationCodeableConcept"]["text"] == "Immune globulin IV"
    assert action["type"] == "update" and action["description"]
    order = action["resource"]
    assert order["id"] == "mr1" and order["resourceType"] == "MedicationRequest"
    dosage = order["dosageInstruction"][0]
    ordered, calculated = dosage["doseAndRate"]
    assert ordered["doseQuantity"] == {
        "value": 0.4,
        "unit": "g/kg",
        "system": "http://unitsofmeasure.org",
        "code": "g/kg",
    }
    assert calculated["doseQuantity"]["value"] == pytest.approx(31.16)
    assert calculated["rateQuantity"]["code"] == "mL/h"
    assert {"reference": "Observation/w1"} in order["supportingInformation"]
    # the live server and the in-process core agree on the detail
    assert "| 5 | 31.18 |" in card["detail"]


def test_order_sign_gives_the_same_dose(live: LiveServer, rs_signer: Signer) -> None:
    """RS384 keys come from the issuer's JWKS URL (fetched by the service)."""
    response = _post(live, rs_signer, hook_request("order-sign"))
    assert response.status_code == 200, response.text
    assert "155.82 g" in response.json()["cards"][0]["summary"]


def test_a_non_immunoglobulin_order_gets_no_cards(live: LiveServer, es_signer: Signer) -> None:
    body = hook_request("order-select")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["medicationCodeableConcept"] = {"text": "Paracetamol 1 g tablet"}
    response = _post(live, es_signer, body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_missing_prefetch_falls_back_to_the_fhir_server(
    live: LiveServer, es_signer: Signer, fhir_server: LiveServer
) -> None:
    body = hook_request(
        "order-select",
        prefetch={},
        fhirServer=fhir_server.url + "/fhir",
        fhirAuthorization={
            "access_token": FHIR_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "ivig",
        },
    )
    before = len(fhir_server.app.state.calls)
    response = _post(live, es_signer, body)
    assert response.status_code == 200, response.text
    assert "155.82 g" in response.json()["cards"][0]["summary"]
    fetched = fhir_server.app.state.calls[before:]
    assert any("/fhir/Patient/p1" in c for c in fetched)
    assert any("29463-7" in c for c in fetched)


def test_no_prefetch_and_no_fhir_server_is_412(live: LiveServer, es_signer: Signer) -> None:
    response = _post(live, es_signer, hook_request("order-select", prefetch={}))
    assert response.status_code == 412
    assert {p["field"] for p in response.json()["problems"]} == {
        "prefetch.patient",
        "prefetch.weight",
    }


def test_a_fhir_server_refusing_the_token_is_412(
    live: LiveServer, es_signer: Signer, fhir_server: LiveServer
) -> None:
    body = hook_request("order-select", prefetch={}, fhirServer=fhir_server.url + "/fhir")
    assert _post(live, es_signer, body).status_code == 412


def test_no_weight_on_record_is_a_card_not_an_error(live: LiveServer, es_signer: Signer) -> None:
    body = hook_request("order-select")
    body["prefetch"]["weight"] = None  # the EHR says: no data
    response = _post(live, es_signer, body)
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert "29463-7" in card["summary"] or "29463-7" in card["detail"]


@pytest.mark.parametrize(
    "case",
    [
        "bad_signature",
        "wrong_aud",
        "expired",
        "unknown_iss",
        "no_jti",
        "hs256",
        "none_alg",
        "unknown_kid",
    ],
)
def test_bad_tokens_are_401_with_no_detail(live: LiveServer, es_signer: Signer, case: str) -> None:
    import jwt

    url = live.url + SERVICE
    if case == "bad_signature":
        token = es_signer.token(url)
        head, payload, sig = token.split(".")
        token = f"{head}.{payload}.{sig[::-1]}"
    elif case == "wrong_aud":
        token = es_signer.token("https://other.example.org/cds-services/ivig-order")
    elif case == "expired":
        token = es_signer.token(url, exp=1_600_000_000, iat=1_599_999_000)
    elif case == "unknown_iss":
        token = es_signer.token(url, iss="https://evil.example.org")
    elif case == "no_jti":
        token = es_signer.token(url, jti=None)
    elif case == "hs256":
        token = jwt.encode(
            {"iss": EHR_ISS, "aud": url, "exp": 4_000_000_000, "iat": 1, "jti": "x"},
            "a-shared-secret-of-enough-length-for-hmac",
            algorithm="HS256",
            headers={"kid": es_signer.kid},
        )
    elif case == "none_alg":
        token = jwt.encode(
            {"iss": EHR_ISS, "aud": url, "exp": 4_000_000_000, "iat": 1, "jti": "y"},
            "",  # the unsigned algorithm takes no key
            algorithm="none",
        )
    else:
        token = es_signer.token(url, headers={"kid": "not-a-key"})
    response = httpx.post(url, json=hook_request(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.content == b""


def test_a_replayed_jti_is_refused(live: LiveServer, es_signer: Signer) -> None:
    url = live.url + SERVICE
    token = es_signer.token(url)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(url, json=hook_request(), headers=headers, timeout=30).status_code == 200
    assert httpx.post(url, json=hook_request(), headers=headers, timeout=30).status_code == 401


def test_feedback_is_recorded_once(live: LiveServer, es_signer: Signer) -> None:
    url = live.url + SERVICE + "/feedback"
    item = {
        "card": "0f3a1c9e-0000-4000-8000-000000000001",
        "outcome": "overridden",
        "overrideReason": {
            "reason": {
                "system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes",
                "code": "policy-contradicts",
                "display": "Local policy differs",
            },
            "userComment": "local protocol",
        },
        "outcomeTimestamp": "2026-11-22T10:00:00Z",
    }
    counts = []
    for _ in range(2):
        token = es_signer.token(url)
        response = httpx.post(
            url, json={"feedback": [item]}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        counts.append(response.json()["recorded"])
    if live.app.state.ivig.registry is None:
        assert counts == [1, 0]
        assert live.app.state.ivig.feedback.items[-1]["card"] == item["card"]


def test_accepted_feedback_needs_the_suggestions(live: LiveServer, es_signer: Signer) -> None:
    url = live.url + SERVICE + "/feedback"
    token = es_signer.token(url)
    body = {
        "feedback": [
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-22T10:00:00Z"}
        ]
    }
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422


def test_cors_allows_only_the_configured_origin(live: LiveServer) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            live.url + "/cds-services",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )

    good = preflight("https://ehr.example.org")
    assert good.headers.get("access-control-allow-origin") == "https://ehr.example.org"
    bad = preflight("https://evil.example.org")
    assert "access-control-allow-origin" not in bad.headers


def test_a_malformed_hook_request_is_422_naming_the_field(
    live: LiveServer, es_signer: Signer
) -> None:
    body = hook_request("order-select")
    del body["context"]["selections"]
    response = _post(live, es_signer, body)
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "context.selections"


def test_the_wrong_hook_for_a_service_is_422(live: LiveServer, es_signer: Signer) -> None:
    response = _post(live, es_signer, hook_request("order-select") | {"hook": "patient-view"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "hook"
