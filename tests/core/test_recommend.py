"""``recommend``: the bundled examples give the expected answer; all else answers or refuses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from ivig.app.recommend import recommend
from ivig.contract import validate_request
from ivig.errors import InputError, InvalidRequestError, UnknownIdError
from ivig.knowledge import KnowledgeBase
from ivig.results import Recommendation

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = yaml.safe_load((ROOT / "tests/data/recommend_expected.yaml").read_text())
CONTRACT = TypeAdapter(Recommendation)


def run(kb: KnowledgeBase, data: dict[str, Any]) -> dict[str, Any]:
    return dict(recommend(kb, data))


@pytest.mark.parametrize("case", EXPECTED, ids=lambda c: c["example"])
def test_bundled_examples(kb: KnowledgeBase, case: dict[str, Any]) -> None:
    """Each example's status, dose and first product (tests/data/recommend_expected.yaml)."""
    data = yaml.safe_load((ROOT / "examples" / case["example"]).read_text())
    rec = run(kb, data)
    CONTRACT.validate_python(rec)
    assert rec["eligibility"]["status"] == case["status"]
    if "indication" in case:
        assert rec["eligibility"]["indication"] == case["indication"]
    if "role" in case:
        assert rec["eligibility"]["role"] == case["role"]
    if case.get("total_g") is None:
        assert rec["dose"] is None and rec["infusion"] is None
    else:
        assert rec["dose"]["total_g"] == pytest.approx(case["total_g"], abs=0.5)
        assert rec["dose"]["g_per_kg"] == case["g_per_kg"]
        assert len(rec["dose"]["days"]) == case["days"]
    if "first_product" in case:
        assert rec["products"][0]["id"] == case["first_product"]
    if "dosing_weight_method" in case:
        assert rec["dosing_weight"]["method"] == case["dosing_weight_method"]
    for name in case.get("missing", []):
        assert name in {m["name"] for m in rec["eligibility"]["missing"]}
    assert rec["sources"] and rec["knowledge_version"] and rec["disclaimer"]


def test_gbs_issue_example(kb: KnowledgeBase) -> None:
    """Issue 5: GBS unable to walk, 5 days from onset, 85 kg: supported, first-line, 2 g/kg."""
    rec = run(
        kb,
        {
            "patient": {"sex": "male", "age_years": 50, "weight_kg": 85, "height_cm": 180},
            "condition": "gbs",
            "phase": "induction",
            "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
        },
    )
    el = rec["eligibility"]
    assert el["status"] == "supported" and el["role"] == "first_line"
    assert rec["dose"]["g_per_kg"] == 2 and len(rec["dose"]["days"]) >= 2
    assert all(ev["sources"] for ev in el["evidence"])


def test_missing_findings_are_listed_exactly(kb: KnowledgeBase) -> None:
    rec = run(
        kb,
        {
            "patient": {"sex": "male", "age_years": 50, "weight_kg": 85},
            "condition": "gbs",
            "indication": "gbs.initial",
            "phase": "induction",
        },
    )
    el = rec["eligibility"]
    assert el["status"] == "insufficient_information"
    names = {m["name"] for m in el["missing"]}
    assert names == {"able_to_walk_unaided", "days_since_onset"}
    onset = next(m for m in el["missing"] if m["name"] == "days_since_onset")
    assert onset["type"] == "int" and onset["unit"] == "days"
    # the plan is computed anyway, marked provisional (issue 14)
    assert rec["plan_status"] == "provisional" and rec["dose"]["total_g"] == 170
    confirm = "the criteria of gbs.initial: able_to_walk_unaided, days_since_onset"
    assert rec["to_confirm"] == [confirm]
    assert rec["warnings"][0].startswith("provisional plan: before authorisation confirm")


def test_unmet_criterion_is_not_supported(kb: KnowledgeBase) -> None:
    rec = run(
        kb,
        {
            "patient": {"sex": "male", "age_years": 50, "weight_kg": 85},
            "condition": "gbs",
            "indication": "gbs.initial",
            "phase": "induction",
            "findings": {"able_to_walk_unaided": False, "days_since_onset": 40},
        },
    )
    assert rec["eligibility"]["status"] == "not_supported"
    assert rec["eligibility"]["unmet"] and rec["dose"] is None
    assert rec["eligibility"]["alternatives"]


