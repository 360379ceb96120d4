"""GBS prognostic scores item by item (EGRIS, mEGOS at admission and day 7, EGOS).

Point tables: Walgaard 2010 (walgaard-2010-egris), Walgaard 2011 (walgaard-2011-megos) and van
Koningsveld 2007 (van-koningsveld-2007-egos) as reproduced by the secondary sources
gbs-scores-code-a and egos-points-code; they are unverified until read in the papers, and the
results say so.
"""

from __future__ import annotations

import pytest

from ivig.core.scores import compute_score, gbs_prognosis
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase


@pytest.mark.parametrize(
    ("mrc_sum", "points"),
    [(60, 0), (51, 0), (50, 1), (41, 1), (40, 2), (31, 2), (30, 3), (21, 3), (20, 4), (0, 4)],
)
def test_egris_mrc_bands(kb: KnowledgeBase, mrc_sum: int, points: int) -> None:
    """gbs-scores-code-a: MRC 60-51 = 0, 50-41 = 1, 40-31 = 2, 30-21 = 3, <= 20 = 4."""
    result = compute_score(
        kb, "egris", {"onset_days": 10, "facial_bulbar": "no", "mrc_sum": mrc_sum}
    )
    assert result["total"] == points
    row = next(r for r in result["items"] if r["id"] == "mrc_sum")
    assert row["points"] == points and row["verified"] is False


@pytest.mark.parametrize(("days", "points"), [(0, 2), (3, 2), (4, 1), (7, 1), (8, 0), (30, 0)])
def test_egris_onset_bands(kb: KnowledgeBase, days: int, points: int) -> None:
    """gbs-scores-code-a: onset > 7 days = 0, 4-7 days = 1, <= 3 days = 2."""
    result = compute_score(kb, "egris", {"onset_days": days, "facial_bulbar": "no", "mrc_sum": 60})
    assert result["total"] == points


def test_egris_maximum_is_seven_and_unverified(kb: KnowledgeBase) -> None:
    """walgaard-2010-egris: total 0-7; the points are secondary, so the result is unverified."""
    result = compute_score(kb, "egris", {"onset_days": 1, "facial_bulbar": "yes", "mrc_sum": 10})
    assert result["total"] == 7
    assert result["verified"] is False
    assert "gbs-scores-code-a" in result["sources"]


@pytest.mark.parametrize(
    ("timepoint", "mrc_sum", "points"),
    [
        ("admission", 45, 2),
        ("admission", 35, 4),
        ("admission", 30, 6),
        ("day7", 45, 3),
        ("day7", 35, 6),
        ("day7", 30, 9),
        ("day7", 51, 0),
    ],
)
def test_megos_mrc_points_depend_on_the_time_point(
    kb: KnowledgeBase, timepoint: str, mrc_sum: int, points: int
) -> None:
    """gbs-scores-code-a: admission 0/2/4/6 (total 0-9), day 7 0/3/6/9 (total 0-12)."""
    items = {"timepoint": timepoint, "age_years": 30, "diarrhoea": "no", "mrc_sum": mrc_sum}
    assert compute_score(kb, "megos", items)["total"] == points


def test_megos_age_and_diarrhoea(kb: KnowledgeBase) -> None:
    """gbs-scores-code-a: age <= 40 = 0, 41-60 = 1, > 60 = 2; diarrhoea + 1."""
    base = {"timepoint": "admission", "mrc_sum": 60}
    totals = [
        compute_score(kb, "megos", {**base, "age_years": age, "diarrhoea": d})["total"]
        for age, d in ((40, "no"), (41, "no"), (60, "yes"), (61, "yes"))
    ]
    assert totals == [0, 1, 2, 3]


def test_egos_weights(kb: KnowledgeBase) -> None:
    """egos-points-code: age < 41 = 0, 41-60 = 0.5, > 60 = 1; diarrhoea 1; GBS DS 0-1 = 1 ... 5 = 5;
    van-koningsveld-2007-egos: total 1 to 7."""
    low = compute_score(kb, "egos", {"age_years": 30, "diarrhoea": "no", "gbs_ds_2_weeks": 0})
    high = compute_score(kb, "egos", {"age_years": 70, "diarrhoea": "yes", "gbs_ds_2_weeks": 5})
    assert (low["total"], high["total"]) == (1, 7)


def test_egos_refuses_grade_six(kb: KnowledgeBase) -> None:
    """The EGOS has five GBS disability categories (0-1, 2, 3, 4, 5); grade 6 is not one."""
    with pytest.raises(InputError, match="gbs_ds_2_weeks"):
        compute_score(kb, "egos", {"age_years": 30, "diarrhoea": "no", "gbs_ds_2_weeks": 6})


def test_gbs_prognosis_from_findings(kb: KnowledgeBase) -> None:
    """Every version whose findings are given is computed; the others name what is missing."""
    findings = {
        "age_years": 62,
        "days_onset_to_admission": 5,
        "facial_or_bulbar_weakness": True,
        "mrc_sum_score": 38,
        "preceding_diarrhoea": False,
    }
    rows = {(r["score"], r["version"]): r for r in gbs_prognosis(kb, findings)}
    egris = rows[("egris", "at admission")]["result"]
    assert egris["total"] == 1 + 1 + 2
    megos = rows[("megos", "at admission")]["result"]
    assert megos["total"] == 2 + 0 + 4
    assert rows[("megos", "at day 7")]["missing"] == ["mrc_sum_score_day7"]
    assert rows[("egos", "at 2 weeks")]["missing"] == ["gbs_disability_score_2_weeks"]


def test_gbs_prognosis_names_a_refused_finding(kb: KnowledgeBase) -> None:
    findings = {"age_years": 62, "preceding_diarrhoea": True, "gbs_disability_score_2_weeks": 6}
    rows = {(r["score"], r["version"]): r for r in gbs_prognosis(kb, findings)}
    assert "gbs_ds_2_weeks" in rows[("egos", "at 2 weeks")]["refused"]
