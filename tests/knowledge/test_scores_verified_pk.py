"""PK numbers checked in the December 2026 pass (issue 19)."""

from __future__ import annotations

from ivig.knowledge import KnowledgeBase


def _population(kb: KnowledgeBase, population_id: str) -> dict[str, object]:
    populations = kb.data["pk"]["populations"]
    return dict(next(p for p in populations if p["id"] == population_id))


def test_cidp_between_patient_cv_is_the_published_20_percent(kb: KnowledgeBase) -> None:
    """pk-kuitwaard-2013, abstract: inter-patient variability of the rise in IgG on the same
    dose and interval, mean CV 20%; used as the CV on the volumes and now verified."""
    variability = _population(kb, "cidp")["variability"]
    assert isinstance(variability, list)
    volumes = next(v for v in variability if v["parameter"] == "volumes")
    assert volumes["cv"] == 0.2 and volumes["verified"] is True
    assert [ref["id"] for ref in volumes["sources"]] == ["pk-kuitwaard-2013"]


def test_privigen_three_week_figures_say_they_rest_on_three_subjects(kb: KnowledgeBase) -> None:
    """pk-privigen-us-label (RxList copy, text before Table 4): of the 25 PK subjects, 3 were on
    the 3-week interval and 22 on the 4-week interval; the old text said n = 25."""
    references = {r["id"]: r for r in kb.data["pk"]["references"]}
    for ref_id in ("privigen_trough_3w", "privigen_peak_3w"):
        assert "n = 25" not in references[ref_id]["description"]
        assert "3 of the label's 25" in references[ref_id]["description"]
    assert "22 of the label's 25" in references["privigen_trough_4w"]["description"]
    assert references["privigen_trough_3w"]["verified"] is False
