"""The typed results are the contract: every key the engine emits is declared in
:mod:`ivig.results`, every declared required key is emitted, and the published JSON Schema is
generated from the same types."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from ivig.app.dose import dose
from ivig.app.recommend import recommend
from ivig.contract import recommendation_json_schema
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.results import DoseResult, Recommendation
from ivig.vocabulary import JURISDICTIONS, PHASES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
RECOMMENDATION = TypeAdapter(Recommendation)


def _json(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_bundled_example_matches_the_contract(kb: KnowledgeBase, path: Path) -> None:
    rec = recommend(kb, yaml.safe_load(path.read_text()))
    RECOMMENDATION.validate_python(_json(rec))


def test_every_condition_phase_jurisdiction_matches_the_contract(kb: KnowledgeBase) -> None:
    checked = 0
    for condition in kb.conditions():
        for phase in PHASES:
            for jurisdiction in JURISDICTIONS:
                data = {
                    "patient": {"sex": "male", "age_years": 60, "weight_kg": 80, "height_cm": 175},
                    "condition": condition["id"],
                    "phase": phase,
                    "jurisdiction": jurisdiction,
                }
                try:
                    rec = recommend(kb, data)
                except InputError:
                    continue
                RECOMMENDATION.validate_python(_json(rec))
                checked += 1
    assert checked > 300


def test_a_key_the_types_do_not_declare_fails(kb: KnowledgeBase) -> None:
    """The check that guards the contract: an emitted key without its type is an error."""
    rec = _json(
        recommend(kb, yaml.safe_load((ROOT / "examples/gbs-non-ambulant.yaml").read_text()))
    )
    RECOMMENDATION.validate_python(rec)
    for path in (("infusion",), ("dose",), ("eligibility",), ()):
        changed = copy.deepcopy(rec)
        node = changed
        for key in path:
            node = node[key]
        node["added_without_a_type"] = 1
        with pytest.raises(ValidationError, match="added_without_a_type"):
            RECOMMENDATION.validate_python(changed)
    step = copy.deepcopy(rec)
    step["infusion"]["steps"][0]["surprise_ml"] = 3.0
    with pytest.raises(ValidationError, match="surprise_ml"):
        RECOMMENDATION.validate_python(step)


def test_a_required_key_that_is_missing_fails(kb: KnowledgeBase) -> None:
    rec = _json(recommend(kb, yaml.safe_load((ROOT / "examples/mmn.yaml").read_text())))
    del rec["plan_status"]
    with pytest.raises(ValidationError, match="plan_status"):
        RECOMMENDATION.validate_python(rec)


def test_the_published_schema_declares_every_key_and_forbids_others() -> None:
    schema = recommendation_json_schema()
    assert schema["additionalProperties"] is False
    assert {"plan_status", "to_confirm", "risk_profile"} <= set(schema["required"])
    infusion = schema["$defs"]["InfusionOut"]
    assert {"verified", "sources", "steps"} <= set(infusion["required"])
    assert infusion["additionalProperties"] is False


def test_the_dose_result_matches_its_type(kb: KnowledgeBase) -> None:
    query = {"sex": "female", "age_years": 54, "height_cm": 160, "weight_kg": 90,
             "condition": "cidp", "phase": "maintenance", "policy": "au-2026"}  # fmt: skip
    TypeAdapter(DoseResult).validate_python(_json(dose(kb, query)))
