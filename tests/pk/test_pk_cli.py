"""``ivig pk simulate`` and ``ivig pk optimise`` end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivig.cli import main


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, Any]:
    assert main(argv) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_gbs_standard_course_delta_igg_in_published_range(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, reference: Callable[[str], dict[str, Any]]
) -> None:
    """Kuitwaard 2009 (pk-kuitwaard-2009): delta IgG at day 14 after 2 g/kg is 7.8 +/- 5.6 g/L;
    the typical 70 kg GBS patient lies within one SD, and a plot is written."""
    png = tmp_path / "igg.png"
    data = _json(
        capsys,
        [
            "pk",
            "simulate",
            "--weight-kg",
            "70",
            "--population",
            "gbs",
            "--regimen",
            "0.4g/kg@0x5",
            "--json",
            "--plot",
            str(png),
        ],
    )
    ref = reference("gbs_delta_igg_day14")
    delta = data["predictions"]["delta_igg_day14_g_per_l"]
    assert ref["mean"] - ref["sd"] <= delta <= ref["mean"] + ref["sd"]
    assert data["predictions"]["delta_reference"]["sources"] == ["pk-kuitwaard-2009"]
    assert data["knowledge_version"]
    assert data["population"]["warnings"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sum(d["amount_g"] for d in data["doses"]) == pytest.approx(140.0)


def test_text_output_shows_version_and_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "pk",
                "simulate",
                "--weight-kg",
                "70",
                "--population",
                "gbs",
                "--regimen",
                "0.4g/kg@0x5",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "knowledge " in out and "warning" in out and "delta IgG" in out


def test_optimise_gives_a_dose_for_a_trough_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    svg = tmp_path / "plan.svg"
    data = _json(
        capsys,
        [
            "pk",
            "optimise",
            "--weight-kg",
            "70",
            "--population",
            "cidp",
            "--baseline-igg-g-per-l",
            "9",
            "--target-trough-g-per-l",
            "14",
            "--interval-weeks",
            "3",
            "--dose-step-g",
            "5",
            "--json",
            "--plot",
            str(svg),
        ],
    )
    assert data["predicted_trough_g_per_l"] >= 14
    assert data["next_step_trough_g_per_l"] < 14
    assert data["dose_g"] % 5 == pytest.approx(0)
    assert any(r["id"] == "hizentra_us" for r in data["sc_weekly_equivalents"])
    assert "<svg" in svg.read_text()


def test_optimise_individualises_from_levels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    levels = tmp_path / "levels.csv"
    levels.write_text("day,igg_g_per_l\n27.9,11.0\n48.9,11.5\n", encoding="utf-8")
    data = _json(
        capsys,
        [
            "pk",
            "optimise",
            "--weight-kg",
            "70",
            "--population",
            "cidp",
            "--baseline-igg-g-per-l",
            "9",
            "--target-trough-g-per-l",
            "12",
            "--interval-weeks",
            "3",
            "--regimen",
            "1g/kg@0",
            "1g/kg@21x2/3w",
            "--levels",
            str(levels),
            "--json",
        ],
    )
    assert data["individual_fit"]["etas"]
    assert data["predicted_trough_g_per_l"] >= 12


@pytest.mark.parametrize(
    "argv",
    [
        ["pk", "simulate", "--weight-kg", "70", "--regimen", "0.4gkg@0"],
        ["pk", "simulate", "--weight-kg", "-1", "--regimen", "0.4g/kg@0"],
        ["pk", "simulate", "--weight-kg", "70", "--regimen", "0.4g/kg@0", "--plot", "x.pdf"],
        ["pk", "simulate", "--weight-kg", "70", "--population", "nope", "--regimen", "1g@0"],
        ["pk", "optimise", "--weight-kg", "70", "--target-trough-g-per-l", "10"],
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "ivig: error:" in capsys.readouterr().err
