"""Issue 17, defect 5: implausible values to ``/api/schedule`` are refused naming the field (100
SC sites, 1e9 g, age -3, an 800 kg weight), never scheduled or clamped."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from ivig.service import Settings, create_app
from ivig.service.settings import StaticToken

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture(scope="module")
def client(kb: KnowledgeBase) -> Iterator[TestClient]:
    settings = Settings(knowledge=kb, static_tokens={"t": StaticToken("pia", "pharmacist")})
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product": "hizentra", "route": "sc", "sites": 100, "dose_g": 40}, "sites"),
        ({"dose_g": 1e9}, "dose_g"),
        ({"age_years": -3}, "age_years"),
        ({"weight_kg": 800}, "weight_kg"),
    ],
)
def test_an_implausible_schedule_input_is_refused_by_name(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    body = {"product": "privigen", "weight_kg": 80, "dose_g": 32, **changes}
    response = client.post("/api/schedule", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_the_largest_label_site_count_is_allowed(client: TestClient, kb: KnowledgeBase) -> None:
    """Hizentra's label allows several sites at once [hz-ci]; 4 sites schedule."""
    body = {"product": "hizentra", "route": "sc", "weight_kg": 70, "dose_g": 10, "sites": 4}
    response = client.post("/api/schedule", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
