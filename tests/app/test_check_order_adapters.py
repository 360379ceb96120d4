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


def test_the_api_grades_a_rate_eight_times_the_label_maximum_critical(client: Any) -> None:
    """Gamunex-C: label maximum 8 mg/kg/min (gx-dailymed-2010); 3000 mL/h of the 10 % solution
    on the 77.91 kg dosing weight is 64.2 mg/kg/min, on the 85 kg actual weight 58.8."""
    order = {"product": "gamunex-c", "grams_per_day": 31, "days": 5, "rate_ml_per_h": 3000}
    body = {"request": GBS, "order": order}
    response = client.post("/api/check-order", json=body, headers={"Authorization": "Bearer t"})
    assert response.status_code == 200, response.text
    result = response.json()
    weight_kg = result["recommendation"]["infusion"]["weight_kg"]
    concentration = result["recommendation"]["infusion"]["concentration_g_per_ml"]
    mg = 3000 * concentration * 1000 / (60 * weight_kg)
    assert result["severity"] == "critical"
    assert result["ordered_rate_mg_per_kg_per_min"] == pytest.approx(mg, abs=0.01)
    (finding,) = [f for f in result["findings"] if f["code"] == "rate_above_label_maximum"]
    # the message gives the rate per kg of the actual weight (85 kg), the weight the label counts
    # and its ratio is taken on (a pharmacist found 64.18 mg/kg/min beside "7.35x of 8")
    on_actual = 3000 * concentration * 1000 / (60 * 85)
    assert finding["severity"] == "critical"
    assert f"{round(on_actual, 2):g} mg/kg/min of the actual weight (85 kg)" in finding["message"]
    assert f"{on_actual / 8:.2f}x the label maximum of 8" in finding["message"]


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (
            {"product": "gamunex-c", "grams_per_day": 31, "days": 5, "rate_ml_per_h": 3000},
            "rate_above_label_maximum",
        ),
        ({"grams_per_day": 155.82, "days": 1}, "above_daily_maximum"),
    ],
)
def test_a_critical_order_check_gives_a_critical_card_that_says_why(
    kb: KnowledgeBase, order: dict[str, Any], code: str
) -> None:
    """The CDS card follows the order check: a critical finding the course total cannot show
    (the rate, the daily amount) makes the card critical and leads its summary, not a
    "within 10 %" line (GBS 2 g/kg: gbs-2g-5d, efns-2008; at most 1 g/kg/day: gbs-2g-2to5d)."""
    from ivig.app.order_check import check_order
    from ivig.contract import validate_request
    from ivig.core.recommend import recommend
    from ivig.service.cds.cards import recommendation_cards

    request = validate_request(GBS)
    check = check_order(kb, request, order)
    (card,) = recommendation_cards(
        kb,
        recommend(kb, request),
        knowledge_url="https://ivig.example.org/api/kb",
        order={"resourceType": "MedicationRequest", "id": "d1", "status": "draft"},
        patient_ref="Patient/p1",
        references={"patient": "Patient/p1"},
        check=check,
    )
    (finding,) = [f for f in check["findings"] if f["code"] == code]
    assert card["indicator"] == "critical"
    assert "within" not in card["summary"]
    assert card["summary"].split(": ", 1)[1][:40] == finding["message"][:40]
    assert finding["message"] in card["detail"]


@pytest.mark.parametrize(
    "order",
    [
        {"grams_per_day": 34, "days": 10**400},
        {"grams_per_day": 34, "days": 367},
        {"grams_per_day": 34, "days": True},
        {"total_g": "170"},
        {"total_g": 1e308},
        {"total_g": 170, "interval_weeks": 1e-300},
        {"rate_ml_per_h": 1.7e308},
    ],
    ids=[
        "10^400 days",
        "367 days",
        "days true",
        "grams as text",
        "1e308 g",
        "1e-300 weeks",
        "1.7e308 mL/h",
    ],
)
def test_the_api_refuses_orders_no_one_can_give(client: Any, order: dict[str, Any]) -> None:
    """Attack review: a 400-digit day count was a 500; text and booleans were read as numbers;
    1e308 g gave nulls and 300-digit multipliers."""
    body = {"request": GBS, "order": order}
    response = client.post("/api/check-order", json=body, headers={"Authorization": "Bearer t"})
    assert response.status_code == 422, response.text
    assert "order" in response.text


def test_the_cli_refuses_a_400_digit_day_count_without_a_traceback() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    ivig = str(Path(sys.executable).parent / "ivig")
    days = "1" + "0" * 400
    cmd = [ivig, "check-order", "examples/gbs-non-ambulant.yaml", "--grams-per-day", "34"]
    out = subprocess.run(
        [*cmd, "--days", days], check=False, cwd=root, capture_output=True, text=True
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "order.days" in out.stderr and "1 to 366" in out.stderr
