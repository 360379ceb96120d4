"""The daily split of a course by risk (``schedule_rules.yaml`` ``daily_split_rules``).

A pharmacist's review: with heart failure (volume load) the plan takes the longest split the
regimen allows and still lists the shorter ones; with thrombosis risk the longer split that
lowers the daily dose is offered and said to do so; the plan names the rule that chose the
split, and a local rule is unverified.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivig.app.recommend import recommend
from ivig.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]


def _example(name: str, **patient: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / name).read_text())
    data = copy.deepcopy(data)
    data["patient"].update(patient)
    return data


def _rule(kb: KnowledgeBase, rule_id: str) -> dict[str, Any]:
    rules = kb.data["schedule_rules"]["daily_split_rules"]
    return dict(next(r for r in rules if r["id"] == rule_id))


def test_the_split_rules_are_local_unverified_rules_with_their_label_sources(
    kb: KnowledgeBase,
) -> None:
    """No primary source in the knowledge base states days for these risks: both rules are
    unverified and cite the local-rule entry beside the label statements they rest on
    (gp5-hcp: minimum rate with volume-overload risk; al-dm, fb10-us: minimum dose and rate
    practicable in thrombotic risk)."""
    volume = _rule(kb, "split-volume-longest")
    thrombosis = _rule(kb, "split-thrombosis-lower-daily-dose")
    assert volume["groups"] == ["volume"] and volume["default"] == "longest"
    assert thrombosis["groups"] == ["thrombosis"] and thrombosis["default"] == "regimen"
    assert thrombosis["offer"] == "longest"
    for rule in (volume, thrombosis):
        ids = [s["id"] for s in rule["sources"]]
        assert rule["verified"] is False and ids[0] == "ivig-daily-split-rules"
        assert kb.source("ivig-daily-split-rules")["kind"] == "local_policy"
    assert {"gp5-hcp", "as-pi8"} <= {s["id"] for s in volume["sources"]}
    assert {"al-dm", "fb10-us"} <= {s["id"] for s in thrombosis["sources"]}


def test_heart_failure_takes_the_five_day_split_and_still_offers_two_days(
    kb: KnowledgeBase,
) -> None:
    """Dermatomyositis, 2 g/kg over 2 to 5 days (regimen default 2 days): with heart failure the
    plan gives 5 days of 0.4 g/kg/day, and lists 2, 3 and 4 days beside it."""
    rec = recommend(kb, _example("dermatomyositis-refractory.yaml", risk_factors=["heart_failure"]))
    dose = rec["dose"]
    assert dose is not None and "split" in dose
    split = dose["split"]
    assert len(dose["days"]) == 5 and split["days"] == 5
    assert dose["g_per_kg_per_day"] == pytest.approx(0.4)
    assert split["rule"] == "split-volume-longest" and "heart_failure" in split["risks"]
    assert "split-volume-longest" in split["reason"]
    options = {o["days"]: o for o in split["options"]}
    assert sorted(options) == [2, 3, 4, 5]
    assert options[5]["chosen"] and not options[2]["chosen"]
    assert options[2]["g_per_kg_per_day"] == pytest.approx(1.0)
    assert options[2]["grams_per_day"] == pytest.approx(dose["total_g"] / 2, abs=0.01)
    trace = next(s for s in dose["steps"] if s["step"] == "days of the split")
    assert trace["inputs"]["rule"] == "split-volume-longest" and trace["result"] == 5
    assert any(u.startswith("daily-split rule split-volume-longest") for u in rec["unverified"])


def test_heart_failure_splits_a_one_gram_maintenance_dose_over_two_days(kb: KnowledgeBase) -> None:
    """CIDP maintenance 1 g/kg over 1 to 2 days (default 1): heart failure gives 2 days of
    0.5 g/kg and offers the 1-day infusion."""
    rec = recommend(kb, _example("cidp-maintenance.yaml", risk_factors=["heart_failure"]))
    assert rec["dose"] is not None
    split = rec["dose"]["split"]
    assert split["days"] == 2 and len(rec["dose"]["days"]) == 2
    assert [o["days"] for o in split["options"] if not o["chosen"]] == [1]
    # the plan's smaller day is what the schedule times: no further split is offered
    assert rec["infusion"] is not None and rec["infusion"]["split_offer"] is None


def test_thrombosis_risk_offers_the_split_that_lowers_the_daily_dose(kb: KnowledgeBase) -> None:
    """Dermatomyositis (a thromboembolic risk on the Octagam label): the regimen's 2 days stay the
    plan; 5 days are offered, and the offer says it lowers the daily dose from 1 to 0.4 g/kg."""
    rec = recommend(kb, _example("dermatomyositis-refractory.yaml"))
    assert rec["dose"] is not None
    split = rec["dose"]["split"]
    assert split["days"] == 2 and len(rec["dose"]["days"]) == 2
    assert split["rule"] == "split-thrombosis-lower-daily-dose" and split["offer"] == 5
    assert "dermatomyositis" in split["risks"]
    offered = next(o for o in split["options"] if o["days"] == 5)
    assert offered["note"] == "offered: lowers the daily dose from 1 to 0.4 g/kg/day"
    assert "lower daily dose" in split["reason"]
    assert any("split-thrombosis-lower-daily-dose" in u for u in rec["unverified"])


def test_a_named_thrombosis_history_offers_the_longer_split_too(kb: KnowledgeBase) -> None:
    rec = recommend(kb, _example("cidp-maintenance.yaml", risk_factors=["thrombosis_history"]))
    assert rec["dose"] is not None
    split = rec["dose"]["split"]
    assert (split["days"], split["offer"]) == (1, 2)
    assert split["risks"] == ["thrombosis_history"]


def test_without_a_risk_the_regimen_default_holds_and_no_rule_is_listed(
    kb: KnowledgeBase,
) -> None:
    rec = recommend(kb, _example("cidp-maintenance.yaml"))
    assert rec["dose"] is not None
    split = rec["dose"]["split"]
    assert (split["days"], split["rule"], split["offer"]) == (1, "regimen-default", None)
    assert not any("daily-split" in u for u in rec["unverified"])


def test_a_fixed_five_day_regimen_is_not_changed_by_a_rule(kb: KnowledgeBase) -> None:
    """GBS 0.4 g/kg/day for 5 days allows only 5 days: the rule that fires (immobility is a
    thrombosis risk) changes nothing and is not listed as used."""
    rec = recommend(kb, _example("gbs-non-ambulant.yaml", risk_factors=["heart_failure"]))
    assert rec["dose"] is not None
    split = rec["dose"]["split"]
    assert split["days"] == 5 and split["changed"] is False
    assert [o["days"] for o in split["options"]] == [5]
    assert not any("daily-split" in u for u in rec["unverified"])


def test_the_validator_reports_a_split_rule_without_a_trigger_or_with_an_unknown_risk(
    kb: KnowledgeBase,
) -> None:
    from ivig.knowledge.schema_products import CHECKS

    data: dict[str, Any] = copy.deepcopy(dict(kb.data))
    rules = data["schedule_rules"]["daily_split_rules"]
    rules[0].pop("groups")
    rules[1]["risk_factors"] = ["not_a_risk"]
    errors: list[str] = []
    for check in CHECKS:
        check(data, lambda f, loc, msg: errors.append(f"{f}: {loc}: {msg}"))
    assert (
        "schedule_rules.yaml: split-volume-longest: a split rule needs groups or risk_factors"
        in errors
    )
    assert (
        "schedule_rules.yaml: split-thrombosis-lower-daily-dose: unknown risk factor 'not_a_risk'"
        in errors
    )
