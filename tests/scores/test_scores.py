"""Scores: worked examples, boundaries, refusals and properties (every number from the data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.core.scores import compute_change, compute_score, list_scores, parse_item_value
from ivig.errors import InputError, MissingFieldError, UnknownIdError
from ivig.knowledge import KnowledgeBase
from ivig.knowledge.schema_scores import check_scores

DATA = Path(__file__).parent / "data"
EXAMPLES = yaml.safe_load((DATA / "score_examples.yaml").read_text())
CONTRACT_IDS = [
    "gbs-disability",
    "mrc-sum",
    "egos",
    "megos",
    "egris",
    "incat",
    "adjusted-incat",
    "i-rods",
    "grip-strength",
    "onls",
    "mg-adl",
    "qmg",
    "mg-composite",
    "mgfa-class",
    "mrs",
    "arr",
    "cfss",
]


def test_every_contract_score_id_exists(kb: KnowledgeBase) -> None:
    """Condition records refer to these ids in their review measures (issue 6 contract)."""
    ids = {s["id"] for s in list_scores(kb)}
    assert set(CONTRACT_IDS) <= ids


def test_score_files_validate_without_errors() -> None:
    """No validation error points at a score file or the scores bibliography."""
    from ivig.knowledge.validate import validate_directory

    _, errors = validate_directory()
    mine = [e for e in errors if e.startswith(("scores", "sources/scores"))]
    assert mine == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e['score']}-{e['total']}")
def test_worked_example(kb: KnowledgeBase, example: dict[str, Any]) -> None:
    """Totals and bands of the worked examples; each example names its source id."""
    result = compute_score(kb, example["score"], example["items"])
    if isinstance(example["total"], str):
        assert result["total"] == example["total"]
        assert result["rank"] == example["rank"]
    else:
        assert result["total"] == pytest.approx(example["total"], abs=5e-5)
    labels = " | ".join(b["label"] for b in result["interpretation"])
    for fragment in example.get("interpretation", []):
        assert fragment in labels
    if example.get("interpretation") == []:
        assert result["interpretation"] == []
    assert example["source"] in _all_sources(kb, example["score"])


def _all_sources(kb: KnowledgeBase, score_id: str) -> list[str]:
    score = kb.score(score_id)
    refs = [r["id"] for r in score["sources"]]
    for band in score.get("interpretation", []):
        refs += [r["id"] for r in band["sources"]]
    for item in score["items"]:
        refs += [r["id"] for r in item["sources"]]
    return refs


def _extreme_items(score: dict[str, Any], pick: Any) -> dict[str, Any] | None:
    items = {}
    for item in score["items"]:
        if "choices" in item:
            values = [c["value"] for c in item["choices"]]
            if not all(isinstance(v, int) for v in values):
                return None
            items[item["id"]] = pick(values)
        elif "min" in item and "max" in item:
            items[item["id"]] = pick([item["min"], item["max"]])
        else:
            return None
    return items


def test_boundaries_reach_the_range(kb: KnowledgeBase) -> None:
    """The lowest and highest item values give the published range ends (range from the data),
    for every score with a closed range summed from its items."""
    checked = []
    for score_id in CONTRACT_IDS:
        score = kb.score(score_id)
        if score["method"] not in ("sum", "single") or "range" not in score:
            continue  # rates, classifications and prognostic models have no closed item range
        rng = score["range"]
        low_items = _extreme_items(dict(score), min)
        high_items = _extreme_items(dict(score), max)
        if low_items is None or high_items is None or "max" not in rng:
            continue
        assert compute_score(kb, score_id, low_items)["total"] == rng["min"], score_id
        assert compute_score(kb, score_id, high_items)["total"] == rng["max"], score_id
        checked.append(score_id)
    assert {"incat", "mg-adl", "mrc-sum", "gbs-disability"} <= set(checked)


def test_every_band_of_every_score_is_reachable(kb: KnowledgeBase) -> None:
    """Each interpretation band fires for a total at its lower bound."""
    for score in list_scores(kb):
        if score["method"] != "single" or score["kind"] == "measurement":
            continue
        item = score["items"][0]
        for band in score.get("interpretation", []):
            value = int(band["min"]) if item.get("integer") or "choices" in item else band["min"]
            result = compute_score(kb, score["id"], {item["id"]: value})
            assert band["label"] in [b["label"] for b in result["interpretation"]]


def test_unknown_item_is_refused_with_the_allowed_names(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as err:
        compute_score(kb, "incat", {"arm": 1, "leg": 1, "hand": 2})
    assert "hand" in str(err.value) and "arm, leg" in str(err.value)


def test_out_of_range_value_is_refused_never_clamped(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as err:
        compute_score(kb, "incat", {"arm": 6, "leg": 1})
    assert "incat.arm" in str(err.value) and "0, 1, 2, 3, 4, 5" in str(err.value)


def test_missing_item_is_named(kb: KnowledgeBase) -> None:
    with pytest.raises(MissingFieldError) as err:
        compute_score(kb, "incat", {"arm": 1})
    assert "incat.leg" in str(err.value)


def test_non_numeric_and_fractional_values_are_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError):
        compute_score(kb, "grip-strength", {"kpa": "strong"})
    with pytest.raises(InputError):
        compute_score(kb, "arr", {"relapses": 1.5, "follow_up_years": 2})
    with pytest.raises(InputError):
        compute_score(kb, "arr", {"relapses": 1, "follow_up_years": 0})
    with pytest.raises(InputError):
        compute_score(kb, "grip-strength", {"kpa": -1})


def test_unknown_score_suggests_near_ids(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownIdError) as err:
        compute_score(kb, "incatt", {})
    assert "incat" in str(err.value)


def test_review_rules_are_not_scores(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError):
        compute_score(kb, "review-rules", {})
    assert kb.data["review_rules"] and all("kind" in r for r in kb.data["review_rules"])


def test_mcid_values_come_from_their_sources(kb: KnowledgeBase) -> None:
    """MG-ADL 2 (muppidi-2011-mg-adl), grip > 8 kPa (vanhoutte-2013-grip), MGC 3 (burns-2010)."""
    adl = compute_score(kb, "mg-adl", dict.fromkeys(_ids(kb, "mg-adl"), 0))["mcid"]
    assert (adl["value"], adl["strict"]) == (2, False)
    grip = compute_score(kb, "grip-strength", {"kpa": 50})["mcid"]
    assert (grip["value"], grip["strict"]) == (8, True)
    mgc = compute_score(kb, "mg-composite", dict.fromkeys(_ids(kb, "mg-composite"), 0))
    assert mgc["mcid"]["value"] == 3


def _ids(kb: KnowledgeBase, score_id: str) -> list[str]:
    return [i["id"] for i in kb.score(score_id)["items"]]


def test_adjusted_incat_ignores_arm_change_between_0_and_1(kb: KnowledgeBase) -> None:
    """Adjusted INCAT: change of the arm grade between 0 and 1 is not counted
    (cidp-outcome-measures-table)."""
    change = compute_change(kb, "adjusted-incat", {"arm": 1, "leg": 3}, {"arm": 0, "leg": 2})
    assert change["change"] == 1 and change["raw_change"] == 2
    assert change["adjusted_items"] == ["arm"]
    counted = compute_change(kb, "adjusted-incat", {"arm": 2, "leg": 3}, {"arm": 1, "leg": 3})
    assert counted["change"] == 1
    plain = compute_change(kb, "incat", {"arm": 1, "leg": 3}, {"arm": 0, "leg": 2})
    assert plain["change"] == 2


def test_parse_item_value_accepts_text_from_the_command_line(kb: KnowledgeBase) -> None:
    item = kb.score("incat")["items"][0]
    assert parse_item_value("incat", item, "3") == 3
    cls = kb.score("mgfa-class")["items"][0]
    assert parse_item_value("mgfa-class", cls, "ivb") == "IVb"


def test_check_scores_reports_inconsistent_records() -> None:
    bad = {
        "scores": [
            {
                "id": "x",
                "kind": "scale",
                "method": "sum",
                "items": [{"id": "a", "choices": [{"value": 0}, {"value": 0}], "min": 0}],
                "range": {"min": 0, "max": 9},
            },
        ],
        "review_rules": [{"id": "q", "measure": "nope"}],
    }
    errors: list[str] = []
    check_scores(bad, lambda f, loc, msg: errors.append(f"{f}: {loc}: {msg}"))
    text = "\n".join(errors)
    assert "either 'choices'" in text and "duplicate choice" in text
    assert "unknown measure 'nope'" in text


def _sum_scores(kb: KnowledgeBase) -> list[dict[str, Any]]:
    return [dict(s) for s in list_scores(kb) if s["method"] == "sum"]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_total_within_range_and_monotonic(kb: KnowledgeBase, data: st.DataObject) -> None:
    """Property: any valid items give a total inside the range; raising one item never lowers
    the total of a summed scale."""
    score = data.draw(st.sampled_from(_sum_scores(kb)))
    items = {
        i["id"]: data.draw(st.sampled_from([c["value"] for c in i["choices"]]))
        for i in score["items"]
    }
    total = compute_score(kb, score["id"], items)["total"]
    assert score["range"]["min"] <= total <= score["range"]["max"]
    target = data.draw(st.sampled_from(score["items"]))
    higher = [c["value"] for c in target["choices"] if c["value"] > items[target["id"]]]
    if higher:
        bumped = {**items, target["id"]: data.draw(st.sampled_from(higher))}
        assert compute_score(kb, score["id"], bumped)["total"] > total
