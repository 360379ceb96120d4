"""``ivig check-order`` and ``POST /api/check-order`` call the order-check use case and show the
ordered dose beside the policy dose (issue 14). The GBS request: 2 g/kg on the au-2026 dosing
weight of 77.91 kg (IBW 73.0 kg + 0.4 x (85 - 73.0)) = 155.82 g [efns-2008,
au-lifeblood-abw-2026]."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivig.cli import main
from ivig.knowledge import KnowledgeBase
from ivig.service import Settings, create_app
from ivig.service.settings import StaticToken

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

GBS: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
    "condition": "gbs",
    "phase": "induction",
    "jurisdiction": "au",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
}
CIDP: dict[str, Any] = {
    "patient": {"sex": "female", "age_years": 54, "height_cm": 160, "weight_kg": 90},
    "condition": "cidp",
    "indication": "cidp.maintenance",
    "phase": "maintenance",
    "jurisdiction": "au",
}


def _cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any], *args: str
) -> tuple[int, Any]:
    path = tmp_path / "request.yaml"
    path.write_text(yaml.safe_dump(data))
    code = main(["check-order", str(path), *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_cli_finds_a_tenfold_overdose_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = _cli(tmp_path, capsys, GBS, "--grams-per-day", "311.6", "--days", "5")
    assert code == 1 and result["severity"] == "critical"
    assert result["policy_total_g"] == 155.82 and result["ordered_total_g"] == 1558
    assert {"above_regimen_maximum"} <= {f["code"] for f in result["findings"]}


def test_the_cli_finds_an_interval_too_short(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CIDP maintenance (au): 1 g/kg every 3 weeks [au-nba-criteria-cidp]; ordered every week."""
    code, result = _cli(tmp_path, capsys, CIDP, "--total-g", "67.43", "--interval-weeks", "1")
    assert "interval_too_short" in {f["code"] for f in result["findings"]}
    assert code in (0, 1)


def test_the_cli_passes_an_order_within_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, result = _cli(tmp_path, capsys, GBS, "--total-g", "155")
    assert code == 0 and result["severity"] == "info"


@pytest.fixture(scope="module")
def client(kb: KnowledgeBase) -> Any:
    settings = Settings(knowledge=kb, static_tokens={"t": StaticToken("pia", "pharmacist")})
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def test_the_api_names_an_excluded_product(client: Any) -> None:
    """Privigen contains L-proline and is contraindicated in hyperprolinaemia [pv-nhs]: ordered
    for such a patient, the check is critical and names the product."""
    data = {**GBS, "patient": {**GBS["patient"], "risk_factors": ["hyperprolinaemia"]}}
    body = {"request": data, "order": {"product": "privigen", "total_g": 155}}
    response = client.post("/api/check-order", json=body, headers={"Authorization": "Bearer t"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["severity"] == "critical"
    (finding,) = [f for f in result["findings"] if f["code"] == "excluded_product"]
    assert finding["severity"] == "critical" and "Privigen" in finding["message"]
    body["order"]["product"] = "gamunex-c"
    again = client.post("/api/check-order", json=body, headers={"Authorization": "Bearer t"})
    assert "excluded_product" not in {f["code"] for f in again.json()["findings"]}


def test_the_api_refuses_a_bad_order_naming_the_field(client: Any) -> None:
    body = {"request": GBS, "order": {"grams_per_day": -3, "days": 5}}
    response = client.post("/api/check-order", json=body, headers={"Authorization": "Bearer t"})
    assert response.status_code == 422
    assert "grams_per_day" in response.text
