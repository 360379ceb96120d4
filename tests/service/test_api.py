"""REST API: the same results as the core, 422 naming the field, 401/403 by role."""

from __future__ import annotations

from typing import Any

import pytest

from ivig.contract import validate_request
from ivig.core.recommend import recommend
from ivig.knowledge import KnowledgeBase
from tests._helpers.service import auth

GBS: dict[str, Any] = {
    "patient": {
        "sex": "male",
        "age_years": 62,
        "height_cm": 178,
        "weight_kg": 85,
        "labs": {"iga_g_per_l": 1.8, "egfr_ml_per_min_1_73m2": 82},
    },
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    "jurisdiction": "au",
}


def test_health_needs_no_token(client: Any, kb: KnowledgeBase) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["knowledge_version"] == kb.version


def test_recommend_returns_the_core_recommendation(client: Any, kb: KnowledgeBase) -> None:
    """The API renders the core result unchanged (GBS example: efns-2008, au-2026 weight rule)."""
    response = client.post("/api/recommend", json=GBS, headers=auth("clinician"))
    assert response.status_code == 200, response.text
    body = response.json()
    expected = recommend(kb, validate_request(GBS))["dose"]
    assert expected is not None
    assert body["dose"]["total_g"] == expected["total_g"] == pytest.approx(155.82)
    assert body["dosing_weight"]["kg"] == pytest.approx(77.91)
    assert body["knowledge_version"] == kb.version
    assert body["disclaimer"] == kb.disclaimer


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phase": "sometimes"}, "phase"),
        ({"patient": {"sex": "male", "age_years": 62, "weight_kg": -3}}, "patient.weight_kg"),
        ({"condition": "guillain_barre_xyz"}, "condition"),
        ({"patient": {"sex": "male", "age_years": 62, "weight_kg": 900}}, "patient.weight_kg"),
        ({"findings": {"no_such_finding": True}}, "findings.no_such_finding"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_requests_are_422_naming_the_field(
    client: Any, change: dict[str, Any], field: str
) -> None:
    response = client.post("/api/recommend", json=GBS | change, headers=auth("clinician"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in [p["field"] for p in body["problems"]]
    assert all(p["message"] for p in body["problems"])


def test_a_body_that_is_not_json_is_422(client: Any) -> None:
    response = client.post(
        "/api/recommend",
        content=b"{not json",
        headers={**auth("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_no_token_is_401_with_no_detail(client: Any) -> None:
    response = client.post("/api/recommend", json=GBS)
    assert response.status_code == 401
    assert response.content == b""
    assert (
        client.post(
            "/api/recommend", json=GBS, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )


def test_dose_matches_the_command_line(client: Any) -> None:
    """``ivig dose`` for GBS, 85 kg, 178 cm under the AU policy: 77.91 kg dosing weight
    (au-2026: IBW + 0.4 x (actual - IBW), BloodSTAR; source au-nba-dosing)."""
    body = {
        "sex": "male",
        "age_years": 62,
        "height_cm": 178,
        "weight_kg": 85,
        "condition": "gbs",
        "phase": "induction",
        "jurisdiction": "au",
    }
    response = client.post("/api/dose", json=body, headers=auth("pharmacist"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["dosing_weight"]["kg"] == pytest.approx(77.91)
    assert result["dose"]["total_g"] == pytest.approx(155.82)


def test_dose_in_pounds_is_converted(client: Any) -> None:
    body = {
        "sex": "female",
        "age_years": 40,
        "weight_lb": 154,
        "condition": "cidp",
        "phase": "induction",
    }
    response = client.post("/api/dose", json=body, headers=auth("clinician"))
    assert response.status_code == 200, response.text
    assert response.json()["dosing_weight"]["actual_kg"] == pytest.approx(
        154 * 0.45359237, abs=0.01
    )


def test_dose_needs_exactly_one_weight(client: Any) -> None:
    body = {"sex": "female", "age_years": 40, "condition": "cidp", "phase": "induction"}
    assert client.post("/api/dose", json=body, headers=auth("clinician")).status_code == 422


def test_products_and_schedule(client: Any) -> None:
    patient = GBS["patient"]
    response = client.post("/api/products", json={"patient": patient}, headers=auth("clinician"))
    assert response.status_code == 200, response.text
    products = response.json()["products"]
    assert products and {"id", "status"} <= set(products[0])
    response = client.post(
        "/api/schedule",
        json={"product": "gamunex-c", "weight_kg": 77.91, "dose_g": 31.16},
        headers=auth("clinician"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["schedule"]["steps"]


def test_unknown_product_is_422_with_nearest_ids(client: Any) -> None:
    response = client.post(
        "/api/schedule",
        json={"product": "gamunex", "weight_kg": 70, "dose_g": 28},
        headers=auth("clinician"),
    )
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["field"] == "product" and "gamunex-c" in problem["allowed"]


def test_scores(client: Any, kb: KnowledgeBase) -> None:
    score = kb.data["scores"][0]
    items: dict[str, float | str] = {}
    for item in score["items"]:
        if "choices" in item:
            items[item["id"]] = item["choices"][0]["value"]
        else:
            items[item["id"]] = item.get("min", 0)
    response = client.post(
        f"/api/scores/{score['id']}", json={"items": items}, headers=auth("clinician")
    )
    assert response.status_code == 200, response.text  # the first choice or the minimum is valid
    bad = client.post("/api/scores/no-such-score", json={"items": {}}, headers=auth("clinician"))
    assert bad.status_code == 422


def test_review_rejects_an_empty_history_with_422(client: Any) -> None:
    response = client.post("/api/review", json={}, headers=auth("clinician"))
    assert response.status_code == 422


def test_kb_lookups_are_public(client: Any, kb: KnowledgeBase) -> None:
    index = client.get("/api/kb").json()
    assert index["knowledge_version"] == kb.version
    assert index["collections"]["conditions"]["count"] == len(kb.data["conditions"])
    gbs = client.get("/api/kb/conditions/gbs").json()
    assert gbs["record"]["id"] == "gbs" and gbs["cited_sources"]
    missing = client.get("/api/kb/conditions/guillain")
    assert missing.status_code == 422
    assert client.get("/api/kb/search", params={"q": "myasthenia"}).json()["conditions"]


def test_schema_endpoint(client: Any) -> None:
    schema = client.get("/api/schema/request").json()
    assert "patient" in schema["properties"]


def test_openapi_declares_the_bearer_scheme(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "422" in spec["paths"]["/api/recommend"]["post"]["responses"]
