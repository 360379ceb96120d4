"""Score numbers checked against their primary papers in the December 2026 pass (issue 19).

Each test names the source key and where in it the value was read. Numbers that could only be
seen in secondary copies (the GBS point tables, the MG Composite weights) must stay unverified,
and no per-score probability may come from the EGRIS, mEGOS or EGOS papers, because none was
read in them (the two EGOS points shown come from the Dutch guideline).
"""

from __future__ import annotations

import pytest

from ivig.core.scores import compute_score
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase


def _item(kb: KnowledgeBase, score_id: str, item_id: str) -> dict[str, object]:
    item = next(i for i in kb.score(score_id)["items"] if i["id"] == item_id)
    return dict(item)


def _grades(kb: KnowledgeBase, score_id: str, item_id: str) -> list[object]:
    choices = _item(kb, score_id, item_id)["choices"]
    assert isinstance(choices, list)
    return [c["value"] for c in choices]


def _source_ids(record: dict[str, object]) -> list[str]:
    refs = record["sources"]
    assert isinstance(refs, list)
    return [ref["id"] for ref in refs]


def test_onls_arm_is_graded_0_to_5_and_leg_0_to_7(kb: KnowledgeBase) -> None:
    """graham-hughes-2006-onls, introduction: upper limb scored 0 to 5, lower limb 0 to 7."""
    assert _grades(kb, "onls", "arm") == [0, 1, 2, 3, 4, 5]
    assert _grades(kb, "onls", "leg") == [0, 1, 2, 3, 4, 5, 6, 7]
    for item_id in ("arm", "leg"):
        item = _item(kb, "onls", item_id)
        assert item["verified"] is True
        assert "graham-hughes-2006-onls" in _source_ids(item)
    assert kb.source("graham-hughes-2006-onls")["tier"] == "primary"


def test_onls_leg_zero_needs_running_and_stairs_unaffected(kb: KnowledgeBase) -> None:
    """graham-hughes-2006-onls, introduction: a lower-limb 0 on the ONLS needs no difficulty
    with running or climbing stairs as well as walking (the old label said only walking)."""
    result = compute_score(kb, "onls", {"arm": 0, "leg": 0})
    leg = next(row for row in result["items"] if row["id"] == "leg")
    assert "running" in leg["label"] and "stairs" in leg["label"]


def test_onls_top_grades_mean_no_purposeful_movement(kb: KnowledgeBase) -> None:
    """graham-hughes-2006-onls, introduction: a score of 5 (arm) or 7 (leg) indicates no
    purposeful movement; total 5 + 7 = 12."""
    result = compute_score(kb, "onls", {"arm": 5, "leg": 7})
    assert result["total"] == 12
    assert result["range"] == {"min": 0, "max": 12}
    labels = {row["id"]: row["label"] for row in result["items"]}
    assert "no purposeful movement" in labels["arm"]
    assert "no purposeful movement" in labels["leg"]
    assert result["verified"] is True and result["unverified"] == []


def test_onls_refuses_a_leg_grade_above_7(kb: KnowledgeBase) -> None:
    """graham-hughes-2006-onls: the lower-limb section stops at 7."""
    with pytest.raises(InputError, match="leg"):
        compute_score(kb, "onls", {"arm": 0, "leg": 8})


def test_qmg_range_0_to_39_is_verified(kb: KnowledgeBase) -> None:
    """sharshar-2000-qmg-mms, abstract: the QMG strength score ranges from 0 (normal) to 39."""
    score = kb.score("qmg")
    assert (score["range"]["min"], score["range"]["max"]) == (0, 39)
    assert score["range"]["verified"] is True
    result = compute_score(kb, "qmg", {"total": 39})
    assert result["total"] == 39 and result["unverified"] == []
    with pytest.raises(InputError, match="total"):
        compute_score(kb, "qmg", {"total": 40})


def test_qmg_items_stay_unencoded(kb: KnowledgeBase) -> None:
    """sharshar-2000-qmg-mms gives the range only: the 13 items were not read in a primary
    source, so the score as a whole stays unverified."""
    assert kb.score("qmg")["verified"] is False
    assert [i["id"] for i in kb.score("qmg")["items"]] == ["total"]


@pytest.mark.parametrize("score_id", ["egris", "megos", "egos"])
def test_gbs_point_tables_stay_unverified(kb: KnowledgeBase, score_id: str) -> None:
    """walgaard-2010-egris, walgaard-2011-megos, van-koningsveld-2007-egos: the point tables
    could not be read in the papers, so every pointed item stays unverified."""
    pointed = [i for i in kb.score(score_id)["items"] if "points" in i or i.get("choices")]
    weighted = [i for i in pointed if i["id"] != "timepoint"]
    assert weighted and all(i["verified"] is False for i in weighted)


@pytest.mark.parametrize("score_id", ["egris", "megos", "egos"])
def test_no_per_score_probability_from_the_papers(kb: KnowledgeBase, score_id: str) -> None:
    """No per-score probability was read in walgaard-2010-egris, walgaard-2011-megos or
    van-koningsveld-2007-egos: every band that spans a single score rests on another primary
    source (the Dutch guideline's EGOS 4 and 6 figures, nl-gbs-guideline-scales), never on
    the papers or on secondary copies."""
    for band in kb.score(score_id).get("interpretation", []):
        if band["max"] == band["min"]:
            assert _source_ids(dict(band)) == ["nl-gbs-guideline-scales"], band["label"]
    assert "December 2026" in kb.score(score_id)["not_encoded"]


def test_mg_composite_weights_stay_unverified(kb: KnowledgeBase) -> None:
    """burns-2010-mg-composite and burns-2012-mgc-overview give the item make-up (three ocular,
    three bulbar, one respiratory, one neck, two limb) but not the weights."""
    score = kb.score("mg-composite")
    assert len(score["items"]) == 10
    assert all(item["verified"] is False for item in score["items"])
    assert "burns-2012-mgc-overview" in _source_ids(dict(score))


def test_incat_is_not_called_odss(kb: KnowledgeBase) -> None:
    """graham-hughes-2006-onls, introduction: the ODSS scores the lower limb 0 to 7, while the
    INCAT disability scale (incat-table-reproduction, table 2) stops at leg grade 5, so 'ODSS'
    is no longer a synonym of the 0-10 INCAT scale (it was)."""
    score = kb.score("incat")
    assert not any("ODSS" in synonym for synonym in score.get("synonyms", []))
    assert _grades(kb, "incat", "leg") == [0, 1, 2, 3, 4, 5]
    assert (score["range"]["min"], score["range"]["max"]) == (0, 10)
    assert "graham-hughes-2006-onls" in _source_ids(dict(score))


def test_mg_adl_grades_are_worded(kb: KnowledgeBase) -> None:
    """bmc-neurol-2020-mg-adl, table 2: breathing grade 3 is ventilator dependence and eyelid
    droop grade 1 occurs but not daily (the labels were 'grade 1'-'grade 3')."""
    result = compute_score(
        kb,
        "mg-adl",
        {
            "talking": 0,
            "chewing": 0,
            "swallowing": 0,
            "breathing": 3,
            "brushing_teeth_combing_hair": 0,
            "rising_from_chair": 0,
            "double_vision": 0,
            "eyelid_droop": 1,
        },
    )
    labels = {row["id"]: row["label"] for row in result["items"]}
    assert labels["breathing"] == "ventilator dependence"
    assert labels["eyelid_droop"] == "occurs, but not daily"
    assert result["total"] == 4
    assert not any(label.startswith("grade ") for label in labels.values())
