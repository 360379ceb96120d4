"""``ivig recommend --compare``: one patient under every jurisdiction's policy and evidence."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from ivig.app.compare import compare, weight_cliff
from ivig.app.recommend import validate
from ivig.knowledge import KnowledgeBase
from ivig.results import Comparison
from ivig.vocabulary import JURISDICTIONS

CIDP: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 50, "weight_kg": 84, "height_cm": 175},
    "condition": "cidp",
    "indication": "cidp.maintenance",
    "phase": "maintenance",
    "dosing_weight_policy": "actual",  # set aside: each jurisdiction's own policy applies
}


def test_one_row_per_jurisdiction_with_its_own_policy(kb: KnowledgeBase) -> None:
    """au-2026 adjusts the weight (IBW 70.46 kg + 0.4 x (84 - 70.46) = 75.88 kg)
    [au-lifeblood-abw-2026]; the international policy uses the actual weight."""
    result = compare(kb, CIDP)
    TypeAdapter(Comparison).validate_python(result)
    rows = {r["jurisdiction"]: r for r in result["rows"]}
    assert list(rows) == list(JURISDICTIONS)
    assert rows["au"]["policy"] == "au-2026" and rows["au"]["dosing_weight_kg"] == 75.88
    assert rows["international"]["dosing_weight_kg"] == 84
    assert rows["ontario"]["rounding"] == "nearest-5g" and rows["ontario"]["total_g"] == 75
    for row in rows.values():
        assert row["evidence"], row["jurisdiction"]
        assert row["plan_status"] == "provisional"


def test_a_patient_near_the_us_120_threshold_is_told(kb: KnowledgeBase) -> None:
    """us-120: above 120 % of ideal weight the adjusted weight applies [us-order-form-120], so
    85 kg gives less dosing weight than 84.5 kg for a 175 cm man."""
    rows = {r["jurisdiction"]: r for r in compare(kb, CIDP)["rows"]}
    assert rows["us"]["cliff"] is not None and "85 kg" in rows["us"]["cliff"]
    assert rows["au"]["cliff"] is None  # au-2026 has no such cliff here
    far = validate({**CIDP, "patient": {**CIDP["patient"], "weight_kg": 60}})
    assert weight_cliff(kb, far, "us-120") is None


def test_the_cli_gives_the_same_comparison(kb: KnowledgeBase, tmp_path: Any) -> None:
    import json
    import subprocess
    import sys

    import yaml

    path = tmp_path / "cidp.yaml"
    path.write_text(yaml.safe_dump(CIDP))
    out = subprocess.run(
        [sys.executable, "-m", "ivig.cli", "recommend", str(path), "--compare", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout)["rows"] == json.loads(json.dumps(compare(kb, CIDP)["rows"]))


def test_the_rest_api_gives_the_same_comparison(kb: KnowledgeBase) -> None:
    import warnings

    from ivig.service import Settings, create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from ivig.service.settings import StaticToken

    settings = Settings(knowledge=kb, static_tokens={"t": StaticToken("ann", "clinician")})
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/recommend/compare", json=CIDP, headers={"Authorization": "Bearer t"}
        )
    assert response.status_code == 200, response.text
    assert [r["dosing_weight_kg"] for r in response.json()["rows"]] == [
        r["dosing_weight_kg"] for r in compare(kb, CIDP)["rows"]
    ]
