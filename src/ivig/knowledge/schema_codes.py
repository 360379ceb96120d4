"""Schema of the terminology data the FHIR and CDS Hooks adapters use (``medication_codes.yaml``).

Medication classes (normal immunoglobulin, the specific immunoglobulins that must never be dosed
as IVIG) with the codes that recognise them, matched on (system, code); product codes; the code
systems' URLs; and the numbers the adapters need to read a record safely (the molar mass that
converts creatinine, how old a weight may be, how far back an earlier order counts for the
phase). Every number has ``sources`` and ``verified``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from annotated_types import MinLen
from pydantic import with_config
from typing_extensions import TypedDict

from ivig.knowledge.schema_products import FORBID, Id, Pos, Sources

__all__ = [
    "CHECKS",
    "CodeSystem",
    "FhirReading",
    "FindingCode",
    "MedicationClass",
    "MedicationCode",
    "MedicationCodes",
    "ProductCode",
]


@with_config(FORBID)
class CodeSystem(TypedDict):
    """A code system by its short id and every URL or OID an EHR may send for it."""

    id: Id
    name: str
    urls: Annotated[list[Id], MinLen(1)]


@with_config(FORBID)
class MedicationCode(TypedDict):
    """One code; ``match: prefix`` matches every code that starts with it (ATC groups, NDCs)."""

    system: Id
    code: Id
    display: NotRequired[str]
    match: NotRequired[Literal["exact", "prefix"]]
    sources: Sources
    verified: bool


MedicationKind = Literal[
    "normal_immunoglobulin",
    "specific_immunoglobulin",
    "normal_immunoglobulin_intramuscular",
]


@with_config(FORBID)
class MedicationClass(TypedDict):
    """A class of medication the adapters recognise, with its codes and words."""

    id: Id
    name: str
    kind: MedicationKind
    #: the route the class implies, when it implies one
    route: NotRequired[Literal["iv", "sc", "im"]]
    codes: list[MedicationCode]
    #: words in a medication's text or display that name the class (lower case)
    terms: NotRequired[list[Id]]
    note: NotRequired[str]


@with_config(FORBID)
class ProductCode(TypedDict):
    """A code of one knowledge-base product (``product`` is its id)."""

    product: Id
    system: Id
    code: Id
    match: NotRequired[Literal["exact", "prefix"]]
    sources: Sources
    verified: bool


@with_config(FORBID)
class FhirReading(TypedDict):
    """A number the FHIR reader uses, with its unit in the name and its source."""

    id: Id
    value: Pos
    unit: Id
    text: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class FindingCode(TypedDict):
    """A standard code whose presence in the record sets a criteria finding.

    ``resources`` are the FHIR resource types it counts in (an active Condition or Observation,
    a Procedure in progress or completed); the finding takes ``value`` when it is present.
    """

    system: Id
    code: Id
    display: str
    resources: Annotated[list[Literal["Condition", "Observation", "Procedure"]], MinLen(1)]
    finding: Id
    value: bool | int
    sources: Sources
    verified: bool


@with_config(FORBID)
class MedicationCodes(TypedDict):
    """The whole ``medication_codes.yaml``."""

    systems: list[CodeSystem]
    classes: list[MedicationClass]
    product_codes: list[ProductCode]
    finding_codes: list[FindingCode]
    readings: list[FhirReading]


def _check_codes(data: dict[str, Any], report: Callable[[str, str, str], None]) -> None:
    """Every code names a declared system; every product code names a known product."""
    codes = data.get("medication_codes")
    if not codes:
        return
    file = "medication_codes.yaml"
    systems = {s["id"] for s in codes["systems"]}
    products = {p["id"] for p in data.get("products", [])}
    seen: set[str] = set()
    for i, cls in enumerate(codes["classes"]):
        if cls["id"] in seen:
            report(file, f"classes[{i}].id", f"duplicate class id {cls['id']!r}")
        seen.add(cls["id"])
        for j, code in enumerate(cls["codes"]):
            if code["system"] not in systems:
                report(
                    file, f"classes[{i}].codes[{j}].system", f"unknown system {code['system']!r}"
                )
    for i, code in enumerate(codes["product_codes"]):
        if code["system"] not in systems:
            report(file, f"product_codes[{i}].system", f"unknown system {code['system']!r}")
        if code["product"] not in products:
            report(file, f"product_codes[{i}].product", f"unknown product {code['product']!r}")
    findings = {f["name"] for f in data.get("findings", [])}
    for i, code in enumerate(codes["finding_codes"]):
        if code["system"] not in systems:
            report(file, f"finding_codes[{i}].system", f"unknown system {code['system']!r}")
        if code["finding"] not in findings:
            report(file, f"finding_codes[{i}].finding", f"unknown finding {code['finding']!r}")
    ids = [r["id"] for r in codes["readings"]]
    for rid in {r for r in ids if ids.count(r) > 1}:
        report(file, "readings", f"duplicate reading id {rid!r}")


#: checks registered with :mod:`ivig.knowledge.validate`
CHECKS: list[Callable[[dict[str, Any], Callable[[str, str, str], None]], None]] = [_check_codes]
