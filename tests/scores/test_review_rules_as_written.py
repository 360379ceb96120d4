"""The response review reads its timing and thresholds as the sources word them.

Review dates: the first review N weeks after the START of treatment, then at least every M weeks
(on-igum-best-practice, on-igum-neurology); an overdue review is reported as overdue. Verdicts: a
change counts only when it reaches the measure's meaningful change (grip > 8 kPa,
vanhoutte-2013-grip; adjusted INCAT 1 point, hughes-2008-ice; MG-ADL 2 points,
muppidi-2011-mg-adl); no threshold is made up where the knowledge base holds none.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivig.core.review import review_course
from ivig.errors import InputError, MissingFieldError
from ivig.knowledge import KnowledgeBase

HISTORIES = Path(__file__).resolve().parents[2] / "examples" / "histories"

MG_ADL_BASE = {
    "talking": 1,
    "chewing": 1,
    "swallowing": 1,
    "breathing": 1,
    "brushing_teeth_combing_hair": 1,
    "rising_from_chair": 2,
    "double_vision": 1,
    "eyelid_droop": 1,
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HISTORIES / name).read_text())
    return data


def _mg(follow_up: dict[str, int], **extra: Any) -> dict[str, Any]:
    """MG maintenance from 2025-01-06, 1 g/kg every 4 weeks (the pharmacist's mg-hist.yaml)."""
    courses = [
        {"date": d, "phase": "maintenance", "dose_g_per_kg": 1, "interval_weeks": 4}
        for d in ("2025-01-06", "2025-02-03", "2025-03-03", "2025-03-31")
    ]
    return {
        "patient": {"weight_kg": 70},
        "condition": "mg",
        "indication": "mg.maintenance",
        "courses": courses,
        "assessments": [
            {"date": "2025-01-05", "score": "mg-adl", "items": MG_ADL_BASE, "timing": "baseline"},
            {"date": "2025-02-02", "score": "mg-adl", "items": {**MG_ADL_BASE, **follow_up}},
            {"date": "2025-04-20", "score": "mg-adl", "items": {**MG_ADL_BASE, **follow_up}},
        ],
        **extra,
    }


def _grip(history: dict[str, Any], latest_kpa: float) -> dict[str, Any]:
    out = copy.deepcopy(history)
    for entry in out["assessments"]:
        if entry["score"] == "grip-strength" and str(entry["date"]) == "2025-05-12":
            entry["value"] = latest_kpa
    return out


def _row(review: dict[str, Any], score: str) -> dict[str, Any]:
    row: dict[str, Any] = next(r for r in review["measures"] if r["score"] == score)
    return row


# -- review dates --------------------------------------------------------------------------------
def test_cidp_responder_is_reviewed_26_weeks_after_the_start(kb: KnowledgeBase) -> None:
    """ontario-maintenance-review (on-igum-best-practice, item 4): "evaluated 6 months after the
    start of therapy and at minimum annually thereafter": start 2025-01-06 + 26 weeks =
    2025-07-07, not a year after the week-17 assessment (the tool said 2026-05-04)."""
    review = review_course(kb, _load("cidp-responder.yaml"))
    nxt = review["next_review"]
    assert nxt["due"] == "2025-07-07"
    assert nxt["overdue"] is None
    assert nxt["rule"]["rule"] == "ontario-maintenance-review"
    assert "6 months after the start of therapy" in nxt["rule"]["text"]
    assert "on-igum-best-practice" in nxt["rule"]["sources"]
    first = next(s for s in nxt["schedule"] if s["rule"] == "indication cidp.initial")
    assert first["first_review_done"] == "2025-05-05"  # week 17, inside the 17-26 week window


def test_mg_maintenance_first_review_is_at_26_weeks(kb: KnowledgeBase) -> None:
    """mg.maintenance review block (on-igum-neurology: "no later than 6 months after initiation
    and at least annually thereafter", 26 and 52 weeks): an assessment at week 15 is not the
    6-month review; due 2025-07-07 (the tool said 2026-04-19)."""
    nxt = review_course(kb, _mg({"breathing": 0, "rising_from_chair": 1}))["next_review"]
    assert nxt["due"] == "2025-07-07"
    assert nxt["rule"]["rule"] == "indication mg.maintenance"
    assert "on-igum-neurology" in nxt["rule"]["sources"]
    assert any("26 and 52 weeks" in q for q in nxt["rule"]["locators"])


def test_a_dose_change_moves_no_review_date_and_says_so(kb: KnowledgeBase) -> None:
    """mmn.maintenance (on-igum-neurology, on-igum-best-practice): first review 26 weeks after the
    start (2025-01-06 -> 2025-07-07). Neither source says a dose change restarts it (the dose
    rose on 2025-03-31): the date stays and a note says the sources do not say."""
    nxt = review_course(kb, _load("mmn-wearing-off.yaml"))["next_review"]
    assert nxt["due"] == "2025-07-07"
    assert len(nxt["notes"]) == 1
    assert "dose changed on 2025-03-31" in nxt["notes"][0]
    assert "do not say whether a dose change restarts" in nxt["notes"][0]


def test_a_missed_first_review_is_overdue_not_moved(kb: KnowledgeBase) -> None:
    """SPS (au-nba-criteria-sps: 6-month first review) with maintenance (ontario-maintenance-
    review): due 2025-07-07; on 2025-09-01 with no assessment since, it is 8 weeks overdue, and
    no later date replaces it (the tool said 2026-08-31)."""
    history = {
        "condition": "sps",
        "indication": "sps.treatment",
        "as_of": "2025-09-01",
        "courses": [
            {"date": "2025-01-06", "phase": "induction", "dose_g_per_kg": 2, "days": 5},
            {"date": "2025-02-03", "phase": "maintenance", "dose_g_per_kg": 1, "interval_weeks": 4},
        ],
        "assessments": [],
    }
    review = review_course(kb, history)
    nxt = review["next_review"]
    assert nxt["due"] == "2025-07-07"
    assert nxt["overdue"] == {"since": "2025-07-07", "days": 56, "weeks": 8.0}
    assert nxt["basis"].startswith("OVERDUE by 8 weeks (56 days) since 2025-07-07")
    assert "ontario-maintenance-review" in nxt["basis"]
    assert "on-igum-best-practice" in review["sources"]


def test_after_the_first_review_at_least_every_52_weeks(kb: KnowledgeBase) -> None:
    """cidp.maintenance (on-igum-neurology: "at least annually thereafter", 52 weeks): the first
    review was done on 2025-08-25 (after 2025-07-07), so the next is due 52 weeks after that
    assessment, 2026-08-24; on 2026-10-01 it is 38 days overdue."""
    history = {
        "condition": "cidp",
        "indication": "cidp.maintenance",
        "as_of": "2025-09-01",
        "courses": [
            {"date": "2025-01-06", "phase": "induction", "dose_g_per_kg": 2, "days": 5},
            {"date": "2025-01-27", "phase": "maintenance", "dose_g_per_kg": 1, "interval_weeks": 3},
        ],
        "assessments": [
            {"date": "2025-01-05", "score": "grip-strength", "value": 40, "timing": "baseline"},
            {"date": "2025-08-25", "score": "grip-strength", "value": 52},
        ],
    }
    nxt = review_course(kb, history)["next_review"]
    assert (nxt["due"], nxt["overdue"]) == ("2026-08-24", None)
    late = review_course(kb, {**history, "as_of": "2026-10-01"})["next_review"]
    assert late["due"] == "2026-08-24"
    assert late["overdue"] == {"since": "2026-08-24", "days": 38, "weeks": 5.4}


def test_a_window_is_due_when_it_opens_and_overdue_when_it_closes(kb: KnowledgeBase) -> None:
    """cidp.initial first review 17 to 26 weeks after the start (au-nba-criteria-cidp, about
    4 months, unconfirmed; on-igum-neurology, no later than 6 months): start 2025-01-06 -> due
    from 2025-05-05, overdue only after 2025-07-07."""
    history = {
        "condition": "cidp",
        "indication": "cidp.initial",
        "courses": [{"date": "2025-01-06", "phase": "induction", "dose_g_per_kg": 2, "days": 5}],
        "assessments": [
            {"date": "2025-01-05", "score": "grip-strength", "value": 44, "timing": "baseline"},
            {"date": "2025-02-15", "score": "grip-strength", "value": 47},
        ],
    }
    early = review_course(kb, history)["next_review"]
    assert (early["due"], early["overdue"]) == ("2025-05-05", None)
    assert "2025-05-05 to 2025-07-07" in early["basis"]
    open_window = review_course(kb, {**history, "as_of": "2025-06-01"})["next_review"]
    assert (open_window["due"], open_window["overdue"]) == ("2025-05-05", None)
    late = review_course(kb, {**history, "as_of": "2025-07-14"})["next_review"]
    assert late["overdue"] == {"since": "2025-07-07", "days": 7, "weeks": 1.0}


# -- meaningful change ---------------------------------------------------------------------------
def test_grip_noise_and_unchanged_incat_are_no_meaningful_change(kb: KnowledgeBase) -> None:
    """grip 44 -> 45 kPa is below "more than 8 kPa" (grip-responder, vanhoutte-2013-grip) and
    adjusted INCAT 5 -> 5 below 1 point (hughes-2008-ice): no demonstrable benefit after the
    induction and three further doses, so the stop rule applies (stop-without-benefit,
    au-nba-qrg). The tool said "partial" with no next step."""
    review = review_course(kb, _grip(_load("cidp-non-responder.yaml"), 45))
    grip = _row(review, "grip-strength")
    assert grip["status"] == "unchanged"
    assert grip["threshold"]["text"] == "more than 8 kPa"
    assert grip["threshold"]["sources"] == ["vanhoutte-2013-grip"]
    assert _row(review, "adjusted-incat")["status"] == "unchanged"
    assert review["verdict"] == "non_responder"
    reasons = " | ".join(review["reasons"])
    assert "no meaningful change against baseline" in reasons
    assert "+1 kPa is smaller than the meaningful change of more than 8 kPa" in reasons
    assert "vanhoutte-2013-grip" in reasons and "hughes-2008-ice" in reasons
    assert any(s.get("rule") == "stop-without-benefit" for s in review["next_steps"])


def test_a_2_kpa_fall_is_not_called_worse(kb: KnowledgeBase) -> None:
    """grip 44 -> 42 kPa: a fall smaller than 8 kPa (vanhoutte-2013-grip) is no meaningful
    change, not "worse than baseline"."""
    review = review_course(kb, _load("cidp-non-responder.yaml"))
    assert _row(review, "grip-strength")["status"] == "unchanged"
    assert not any("worse than baseline" in r for r in review["reasons"])
    assert "-2 kPa is smaller than the meaningful change" in " ".join(review["reasons"])


@pytest.mark.parametrize(
    ("latest_kpa", "status"),
    [(52, "unchanged"), (53, "responder"), (36, "unchanged"), (35, "deteriorated")],
)
def test_grip_threshold_is_more_than_8_kpa(
    kb: KnowledgeBase, latest_kpa: float, status: str
) -> None:
    """vanhoutte-2013-grip: a change of MORE than 8 kPa (strict) from a 44 kPa baseline."""
    review = review_course(kb, _grip(_load("cidp-non-responder.yaml"), latest_kpa))
    assert _row(review, "grip-strength")["status"] == status


def test_meaningful_worsening_names_its_threshold(kb: KnowledgeBase) -> None:
    """grip 44 -> 35 kPa (-9 kPa): the improvement threshold of grip-responder applied to
    worsening, said so (no deterioration rule for grip in the knowledge base)."""
    review = review_course(kb, _grip(_load("cidp-non-responder.yaml"), 35))
    assert review["verdict"] == "non_responder"
    assert review["reasons"][0].startswith("meaningful worsening on grip-strength")
    row = _row(review, "grip-strength")
    assert row["deterioration_threshold"]["applied_to_worsening"] is True
    assert "improvement threshold applied to worsening" in row["judgement"]


@pytest.mark.parametrize(
    ("follow_up", "status"),
    [({"breathing": 0}, "unchanged"), ({"breathing": 0, "rising_from_chair": 1}, "responder")],
)
def test_mg_adl_meaningful_change_is_2_points(
    kb: KnowledgeBase, follow_up: dict[str, int], status: str
) -> None:
    """muppidi-2011-mg-adl: an improvement of 2 points or more; 1 point is no meaningful change
    (reported as too early at week 15 of maintenance, first review at 26 weeks)."""
    review = review_course(kb, _mg(follow_up))
    row = _row(review, "mg-adl")
    expected = "too_early" if status == "unchanged" else status
    assert row["status"] == expected
    assert row["threshold"]["text"] == "2 points or more"
    assert row["threshold"]["sources"] == ["muppidi-2011-mg-adl"]


def test_a_measure_without_a_threshold_is_not_judged(kb: KnowledgeBase) -> None:
    """The knowledge base holds no meaningful-change value for the MRC sum score (mrc-sum
    not_encoded) nor QMG (qmg not_encoded): their changes are reported, not judged, and the
    review says so instead of inventing one."""
    mrc = {
        f"{m}_{side}": 3
        for m in (
            "shoulder_abduction",
            "elbow_flexion",
            "wrist_extension",
            "hip_flexion",
            "knee_extension",
            "ankle_dorsiflexion",
        )
        for side in ("left", "right")
    }
    better = {**mrc, "hip_flexion_left": 5, "hip_flexion_right": 5}
    history = {
        "condition": "mg",
        "indication": "mg.maintenance",
        "courses": [
            {"date": "2025-01-06", "phase": "maintenance", "dose_g_per_kg": 1, "interval_weeks": 4}
        ],
        "assessments": [
            {"date": "2025-01-05", "score": "mrc-sum", "items": mrc, "timing": "baseline"},
            {"date": "2025-01-05", "score": "qmg", "value": 14, "timing": "baseline"},
            {"date": "2025-08-04", "score": "mrc-sum", "items": better},
            {"date": "2025-08-04", "score": "qmg", "value": 11},
        ],
    }
    review = review_course(kb, history)
    for score in ("mrc-sum", "qmg"):
        row = _row(review, score)
        assert row["status"] == "no_threshold"
        assert row["threshold"] is None
        assert "holds no meaningful-change value" in row["judgement"]
    assert review["verdict"] == "insufficient_data"
    assert "no measure recorded has a meaningful-change value" in review["reasons"][0]
    actions = " | ".join(s["action"] for s in review["next_steps"])
    assert "mrc-sum (+4 points)" in actions and "qmg (+3 points)" in actions
    assert "judge that change clinically" in actions


def test_too_early_says_when_to_reassess(kb: KnowledgeBase) -> None:
    """cidp.initial: response is judged from week 17 (first_review_weeks min); grip +3 kPa at
    week 6 is too early, and the next step says so rather than asking for a baseline."""
    history = {
        "condition": "cidp",
        "indication": "cidp.initial",
        "courses": [{"date": "2025-01-06", "phase": "induction", "dose_g_per_kg": 2, "days": 5}],
        "assessments": [
            {"date": "2025-01-05", "score": "grip-strength", "value": 44, "timing": "baseline"},
            {"date": "2025-02-15", "score": "grip-strength", "value": 47},
        ],
    }
    review = review_course(kb, history)
    assert review["verdict"] == "insufficient_data"
    assert review["next_steps"][0]["action"].startswith("Too early to judge")
    assert "week 17" in review["next_steps"][0]["action"]


# -- totals and items ----------------------------------------------------------------------------
def test_a_sum_score_given_as_a_total_names_the_items_it_needs(kb: KnowledgeBase) -> None:
    """MG-ADL is the sum of its 8 items (mg-adl record): a total is refused with the items."""
    history = _mg({})
    history["assessments"][0] = {"date": "2025-01-05", "score": "mg-adl", "value": 9}
    with pytest.raises(InputError) as caught:
        review_course(kb, history)
    text = str(caught.value)
    assert caught.value.field == "assessments[0].value"
    assert "8 item scores of mg-adl" in text and "eyelid_droop" in text
    assert "a total alone is not accepted" in text and "qmg" in text


def test_an_assessment_without_items_says_items(kb: KnowledgeBase) -> None:
    history = _mg({})
    history["assessments"][0] = {"date": "2025-01-05", "score": "mg-adl"}
    with pytest.raises(MissingFieldError) as caught:
        review_course(kb, history)
    assert caught.value.field == "assessments[0].items"
    assert "talking" in str(caught.value)


def test_a_single_item_measure_takes_its_total(kb: KnowledgeBase) -> None:
    """QMG is entered as the total (qmg record: "Enter the total only")."""
    history = _mg({})
    history["assessments"] = [
        {"date": "2025-01-05", "score": "qmg", "value": 14, "timing": "baseline"},
        {"date": "2025-02-02", "score": "qmg", "value": 12},
    ]
    assert _row(review_course(kb, history), "qmg")["latest"]["value"] == 12
