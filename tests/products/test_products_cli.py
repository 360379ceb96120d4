"""The ``ivig products``, ``ivig schedule`` and ``ivig kb`` product commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ivig.cli import main
from ivig.knowledge.schema_products import RISK_FACTOR_IDS


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    assert main(argv) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data["knowledge_version"]
    return data


def test_products_json_ranks_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["products", "--risk", "hyperprolinaemia", "--json"])
    products = data["products"]
    assert isinstance(products, list)
    privigen = next(p for p in products if p["id"] == "privigen")
    assert privigen["status"] == "excluded" and privigen["reasons"]


def test_products_text_shows_sources_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "products",
                "--iga-g-per-l",
                "0.01",
                "--anti-iga",
                "--formulary",
                "privigen,gammagard-sd",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "[gsd-dm]" in out and "knowledge " in out and "Gammagard S/D" in out


def test_products_from_request_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = {
        "patient": {
            "sex": "male",
            "age_years": 70,
            "weight_kg": 80,
            "risk_factors": ["heart_failure"],
        },
        "condition": "cidp",
        "phase": "induction",
        "formulary": ["octagam-5", "privigen"],
    }
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    data = _json(capsys, ["products", "--request", str(path), "--json"])
    products = data["products"]
    assert isinstance(products, list)
    assert [p["id"] for p in products] == ["privigen", "octagam-5"]


def test_schedule_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(
        capsys,
        [
            "schedule",
            "--product",
            "panzyga",
            "--weight-kg",
            "80",
            "--dose-g",
            "40",
            "--risk",
            "renal_impairment",
            "--indication",
            "cidp",
            "--json",
        ],
    )
    schedule = data["schedule"]
    assert isinstance(schedule, dict)
    assert schedule["max_rate_mg_per_kg_per_min"] == pytest.approx(3.3)
    assert (
        main(
            [
                "schedule",
                "--product",
                "hizentra",
                "--weight-kg",
                "80",
                "--dose-g",
                "16",
                "--indication",
                "cidp",
                "--monitoring",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "sites" in out and "Monitoring plan" in out


def test_schedule_refusal_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # Intragam P (phasing out) has no labelled IV rates in the knowledge base.
    assert main(["schedule", "--product", "intragam-p", "--weight-kg", "80", "--dose-g", "40"]) == 2
    assert "Intragam P" in capsys.readouterr().err


def test_kb_product_commands(capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, ["kb", "risk-factors", "--json"])
    assert isinstance(data["risk_factors"], list)
    assert {r["id"] for r in data["risk_factors"]} == set(RISK_FACTOR_IDS)
    data = _json(capsys, ["kb", "product", "privigen", "--json"])
    assert any(s["id"] == "seed-002" for s in data["cited_sources"])
    assert main(["kb", "products"]) == 0
    assert "hyqvia" in capsys.readouterr().out
