"""``ivig recommend`` and ``ivig schema``: outputs, the order sheet, and clear refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from ivig.contract import Request

ROOT = Path(__file__).resolve().parents[2]
GBS = str(ROOT / "examples/gbs-non-ambulant.yaml")


Run = Callable[..., tuple[int, str, str]]  # the `cli` fixture of conftest.py


def test_recommend_json_and_order_sheet(cli: Run, tmp_path: Path) -> None:
    sheet = tmp_path / "order.html"
    status, out, _ = cli("recommend", GBS, "--json", "--html", str(sheet))
    rec = json.loads(out)
    assert status == 0 and rec["eligibility"]["status"] == "supported"
    html = sheet.read_text()
    assert f'id="sheet-total">{rec["dose"]["total_g"]:g} g' in html
    assert "@page" in html and "Pharmacist" in html and 'id="sheet-date"' in html


def test_recommend_terminal_report(cli: Run) -> None:
    status, out, _ = cli("recommend", GBS)
    assert status == 0 and "SUPPORTED" in out and "Infusion rate schedule" in out
    assert "[au-lifeblood-abw-2026]" not in out or "au-lifeblood-abw-2026" in out


def test_recommend_reads_stdin(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(Path(GBS).read_text()))
    status, out, _ = cli("recommend", "-", "--json")
    assert status == 0 and json.loads(out)["dose"]["g_per_kg"] == 2


def test_malformed_file_names_the_line(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("patient: {sex: male\ncondition: gbs\n")
    status, _, err = cli("recommend", str(bad))
    assert status == 2 and "line" in err and "Traceback" not in err


def test_bad_fields_exit_2_with_every_field(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "patient": {"sex": "alien", "age_years": -3, "weight_kg": 80},
                "condition": "gbs",
                "phase": "sometime",
            }
        )
    )
    status, _, err = cli("recommend", str(bad))
    assert status == 2 and all(f in err for f in ("patient.sex", "patient.age_years", "phase"))
    bad.write_text(
        json.dumps(
            {
                "patient": {"sex": "male", "age_years": 200, "weight_kg": 800,
                            "labs": {"iga_g_per_l": 150}},
                "condition": "gbs",
                "phase": "induction",
            }
        )
    )  # fmt: skip
    status, _, err = cli("recommend", str(bad))
    assert status == 2
    assert all(f in err for f in ("patient.age_years", "patient.weight_kg", "patient.labs.iga"))
    assert "mg/dL" in err  # the limit's reason names the likely unit slip


def test_schemas_validate_the_examples(cli: Run) -> None:
    import yaml

    status, out, _ = cli("schema", "request")
    schema = json.loads(out)
    assert status == 0 and set(schema["required"]) >= {"patient", "condition", "phase"}
    status, out, _ = cli("schema", "recommendation")
    assert status == 0 and "eligibility" in json.loads(out)["properties"]
    adapter = TypeAdapter(Request)
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        adapter.validate_python(yaml.safe_load(example.read_text()))


def test_dose_with_vial_rounding(cli: Run) -> None:
    status, out, _ = cli(
        "dose",
        "--sex",
        "female",
        "--age",
        "54",
        "--height-cm",
        "160",
        "--weight-kg",
        "90",
        "--condition",
        "cidp",
        "--phase",
        "maintenance",
        "--policy",
        "au-2026",
        "--product",
        "privigen",
        "--rounding",
        "vials",
        "--json",
    )
    plan = json.loads(out)["dose"]
    assert status == 0 and plan["rounding"]["method"] == "vials"
    day = plan["days"][0]
    assert sum(v["size_g"] * v["count"] for v in day["vials"]) == pytest.approx(day["grams"])
    assert day["volume_ml"] == pytest.approx(day["grams"] / plan["concentration_g_per_ml"], abs=0.1)
    assert plan["total_g"] <= plan["max_total_g"]


def test_the_order_sheet_carries_the_patient_reference_given(cli: Run, tmp_path: Path) -> None:
    sheet = tmp_path / "order.html"
    status, _, _ = cli("recommend", GBS, "--html", str(sheet), "--patient-ref", "MRN-<0042>")
    html = sheet.read_text()
    assert status == 0
    assert 'id="sheet-patient">MRN-&lt;0042&gt;</b>' in html  # escaped, on the identifier line
    cli("recommend", GBS, "--html", str(sheet))
    assert '<b id="sheet-patient"><span class="blank">' in sheet.read_text()  # blank to write in