def test_evidence_of_jurisdiction_comes_first(kb: KnowledgeBase) -> None:
    base = {
        "patient": {"sex": "male", "age_years": 50, "weight_kg": 85, "height_cm": 180},
        "condition": "gbs",
        "phase": "induction",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }
    for jurisdiction, first in (
        ("ontario", "ontario_igum"),
        ("uk", "uk_dh_colour"),
        ("au", "au_nba_category"),
    ):
        rec = run(kb, {**base, "jurisdiction": jurisdiction})
        assert rec["eligibility"]["evidence"][0]["system"] == first


def test_non_neurological_use_is_out_of_scope(kb: KnowledgeBase) -> None:
    rec = run(
        kb,
        {
            "patient": {"sex": "female", "age_years": 8, "weight_kg": 25},
            "condition": "Kawasaki disease",
            "phase": "induction",
        },
    )
    assert rec["eligibility"]["status"] == "out_of_scope" and rec["dose"] is None


def test_unknown_condition_names_nearest(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownIdError, match="gbs"):
        run(
            kb,
            {
                "patient": {"sex": "female", "age_years": 40, "weight_kg": 60},
                "condition": "guillain_barre",
                "phase": "induction",
            },
        )


def test_bad_request_names_every_field(kb: KnowledgeBase) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_request(
            {
                "patient": {"sex": "x", "age_years": -1, "weight_kg": 80},
                "condition": "gbs",
                "phase": "later",
            }
        )
    fields = {p["field"] for p in info.value.problems}
    assert {"patient.sex", "patient.age_years", "phase"} <= fields
    with pytest.raises(InvalidRequestError) as info:
        run(
            kb,
            {
                "patient": {"sex": "male", "age_years": 40, "weight_kg": 800},
                "condition": "gbs",
                "phase": "induction",
                "findings": {"days_since_onset": "soon", "no_such_finding": True},
            },
        )
    fields = {p["field"] for p in info.value.problems}
    assert {"patient.weight_kg", "findings.days_since_onset", "findings.no_such_finding"} <= fields


def test_every_condition_phase_jurisdiction_answers_or_refuses(kb: KnowledgeBase) -> None:
    """Generated coverage: a recommendation or a clear refusal, never an exception."""
    answered = 0
    for condition in kb.conditions():
        for phase in ("induction", "maintenance", "one_off"):
            for jurisdiction in ("international", "au", "ontario", "uk", "us", "br"):
                data = {
                    "patient": {
                        "sex": "female",
                        "age_years": 45,
                        "weight_kg": 70,
                        "height_cm": 165,
                    },
                    "condition": condition["id"],
                    "phase": phase,
                    "jurisdiction": jurisdiction,
                }
                try:
                    rec = run(kb, data)
                except InputError as exc:
                    assert str(exc)
                    continue
                answered += 1
                CONTRACT.validate_python(rec)
                for key in (
                    "eligibility",
                    "dosing_weight",
                    "dose",
                    "products",
                    "infusion",
                    "monitoring",
                    "review",
                    "warnings",
                    "unverified",
                    "sources",
                    "knowledge_version",
                    "engine_version",
                ):
                    assert key in rec
    assert answered > 0


def test_renderers_agree_on_dose_product_and_rates(kb: KnowledgeBase) -> None:
    """Adapters only format: terminal, JSON and HTML show the same dose, product and rates."""
    import io
    import json

    from rich.console import Console

    from ivig.render.fmt import ml_per_h
    from ivig.render.html import render_order_sheet
    from ivig.render.terminal import print_recommendation

    data = yaml.safe_load((ROOT / "examples/gbs-non-ambulant.yaml").read_text())
    rec = run(kb, data)
    as_json = json.loads(json.dumps(rec, default=str))
    buf = io.StringIO()
    print_recommendation(Console(file=buf, width=200, color_system=None), rec)
    text = buf.getvalue()
    html = render_order_sheet(rec)
    total = f"{rec['dose']['total_g']:g}"
    assert as_json["dose"]["total_g"] == rec["dose"]["total_g"]
    assert f"{total} g" in text and f'id="sheet-total">{total} g' in html
    if rec["infusion"]:
        for step in rec["infusion"]["steps"]:
            rate = ml_per_h(step["rate_ml_per_h"])
            assert rate in text and re.search(rf'class="num"><b>{re.escape(rate)}</b>', html)
    if rec["products"]:
        first = rec["products"][0]
        assert first["name"] in text and first["name"] in html
