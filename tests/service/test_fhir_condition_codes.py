"""Condition codes as EHRs send them: ICD-10-CM, WHO ICD-10 and SNOMED CT, with or without a
display, under their URLs or OIDs, with or without the dot (EHR integration review, December
2026). A Condition whose code the knowledge base does not map is named in the error, never
reported as missing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ivig.errors import InputError, MissingFieldError
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir import codes as C
from ivig.service.fhir.read import bundle_resources, map_condition, read_resources
from tests._helpers.service import gbs_bundle

CM = "http://hl7.org/fhir/sid/icd-10-cm"
WHO = "http://hl7.org/fhir/sid/icd-10"
SCT = "http://snomed.info/sct"
TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    ("system", "code", "condition"),
    [
        # ICD-10-CM M33.1x / M33.9x (ivig-code-lists; icd10cm-m33-secondary)
        (CM, "M33.11", "dermatomyositis"),
        (CM, "M33.12", "dermatomyositis"),
        (CM, "M33.90", "dermatomyositis"),
        (CM, "M33.10", "dermatomyositis"),
        # WHO ICD-10 (who-icd10-2019-g70-g73; who-icd10-2019-g60-g64)
        (WHO, "G70.0", "mg"),
        (WHO, "G61.0", "gbs"),
        ("urn:oid:2.16.840.1.113883.6.3", "G70.0", "mg"),
        # ICD-10-CM under its OID, without the dot, in lower case
        ("urn:oid:2.16.840.1.113883.6.90", "G61.0", "gbs"),
        (CM, "G610", "gbs"),
        (CM, "g61.81", "cidp"),
        (CM, "M3312", "dermatomyositis"),
        (SCT, "396230008", "dermatomyositis"),
    ],
)
def test_a_code_without_a_display_maps_to_its_condition(
    kb: KnowledgeBase, system: str, code: str, condition: str
) -> None:
    assert map_condition(kb, {"coding": [{"system": system, "code": code}]}) == condition


def test_who_g61_8_is_not_guessed_to_be_cidp(kb: KnowledgeBase) -> None:
    """WHO ICD-10 G61.8 (other inflammatory polyneuropathies) holds CIDP and MMN alike
    (who-icd10-2019-g60-g64 note): it maps to neither."""
    assert map_condition(kb, {"coding": [{"system": WHO, "code": "G61.8"}]}) is None


def test_an_icd10cm_code_is_not_read_as_a_who_code(kb: KnowledgeBase) -> None:
    """G70.0 is a WHO code; ICD-10-CM splits it into G70.00/G70.01 (G70.0 is not billable)."""
    assert map_condition(kb, {"coding": [{"system": CM, "code": "G70.0"}]}) is None


def _bundle_with_condition(code: dict[str, Any]) -> list[dict[str, Any]]:
    bundle = gbs_bundle()
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Condition":
            entry["resource"]["code"] = code
    return bundle_resources(bundle)


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ({"coding": [{"system": WHO, "code": "G61.8"}]}, "ICD-10 (WHO) G61.8"),
        ({"coding": [{"system": CM, "code": "G61.9"}]}, "ICD-10-CM G61.9"),
        ({"coding": [{"system": SCT, "code": "230564003"}]}, "SNOMED CT 230564003"),
        (
            {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.696", "code": "1234"}]},
            "urn:oid:1.2.840.114350.1.13.0.1.7.2.696 1234",
        ),
        ({"coding": [{"code": "X1", "display": "Neuropathy"}]}, "(no system) X1 'Neuropathy'"),
    ],
)
def test_an_unmapped_condition_is_named_not_missing(
    kb: KnowledgeBase, code: dict[str, Any], named: str
) -> None:
    with pytest.raises(InputError) as caught:
        read_resources(kb, _bundle_with_condition(code), today=TODAY)
    assert not isinstance(caught.value, MissingFieldError)
    message = str(caught.value)
    assert "missing" not in message
    assert f"Condition/c1 ({named})" in message


def test_no_condition_at_all_is_still_missing(kb: KnowledgeBase) -> None:
    bundle = gbs_bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Condition"]
    for entry in bundle["entry"]:
        entry["resource"].pop("reasonReference", None)
    with pytest.raises(MissingFieldError):
        read_resources(kb, bundle_resources(bundle), today=TODAY)


def test_coding_names_name_every_coding() -> None:
    concept = {
        "coding": [
            {"system": CM, "code": "G61.81", "display": "CIDP"},
            {"system": SCT, "code": "128209004"},
            {"system": CM},  # no code: skipped
        ]
    }
    assert C.coding_names(concept) == ["ICD-10-CM G61.81 'CIDP'", "SNOMED CT 128209004"]
    assert C.coding_names("not a concept") == []
