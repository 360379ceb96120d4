"""Response review over the bundled course histories and edge cases.

Expected verdicts: responder = adjusted INCAT improvement of 1 point or more (hughes-2008-ice,
procid-responder) or grip > 8 kPa (vanhoutte-2013-grip); taper steps 90/75/50/25/0 % every
12 weeks (cidp-scig-taper, unverified); fluctuation = worsening of 1 GBS grade after
improvement within 8 weeks of onset (kleyweg-1991-trf, ruts-2010-trf); no meaningful change
after the first review window = no demonstrable benefit (stop-without-benefit, au-nba-qrg). Next
review: 26 weeks after the start of treatment (on-igum-best-practice, on-igum-neurology), after
a taper step its 12 weeks (cidp-scig-taper), now for a fluctuation. The dates and thresholds
themselves: test_review_rules_as_written.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ivig.core.review import VERDICTS, review_course
from ivig.errors import InputError, MissingFieldError
from ivig.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
HISTORIES = ROOT / "examples" / "histories"
EXPECTED = yaml.safe_load((Path(__file__).parent / "data" / "review_expectations.yaml").read_text())


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HISTORIES / name).read_text())
    return data


def test_every_bundled_history_has_an_expectation() -> None:
    assert sorted(p.name for p in HISTORIES.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_history(kb: KnowledgeBase, name: str) -> None:
    want = EXPECTED[name]
    review = review_course(kb, _load(name))
    assert review["verdict"] == want["verdict"]
    assert review["verdict"] in VERDICTS
    for rule in want.get("rules", []):
        assert rule in review["rules_used"]
    found = review["findings"]
    if "stable" in want:
        assert found["stable"] is want["stable"]
    if "wearing_off" in want:
        assert (
            bool(found["wearing_off"] and found["wearing_off"]["detected"]) is want["wearing_off"]
        )
    if "dose_creep" in want:
        assert bool(found["dose_creep"] and found["dose_creep"]["detected"]) is want["dose_creep"]
    if "trf" in want:
        assert found["fluctuation"]["trf"] is want["trf"]
    if "next_review_due" in want:
        assert review["next_review"]["due"] == want["next_review_due"]
    if "next_step_contains" in want:
        actions = " | ".join(s["action"] for s in review["next_steps"])
        assert want["next_step_contains"] in actions
    assert review["knowledge_version"] == kb.version
    assert review["sources"]


def test_unverified_rules_are_reported(kb: KnowledgeBase) -> None:
    """The end-of-dose cycle count is a local convention (ivig-review-conventions), unverified."""
    review = review_course(kb, _load("mmn-wearing-off.yaml"))
    assert any("end-of-dose-wearing-off" in u for u in review["unverified"])


def test_taper_after_a_step_offers_the_next_lower_step(kb: KnowledgeBase) -> None:
    """At 90 % for 12 stable weeks the next step is 75 % (cidp-scig-taper)."""
    history = _load("cidp-stable-then-taper.yaml")
    history["courses"] += [
        {"date": "2025-09-15", "phase": "maintenance", "dose_g_per_kg": 0.9, "interval_weeks": 3},
        {"date": "2025-10-06", "phase": "maintenance", "dose_g_per_kg": 0.9, "interval_weeks": 3},
    ]
    history["assessments"] += [
        {"date": "2025-10-20", "score": "adjusted-incat", "items": {"arm": 0, "leg": 1}},
        {"date": "2025-12-29", "score": "adjusted-incat", "items": {"arm": 0, "leg": 1}},
    ]
    history["as_of"] = "2025-12-29"
    review = review_course(kb, history)
    assert review["findings"]["stable"] is True
    assert "75% of the stable dose" in " ".join(s["action"] for s in review["next_steps"])


def test_relapse_during_maintenance_is_not_stable(kb: KnowledgeBase) -> None:
    """A 1-point rise of adjusted INCAT is a relapse (path-extension-2019): no taper."""
    history = _load("cidp-stable-then-taper.yaml")
    history["assessments"][-1] = {
        "date": "2025-08-25",
        "score": "adjusted-incat",
        "items": {"arm": 1, "leg": 2},
    }
    review = review_course(kb, history)
    assert review["findings"]["stable"] is False


def test_no_baseline_gives_insufficient_data(kb: KnowledgeBase) -> None:
    history = _load("cidp-responder.yaml")
    history["assessments"] = [a for a in history["assessments"] if a.get("timing") != "baseline"]
    review = review_course(kb, history)
    assert review["verdict"] == "insufficient_data"
    assert review["next_steps"][0]["action"].startswith("Record baseline")


def test_gbs_without_fluctuation_has_no_trf(kb: KnowledgeBase) -> None:
    history = _load("gbs-fluctuation.yaml")
    history["assessments"][-1] = {"date": "2025-03-27", "score": "gbs-disability", "value": 2}
    review = review_course(kb, history)
    assert review["findings"]["fluctuation"]["trf"] is False
    assert review["verdict"] == "responder"


def test_late_deterioration_flags_acute_onset_cidp(kb: KnowledgeBase) -> None:
    """Deterioration 8 weeks or more after onset suggests acute-onset CIDP (ruts-2010-trf)."""
    history = _load("gbs-fluctuation.yaml")
    history["assessments"][-1] = {"date": "2025-05-10", "score": "gbs-disability", "value": 4}
    review = review_course(kb, history)
    assert review["findings"]["fluctuation"]["acute_onset_cidp"] is True
    assert "acute-onset-cidp" in review["rules_used"]


@pytest.mark.parametrize(
    ("patch", "error"),
    [
        ({"condition": None}, MissingFieldError),
        ({"courses": [{"date": "2025-13-01", "dose_g_per_kg": 1}]}, InputError),
        ({"courses": [{"date": "2025-01-01", "dose_g_per_kg": -1}]}, InputError),
        (
            {
                "assessments": [
                    {"date": "2025-01-01", "score": "incat", "items": {"arm": 9, "leg": 0}}
                ]
            },
            InputError,
        ),
        (
            {
                "assessments": [
                    {"date": "2025-01-01", "score": "grip-strength", "value": 40, "timing": "noon"}
                ]
            },
            InputError,
        ),
    ],
)
def test_bad_history_is_refused(kb: KnowledgeBase, patch: dict[str, Any], error: type) -> None:
    history = {**_load("cidp-responder.yaml"), **patch}
    with pytest.raises(error):
        review_course(kb, history)


@pytest.mark.parametrize("name", sorted(p.name for p in HISTORIES.glob("*.yaml")))
def test_every_bundled_history_sets_the_next_review(kb: KnowledgeBase, name: str) -> None:
    """on-igum-neurology ("assess no later than 6 months, then at least annually") and the
    Australian review periods give every bundled indication a review date."""
    history = yaml.safe_load((HISTORIES / name).read_text())
    nxt = review_course(kb, history)["next_review"]
    assert nxt["due"] is not None, nxt["basis"]


def test_dm_has_the_ontario_annual_review(kb: KnowledgeBase) -> None:
    """on-igum-neurology chronic use review: then at least annually (52 weeks)."""
    review = kb.indication("dermatomyositis.refractory")["review"]
    assert review["interval_weeks"] == {"min": 52, "max": 52}
