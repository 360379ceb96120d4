"""The command line's fast request check (``ivig.fastcheck``) never accepts what the contract
refuses, and what it accepts equals the contract's own result; its schema file is current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.contract import request_json_schema, validate_request
from ivig.errors import InvalidRequestError
from ivig.fastcheck import SCHEMA_PATH, validated

ROOT = Path(__file__).resolve().parents[2]
REFUSED = object()


def _contract(data: object) -> object:
    try:
        return validate_request(data)
    except InvalidRequestError:
        return REFUSED


def _same(fast: object, slow: object) -> bool:
    """Equal values of equal types, all the way down (80 and 80.0 differ)."""
    if type(fast) is not type(slow):
        return False
    if isinstance(fast, dict):
        assert isinstance(slow, dict)
        return fast.keys() == slow.keys() and all(_same(fast[k], slow[k]) for k in fast)
    if isinstance(fast, list):
        assert isinstance(slow, list)
        return len(fast) == len(slow) and all(_same(a, b) for a, b in zip(fast, slow, strict=True))
    return fast == slow


def test_the_shipped_schema_is_the_contracts() -> None:
    shipped = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(request_json_schema())), (
        "regenerate src/ivig/schemas/request.json from ivig.contract (ivig schema request)"
    )


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_takes_the_fast_path_with_the_contracts_result(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    fast = validated(data)
    assert fast is not None
    assert _same(fast, validate_request(data))


BAD: list[Any] = [
    None, [], "gbs",
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": "80"}, "condition": "gbs",
     "phase": "induction"},
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": 80, "shoe_size": 44},
     "condition": "gbs", "phase": "induction"},
    {"patient": {"sex": "other", "age_years": 50, "weight_kg": 80}, "condition": "gbs",
     "phase": "induction"},
    {"patient": {"sex": "male", "age_years": -1, "weight_kg": 80}, "condition": "gbs",
     "phase": "induction"},
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": 0}, "condition": "gbs",
     "phase": "induction"},
    {"patient": {"sex": "male", "age_years": True, "weight_kg": 80}, "condition": "gbs",
     "phase": "induction"},
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": float("nan")}, "condition": "gbs",
     "phase": "induction"},
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": 80}, "condition": "gbs"},
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": 80}, "condition": "gbs",
     "phase": "induction", "findings": {"x": [1]}},
    {"patient": {"sex": "male", "age_years": 50, "weight_kg": 80}, "condition": "gbs",
     "phase": "induction", "confirm_unusual": ["age_years"]},
]  # fmt: skip


@pytest.mark.parametrize("data", BAD)
def test_what_is_not_plainly_valid_goes_to_the_contract(data: Any) -> None:
    assert validated(data) is None


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 400), st.floats(-5, 400), st.just(float("inf")),
    st.text(max_size=4), st.sampled_from(["male", "female", "induction", "au", "gbs", "80"]),
    st.lists(st.sampled_from(["weight_kg", "x"]), max_size=2),
)  # fmt: skip
_PATIENT_KEYS = ["sex", "age_years", "weight_kg", "height_cm", "pregnant", "risk_factors", "x"]
_REQUEST_KEYS = ["condition", "phase", "jurisdiction", "rounding", "findings", "confirm_unusual",
                 "route", "y"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    patient=st.dictionaries(st.sampled_from(_PATIENT_KEYS), _VALUES, max_size=7),
    request=st.dictionaries(st.sampled_from(_REQUEST_KEYS), _VALUES, max_size=8),
    findings=st.dictionaries(st.sampled_from(["days_since_onset", "a"]), _VALUES, max_size=2),
)
def test_the_fast_path_agrees_with_the_contract(
    patient: dict[str, Any], request: dict[str, Any], findings: dict[str, Any]
) -> None:
    base = {"sex": "male", "age_years": 50, "weight_kg": 80}
    data = {"condition": "gbs", "phase": "induction", **request,
            "patient": {**base, **patient}}  # fmt: skip
    if findings:
        data["findings"] = findings
    fast = validated(data)
    slow = _contract(data)
    if fast is not None:
        assert slow is not REFUSED, data
        assert _same(fast, slow), (data, fast, slow)


def test_the_schema_copy_in_the_cache_is_the_shipped_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivig import fastcheck

    monkeypatch.setenv("IVIG_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("IVIG_NO_CACHE", raising=False)
    shipped = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert fastcheck._cached_schema() == shipped  # parsed, and copied to the cache
    [copy] = tmp_path.glob("request-schema-*.marshal")
    assert fastcheck._cached_schema() == shipped  # read from the copy
    copy.write_bytes(b"not marshal")
    assert fastcheck._cached_schema() == shipped  # an unreadable copy is ignored and rewritten
    assert fastcheck._cached_schema() == shipped


def test_a_schema_copy_of_another_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import marshal

    from ivig import fastcheck

    monkeypatch.setenv("IVIG_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("IVIG_NO_CACHE", raising=False)
    fastcheck._cached_schema()
    [copy] = tmp_path.glob("request-schema-*.marshal")
    copy.write_bytes(marshal.dumps({"stamp": "another file", "schema": {"$defs": {}}}))
    assert fastcheck._cached_schema() == json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
