"""Second December 2026 pass over the unverified score and PK numbers (issue 19).

Each test names the source key and where in it the value was read. Values read only in later
reproductions stay unverified even when a primary abstract supports part of them.
"""

from __future__ import annotations

import pytest

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
