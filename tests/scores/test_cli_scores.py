"""The ``ivig score`` and ``ivig review`` commands (JSON output, chart file, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivig.cli import main

HISTORIES = Path(__file__).resolve().parents[2] / "examples" / "histories"


def test_score_incat_json(capsys: pytest.CaptureFixture[str]) -> None:
    """INCAT arm 2 + leg 3 = 5 of 0-10 (incat-table-reproduction)."""
    assert main(["score", "incat", "arm=2", "leg=3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == 5 and out["range"] == {"min": 0, "max": 10}
    assert "incat-table-reproduction" in out["sources"] and out["knowledge_version"]


def test_score_mg_adl_json(capsys: pytest.CaptureFixture[str]) -> None:
    """MG-ADL total 0-24 with MCID 2 (wolfe-1999-mg-adl, muppidi-2011-mg-adl)."""
    args = ["score", "mg-adl", "talking=1", "chewing=0", "swallowing=1", "breathing=0"]
    args += ["brushing_teeth_combing_hair=2", "rising_from_chair=1", "double_vision=3"]
    assert main([*args, "eyelid_droop=2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == 10 and out["range"]["max"] == 24 and out["mcid"]["value"] == 2


def test_score_list_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "list", "--json"]) == 0
    ids = [s["id"] for s in json.loads(capsys.readouterr().out)["scores"]]
    assert "gbs-disability" in ids and "review-rules" not in ids
    assert main(["score", "gbs-disability", "grade=3"]) == 0
    assert "knowledge" in capsys.readouterr().out


def test_score_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "incat", "arm=7", "leg=1"]) == 2
    assert "incat.arm" in capsys.readouterr().err
    assert main(["score", "incat", "arm"]) == 2


@pytest.mark.parametrize("name", sorted(p.name for p in HISTORIES.glob("*.yaml")))
def test_review_json_and_chart(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "trend.png"
    assert main(["review", str(HISTORIES / name), "--json", "--plot", str(chart)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] in ("responder", "partial", "non_responder", "insufficient_data")
    assert chart.stat().st_size > 1000


def test_review_text_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "trend.svg"
    assert main(["review", str(HISTORIES / "gbs-fluctuation.yaml"), "--plot", str(chart)]) == 0
    text = capsys.readouterr().out
    assert "Verdict: partial" in text and "knowledge" in text
    assert chart.read_text().lstrip().startswith("<?xml")


def test_review_bad_file_and_bad_plot_name(tmp_path: Path) -> None:
    assert main(["review", str(tmp_path / "missing.yaml")]) == 2
    bad = tmp_path / "x.yaml"
    bad.write_text("- just a list\n")
    assert main(["review", str(bad)]) == 2
    assert main(["review", str(HISTORIES / "cidp-responder.yaml"), "--plot", "x.gif"]) == 2


def test_review_text_shows_the_rule_and_an_overdue_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CIDP responder reviewed on 2025-08-01 with no assessment since 2025-05-05: the 26-week
    review of ontario-maintenance-review (on-igum-best-practice) was due 2025-07-07, 25 days
    before; the text says OVERDUE and prints the rule with its sources."""
    history = (HISTORIES / "cidp-responder.yaml").read_text() + "as_of: 2025-08-01\n"
    path = tmp_path / "late.yaml"
    path.write_text(history)
    assert main(["review", str(path)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "OVERDUE since 2025-07-07 (3.6 weeks)" in text
    assert "OVERDUE by 3.6 weeks (25 days) since 2025-07-07" in text
    assert "6 months after the start of therapy" in text
    assert "source on-igum-best-practice: Best practice recommendations, item 4" in text
    assert "no meaningful change" not in text
    assert "reaching more than 8 kPa (grip-responder; vanhoutte-2013-grip)" in text
