"""The command line: JSON output, the knowledge version on every output, clear errors (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

Run = Callable[..., tuple[int, str, str]]  # the `cli` fixture of conftest.py


def test_kb_list_json_has_every_condition(cli: Run) -> None:
    status, out, _ = cli("kb", "list", "--json")
    data = json.loads(out)
    assert status == 0 and data["knowledge_version"]
    ids = {c["id"] for c in data["conditions"]}
    assert {"gbs", "cidp", "mg", "als"} <= ids
    assert all(c["indications"] and c["sources"] for c in data["conditions"])


def test_kb_show_and_unknown_id(cli: Run) -> None:
    status, out, _ = cli("kb", "show", "gbs", "--json")
    assert status == 0 and json.loads(out)["condition"]["id"] == "gbs"
    status, _, err = cli("kb", "show", "guillain_barre")
    assert status == 2 and "gbs" in err and "Traceback" not in err


def test_kb_terminal_outputs_show_the_version(cli: Run) -> None:
    for argv in (("kb", "list"), ("kb", "show", "gbs"), ("kb", "sources"), ("kb", "findings")):
        status, out, _ = cli(*argv)
        assert status == 0 and "knowledge 20" in out, argv


def test_kb_stats_json(cli: Run) -> None:
    status, out, _ = cli("kb", "stats", "--json")
    stats = json.loads(out)
    assert status == 0 and stats["numbers_with_source_share"] == 1.0


def test_dose_issue_example(cli: Run) -> None:
    """Issue 3 'done when': IBW ~52.4 kg, dosing weight ~67.4 kg, ICE 1 g/kg q3w ~67 g."""
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
        "--json",
    )
    data = json.loads(out)
    assert status == 0
    assert data["dosing_weight"]["ideal_kg"] == pytest.approx(52.4, abs=0.05)
    assert data["dosing_weight"]["kg"] == pytest.approx(67.4, abs=0.05)
    assert data["dose"]["g_per_kg"] == 1 and data["dose"]["interval_weeks"] == 3
    assert data["dose"]["total_g"] == pytest.approx(67.4, abs=0.1)
    assert data["sources"] and data["knowledge_version"] and data["dose"]["steps"]


def test_dose_in_pounds_and_inches(cli: Run) -> None:
    status, out, _ = cli(
        "dose",
        "--sex",
        "male",
        "--age",
        "50",
        "--height-in",
        "70",
        "--weight-lb",
        "220",
        "--condition",
        "gbs",
        "--phase",
        "induction",
        "--policy",
        "actual",
        "--json",
    )
    assert status == 0
    assert json.loads(out)["dosing_weight"]["kg"] == pytest.approx(99.79, abs=0.01)


def test_dose_errors_exit_2_with_field(cli: Run) -> None:
    status, _, err = cli(
        "dose",
        "--sex",
        "male",
        "--age",
        "50",
        "--weight-kg",
        "90",
        "--condition",
        "gbs",
        "--phase",
        "induction",
        "--policy",
        "au-2026",
    )
    assert status == 2 and "patient.height_cm" in err
    status, _, err = cli(
        "dose",
        "--sex",
        "male",
        "--age",
        "50",
        "--weight-kg",
        "9000",
        "--condition",
        "gbs",
        "--phase",
        "induction",
    )
    assert status == 2 and "weight_kg" in err and "350" in err


def test_dose_terminal_report(cli: Run) -> None:
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
        "gbs",
        "--phase",
        "induction",
        "--policy",
        "au-2026",
        "--rounding",
        "nearest-5g",
    )
    assert status == 0 and "Dosing weight" in out and "knowledge" in out
