"""Second December 2026 pass over the unverified score and PK numbers (issue 19).

Each test names the source key and where in it the value was read. Values read only in later
reproductions stay unverified even when a primary abstract supports part of them.
"""

from __future__ import annotations

import pytest

from ivig.cli import main
from ivig.core.pk import pk_population
from ivig.core.pk_model import parameters_from_population
from ivig.core.pk_optimise import sc_weekly_equivalents
from ivig.core.scores import compute_score
from ivig.knowledge import KnowledgeBase


def _conversion(kb: KnowledgeBase, rule_id: str) -> dict[str, object]:
    rules = kb.data["pk"]["sc_conversions"]
    return dict(next(r for r in rules if r["id"] == rule_id))


def _ref_ids(refs: object) -> list[str]:
    assert isinstance(refs, list)
    return [ref["id"] if isinstance(ref, dict) else ref for ref in refs]


def test_cuvitru_us_factor_1_30_is_verified_from_the_label_holder(kb: KnowledgeBase) -> None:
    """cv-init (cuvitru.com HCP treatment initiation, Takeda): switching from IVIG or HyQvia,
    the weekly dose is the previous dose / weeks between doses x the dose adjustment factor
    1.30."""
    rule = _conversion(kb, "cuvitru_us")
    factor = rule["factor"]
    assert isinstance(factor, dict)
    assert factor["value"] == 1.30 and factor["verified"] is True
    assert "cv-init" in _ref_ids(factor["sources"])
    assert kb.source("cv-init")["tier"] == "primary"


def test_cuvitru_weekly_dose_uses_1_30_and_is_flagged_verified(kb: KnowledgeBase) -> None:
    """cv-init: 40 g IVIG every 4 weeks -> 40 / 4 x 1.30 = 13.0 g of Cuvitru a week."""
    params = parameters_from_population(pk_population(kb, "pi_label"), 8.0)
    rows = sc_weekly_equivalents(kb, params, 40.0, 28.0, 70.0)
    cuvitru = next(r for r in rows if r["id"] == "cuvitru_us")
    assert cuvitru["weekly_sc_dose_g"] == pytest.approx(13.0)
    assert cuvitru["verified"] is True
    hizentra = next(r for r in rows if r["id"] == "hizentra_us")
    assert hizentra["verified"] is False  # 1.37 seen only in secondary copies of the label


def test_mrs_paper_is_cited_by_its_own_abstract_not_a_reproduction(kb: KnowledgeBase) -> None:
    """van-swieten-1988-mrs, abstract (Ovid journal record): the modified Rankin scale has six
    grades (0-5); the JNNP table that gave the wording is now its own secondary source."""
    paper = kb.source("van-swieten-1988-mrs")
    assert "jnnp" not in str(paper.get("url", ""))
    assert "six grades (0-5)" in str(paper["note"])
    assert kb.source("mrs-jnnp-table-reproduction")["tier"] == "secondary"
    grade = next(i for i in kb.score("mrs")["items"] if i["id"] == "grade")
    assert [c["value"] for c in grade["choices"]] == [0, 1, 2, 3, 4, 5, 6]
    assert "mrs-jnnp-table-reproduction" in _ref_ids(grade["sources"])
    assert grade["verified"] is False


def test_mrs_output_still_says_the_grade_wording_is_unverified(kb: KnowledgeBase) -> None:
    """van-swieten-1988-mrs: grade 5 exists in the 1988 paper, its wording was not read there."""
    result = compute_score(kb, "mrs", {"grade": 5})
    assert result["total"] == 5
    assert result["verified"] is False and result["unverified"]


def test_incat_range_cites_hughes_2001_but_stays_unverified(kb: KnowledgeBase) -> None:
    """hughes-2001-incat, abstract: an 11-point disability scale; the end points 0 and 10 are
    not stated there, so the range is still not verified."""
    rng = kb.score("incat")["range"]
    assert (rng["min"], rng["max"]) == (0, 10)
    assert rng["max"] - rng["min"] + 1 == 11
    assert "hughes-2001-incat" in _ref_ids(rng["sources"])
    assert rng["verified"] is False
    assert kb.source("hughes-2001-incat")["tier"] == "primary"


def test_mrc_sum_range_0_to_60_is_verified_in_the_dutch_guideline(kb: KnowledgeBase) -> None:
    """nl-gbs-guideline-scales, MRC sum score: 12 muscle groups graded 0-5, the sum runs from 0
    (paralysis) to 60 (maximal strength)."""
    rng = kb.score("mrc-sum")["range"]
    assert (rng["min"], rng["max"]) == (0, 60) and rng["verified"] is True
    assert "nl-gbs-guideline-scales" in _ref_ids(rng["sources"])
    assert len(kb.score("mrc-sum")["items"]) == 12
    weakest = dict.fromkeys((i["id"] for i in kb.score("mrc-sum")["items"]), 0)
    result = compute_score(kb, "mrc-sum", weakest)
    assert result["total"] == 0 and "range" not in result["unverified"]


@pytest.mark.parametrize(
    ("items", "total", "percent"),
    [
        ({"age_years": 30, "diarrhoea": "no", "gbs_ds_2_weeks": 4}, 4, "10%"),
        ({"age_years": 70, "diarrhoea": "yes", "gbs_ds_2_weeks": 4}, 6, "55%"),
    ],
)
def test_egos_4_and_6_show_the_guideline_probability(
    kb: KnowledgeBase, items: dict[str, object], total: float, percent: str
) -> None:
    """nl-gbs-guideline-scales, EGOS: at a score of 4, 10% cannot walk independently after six
    months; at 6 about 55%."""
    result = compute_score(kb, "egos", items)
    assert result["total"] == total
    single = [b for b in result["interpretation"] if percent in b["label"]]
    assert len(single) == 1 and single[0]["verified"] is True
    assert "nl-gbs-guideline-scales" in result["sources"]


def test_egos_between_the_guideline_points_gets_no_single_probability(kb: KnowledgeBase) -> None:
    """nl-gbs-guideline-scales gives only EGOS 4 and 6: 4.5 shows the 1-83% span alone."""
    result = compute_score(kb, "egos", {"age_years": 50, "diarrhoea": "no", "gbs_ds_2_weeks": 4})
    assert result["total"] == 4.5
    labels = [b["label"] for b in result["interpretation"]]
    assert len(labels) == 1 and "1% to 83%" in labels[0]


def test_cli_score_egos_prints_the_guideline_probability(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """nl-gbs-guideline-scales: ``ivig score egos`` at 6 prints the about-55% meaning."""
    assert main(["score", "egos", "age_years=70", "diarrhoea=yes", "gbs_ds_2_weeks=4"]) == 0
    out = capsys.readouterr().out
    assert "EGOS 6: about 55%" in out
    line = next(x for x in out.splitlines() if "EGOS 6: about 55%" in x)
    assert "unverified" not in line


def test_irods_responder_source_carries_its_real_title(kb: KnowledgeBase) -> None:
    """vanhoutte-2015-irods-mcid, Erasmus repository record: 'Impairment measures versus
    inflammatory RODS in GBS and CIDP: a responsiveness comparison', J Peripher Nerv Syst
    2015;20:289-95; responder = MCID-SE of 1.96 or more (the KB text quotes that cut-off)."""
    source = kb.source("vanhoutte-2015-irods-mcid")
    assert "responsiveness comparison" in source["citation"]
    assert "20(3):289-95" in source["citation"]
    mcid = kb.score("i-rods")["mcid"]
    assert "1.96" in mcid["text"] and "vanhoutte-2015-irods-mcid" in _ref_ids(mcid["sources"])
