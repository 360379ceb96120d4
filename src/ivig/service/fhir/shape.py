"""The JSON shape of the FHIR elements ivig reads, checked once per resource before reading.

An EHR (or an attacker) may send ``"status": []`` or ``"reasonReference": 1``; the readers
compare and iterate those values, so a wrong JSON type would surface as a server error. Every
element named here has one JSON type wherever it appears in FHIR R4 (elements whose type depends
on the resource, such as ``code``, ``value``, ``text``, ``name`` or ``identifier``, are left to
the readers, which test their type themselves; so are ``period``, an object in most places but a
number in ``Timing.repeat``, and ``category``, a list except in ``Procedure``). A wrong one is
refused with the resource, the path of the element, what was sent and what FHIR allows. Only the
resources ivig reads are checked: anything else in a Bundle or a prefetch is passed over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivig.errors import InputError

__all__ = ["READ_TYPES", "check_shape"]

#: elements that are a JSON string wherever they occur in FHIR R4
_STRINGS = frozenset(
    {
        "resourceType", "id", "status", "intent", "gender", "birthDate", "effectiveDateTime",
        "issued", "authoredOn", "recordedDate", "onsetDateTime", "abatementDateTime", "system",
        "display", "unit", "reference", "comparator", "valueString", "valueDateTime",
        "valueCode", "fullUrl", "lastUpdated", "url",
    }
)  # fmt: skip
#: elements that are a JSON array of objects wherever they occur
_LISTS = frozenset(
    {
        "coding", "reasonReference", "reasonCode", "dosageInstruction", "contained",
        "component", "extension", "entry", "interpretation", "doseAndRate", "note",
    }
)  # fmt: skip
#: elements that are a JSON object wherever they occur
_OBJECTS = frozenset(
    {
        "subject", "valueQuantity", "medicationCodeableConcept", "medicationReference",
        "clinicalStatus", "verificationStatus", "doseQuantity", "timing", "repeat", "encounter",
        "requester", "meta", "valueCodeableConcept", "onsetPeriod", "effectivePeriod",
        "patient", "boundsPeriod", "boundsDuration", "rateQuantity",
    }
)  # fmt: skip
_DEPTH = 32
#: the resources ivig reads; others in a Bundle or a prefetch are passed over unread
READ_TYPES = frozenset(
    {"Patient", "Observation", "Condition", "MedicationRequest", "Medication", "Procedure"}
)


def _brief(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 40 else text[:37] + "..."


def _refuse(where: str, value: object, allowed: str) -> InputError:
    return InputError(where, _brief(value), allowed)


def _check_element(key: str, value: Any, where: str) -> None:
    if key in _STRINGS and not isinstance(value, str):
        raise _refuse(where, value, "a string (FHIR R4)")
    if key in _LISTS and not (
        isinstance(value, list) and all(isinstance(item, dict) for item in value)
    ):
        raise _refuse(where, value, "a list of objects (FHIR R4)")
    if key in _OBJECTS and not isinstance(value, dict):
        raise _refuse(where, value, "an object (FHIR R4)")


def _walk(node: Any, where: str, depth: int) -> None:
    if depth > _DEPTH:
        raise _refuse(where, "…", f"elements nested at most {_DEPTH} deep")
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{where}.{key}"
            _check_element(key, value, path)
            _walk(value, path, depth + 1)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            _walk(item, f"{where}[{n}]", depth + 1)


def check_shape(resource: Mapping[str, Any]) -> None:
    """Refuse (``InputError`` naming the element) a resource ivig reads (:data:`READ_TYPES`)
    with an element of the wrong JSON type; it is named ``Type/id`` (``Type`` without an id)."""
    kind = resource.get("resourceType")
    if kind not in READ_TYPES:
        return
    ident = resource.get("id")
    name = f"{kind}/{ident}" if isinstance(kind, str) and isinstance(ident, str) else str(kind)
    for key, value in resource.items():
        _check_element(key, value, f"{name}.{key}")
        _walk(value, f"{name}.{key}", 1)
