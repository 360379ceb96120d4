"""``ivig check-order``: the exit status follows the worst finding (1 when critical), for the
orders of the clinical pharmacist's review of the order check."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

Run = Callable[..., tuple[int, str, str]]  # the `cli` fixture of conftest.py
RATE_ORDER = [
    *("--product", "gamunex-c", "--grams-per-day", "31", "--days", "5"),
    *("--rate-ml-per-h", "3000"),
]


@pytest.mark.parametrize(
    ("example", "args", "code", "severity", "status"),
    [
        # anti-IgA antibodies, Intratect 10 % ranked caution (anti-iga-class; pv-isi)
        (
            "iga-deficient",
            ["--product", "intratect-10", "--grams-per-day", "31.2", "--days", "5"],
            "caution_product",
            "warning",
            0,
        ),
        # eGFR 38 + diabetes, sucrose-stabilised Vigam (renal-sucrose; pv-box)
        (
            "renal-risk",
            ["--product", "vigam", "--grams-per-day", "26.4", "--days", "5"],
            "caution_product",
            "warning",
            0,
        ),
        # 2 g/kg in one day: above 2 g/kg over at least 2 days (gbs-2g-2to5d; seed-001)
        (
            "renal-risk",
            ["--product", "gamunex-c", "--grams-per-day", "132", "--days", "1"],
            "above_daily_maximum",
            "critical",
            1,
        ),
        # the ICE dose weekly: above 1 g/kg every 2 weeks (cidp-maint-iv-ean; ean-pns-cidp-2021)
        (
            "cidp-maintenance",
            ["--total-g", "67", "--interval-weeks", "1"],
            "above_regimen_intensity",
            "critical",
            1,
        ),
        # 3000 mL/h: 8x the Gamunex-C label maximum of 8 mg/kg/min (gx-dailymed-2010)
        (
            "gbs-non-ambulant",
            RATE_ORDER,
            "rate_above_label_maximum",
            "critical",
            1,
        ),
        # 0.4 (g/kg) typed as grams: a hint, no change of severity
        (
            "gbs-non-ambulant",
            ["--grams-per-day", "0.4", "--days", "5"],
            "below_policy",
            "warning",
            0,
        ),
    ],
)
def test_the_pharmacists_orders_give_their_finding_and_exit_status(
    cli: Run, example: str, args: list[str], code: str, severity: str, status: int
) -> None:
    path = str(ROOT / "examples" / f"{example}.yaml")
    got, out, _ = cli("check-order", path, *args, "--json")
    result = json.loads(out)
    assert (got, result["severity"]) == (status, severity)
    assert {f["code"]: f["severity"] for f in result["findings"]}[code] == severity


def test_the_terminal_report_shows_the_rate_in_mg_per_kg_per_min(cli: Run) -> None:
    """The text report converts the ordered mL/h with the schedule's weight and concentration
    (Gamunex-C 10 %, 0.1 g/mL) and prints the critical finding; exit 1."""
    path = str(ROOT / "examples/gbs-non-ambulant.yaml")
    status, out, _ = cli("check-order", path, "--product", "gamunex-c", "--rate-ml-per-h", "3000")
    _, js, _ = cli(
        "check-order", path, "--product", "gamunex-c", "--rate-ml-per-h", "3000", "--json"
    )
    mg = json.loads(js)["ordered_rate_mg_per_kg_per_min"]
    assert status == 1 and "CRITICAL" in out
    assert f"3000 mL/h = {mg:g} mg/kg/min" in " ".join(out.split())
    assert "label maximum" in out


def test_a_unit_slip_hint_is_printed(cli: Run) -> None:
    path = str(ROOT / "examples/gbs-non-ambulant.yaml")
    status, out, _ = cli("check-order", path, "--total-g", "2")
    assert status == 0 and "did you mean 2 g/kg" in " ".join(out.split())
