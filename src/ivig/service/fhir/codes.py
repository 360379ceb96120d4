"""Terminology the FHIR adapter speaks: systems, LOINC observation codes, UCUM units, ATC.

Codes only, no clinical numbers. Unit factors are definitions (SI prefixes; the avoirdupois
pound and the international inch are converted by :mod:`ivig.core.units`). Codes are those the
research notes list as checked (ecosystem notes §2.3); condition codes come from the knowledge
base.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ivig.errors import InputError

__all__ = [
    "ATC_IG_PREFIX",
    "ATC_IV",
    "CODE_RANK",
    "EGFR_CODES",
    "IG_TEXT_TERMS",
    "IVIG_KNOWLEDGE_VERSION",
    "KNOWLEDGE_EXTENSION_PATH",
    "LAB_CODES",
    "LOINC",
    "LOINC_SYSTEMS",
    "OBSERVATION_FIELDS",
    "ROUTE_IM",
    "ROUTE_IV",
    "ROUTE_SC",
    "SYSTEM_ALIASES",
    "SYSTEM_NAMES",
    "UCUM",
    "UCUM_CONCENTRATION_G_PER_L",
    "UCUM_EGFR",
    "UCUM_LENGTH",
    "UCUM_MASS",
    "UCUM_SUBSTANCE_UMOL_PER_L",
    "UCUM_SYSTEMS",
    "coding_names",
    "condition_code_key",
    "knowledge_extension_url",
    "unmapped_condition_error",
]

LOINC = "http://loinc.org"
#: the LOINC system as EHRs send it: its URL and its OID (HL7 v3 / C-CDA heritage)
LOINC_SYSTEMS = (LOINC, "urn:oid:2.16.840.1.113883.6.1")
UCUM = "http://unitsofmeasure.org"
#: UCUM as EHRs send it: its URL and its OID
UCUM_SYSTEMS = (UCUM, "urn:oid:2.16.840.1.113883.6.8")
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
#: the ivig code system for findings (Observation.code) that the knowledge base declares
IVIG_FINDING = "urn:ivig:finding"
#: extension carrying the knowledge version (the name used before it had a canonical URL)
IVIG_KNOWLEDGE_VERSION = "urn:ivig:extension:knowledge-version"
#: where this service publishes the extension's StructureDefinition
KNOWLEDGE_EXTENSION_PATH = "/api/fhir/StructureDefinition/ivig-knowledge-version"


def knowledge_extension_url(base: str | None) -> str:
    """The extension's canonical URL on the service at ``base`` (its public URL)."""
    if not base:
        return IVIG_KNOWLEDGE_VERSION
    return base.rstrip("/") + KNOWLEDGE_EXTENSION_PATH


#: FHIR code-system URLs and OIDs -> the system names the knowledge base uses in ``codes``
SYSTEM_ALIASES: dict[str, str] = {
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "urn:oid:2.16.840.1.113883.6.90": "icd10cm",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "urn:oid:2.16.840.1.113883.6.3": "icd10",
    "http://snomed.info/sct": "snomedct",
    "urn:oid:2.16.840.1.113883.6.96": "snomedct",
    "icd10cm": "icd10cm",
    "icd10": "icd10",
    "snomedct": "snomedct",
}
#: the knowledge base's condition code systems as a reader names them
SYSTEM_NAMES: dict[str, str] = {
    "icd10cm": "ICD-10-CM",
    "icd10": "ICD-10 (WHO)",
    "snomedct": "SNOMED CT",
}


def condition_code_key(system: str, code: str) -> str:
    """A condition code as the index keys it: ICD-10 codes without their dot and in capitals
    (EHRs send ``G61.0`` and ``G610`` alike), other codes stripped."""
    if system in ("icd10cm", "icd10"):
        return code.strip().replace(".", "").upper()
    return code.strip()


def coding_names(
    concept: object, system_of: Callable[[str], str | None] = SYSTEM_ALIASES.get
) -> list[str]:
    """Each coding of a CodeableConcept as a reader names it: ``ICD-10 (WHO) G61.8``; a
    system the service does not know by its URL (``urn:oid:1.2.3 X1``), a missing one as
    ``(no system)``; the code's display, when sent, in quotes after it."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    names = []
    for coding in codings if isinstance(codings, list) else []:
        if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
            continue
        url = coding.get("system")
        system = system_of(url) if isinstance(url, str) else None
        shown = SYSTEM_NAMES.get(system or "", url if isinstance(url, str) else "(no system)")
        display = coding.get("display")
        quoted = f" '{display}'" if isinstance(display, str) and display else ""
        names.append(f"{shown} {coding['code']}{quoted}")
    return names


def unmapped_condition_error(conditions: Sequence[tuple[str, object]]) -> InputError:
    """The error for Conditions sent whose codes the knowledge base maps to no condition.

    ``conditions`` are ``(reference, Condition.code)`` pairs, e.g. ``("Condition/c1",
    {"coding": [...]})``. The message names every code and its system, so the card says which
    code was not understood instead of "Condition: missing".
    """
    shown = []
    for ref, concept in conditions:
        names = coding_names(concept)
        text = concept.get("text") if isinstance(concept, dict) else None
        if isinstance(text, str) and text:
            names.append(f"text '{text}'")
        shown.append(f"{ref} ({', '.join(names) or 'no code'})")
    return InputError(
        "Condition.code",
        "; ".join(shown),
        "a code of a condition the knowledge base holds (ICD-10-CM, ICD-10 (WHO) or SNOMED CT) "
        "or a display naming it",
        detail="no Condition sent maps to an indication ivig knows; the order is not checked",
    )


#: eGFR LOINC codes, all normalised to 1.73 m2 (mL/min/{1.73_m2}), in order of preference when a
#: laboratory reports several at the same time: race-free and equation-agnostic first, the
#: sex- and race-specific variants (reported beside the general one) last, so the value used
#: is never the "among blacks" one when another was reported with it (the 2021 equations
#: dropped the race term). Meanings as the LOINC names are shown in HL7 publications: FHIR R4
#: example observation-example-f205-egfr (33914-3, 48643-1), HL7 CPG ckd-valueset-egfr (76633-7,
#: 77147-7), HL7 CH LAB-Report value sets (62238-1, 50044-7, 70969-1, 88293-6, 88294-4,
#: 98979-8, 98980-6); 48642-3, 50210-4 and 50384-7 as OHDSI Athena lists the LOINC names.
EGFR_CODES = (
    "98979-8",  # creatinine-based, CKD-EPI 2021 (race-free)
    "98980-6",  # creatinine and cystatin C-based, CKD-EPI 2021
    "62238-1",  # creatinine-based, CKD-EPI
    "33914-3",  # creatinine-based, MDRD, serum or plasma
    "77147-7",  # creatinine-based, MDRD, serum, plasma or blood
    "76633-7",  # creatinine-based, MDRD, blood
    "50210-4",  # cystatin C-based
    "50384-7",  # creatinine-based, Schwartz (children)
    "88294-4",  # CKD-EPI among non-blacks
    "48642-3",  # MDRD among non-blacks
    "50044-7",  # MDRD among females
    "70969-1",  # MDRD among males
    "88293-6",  # CKD-EPI among blacks
    "48643-1",  # MDRD among blacks
)

#: LOINC code -> the request field it fills (ecosystem notes §2.3)
OBSERVATION_FIELDS: dict[str, str] = {
    "29463-7": "weight_kg",  # body weight
    "3141-9": "weight_kg",  # body weight measured
    "8302-2": "height_cm",  # body height
    "2458-8": "iga_g_per_l",  # IgA, serum/plasma, mass/volume
    "2465-3": "igg_g_per_l",  # IgG, serum/plasma, mass/volume
    "14682-9": "creatinine_umol_per_l",  # creatinine, moles/volume
    "2160-0": "creatinine_umol_per_l",  # creatinine, mass/volume (mg/dL: not converted)
    **dict.fromkeys(EGFR_CODES, "egfr_ml_per_min_1_73m2"),
}
LAB_CODES = {
    "weight": ("29463-7", "3141-9"),
    "height": ("8302-2",),
    "iga": ("2458-8",),
    "creatinine": ("14682-9", "2160-0"),
    "egfr": EGFR_CODES,
}
#: where several codes fill one field, the rank of each (lower is preferred at equal times)
CODE_RANK: dict[str, int] = {
    code: n for codes in LAB_CODES.values() for n, code in enumerate(codes)
}

#: UCUM code -> unit name understood by :func:`ivig.core.units.to_kg`
UCUM_MASS = {"kg": "kg", "g": "g", "[lb_av]": "lb", "lb": "lb"}
#: UCUM code -> unit name understood by :func:`ivig.core.units.to_cm`
UCUM_LENGTH = {"cm": "cm", "m": "m", "mm": "mm", "[in_i]": "in", "in": "in"}
#: UCUM mass-concentration code -> factor to g/L (SI prefixes: 1 dL = 0.1 L)
UCUM_CONCENTRATION_G_PER_L = {"g/L": 1.0, "g/dL": 10.0, "mg/dL": 0.01, "mg/L": 0.001}
#: UCUM substance-concentration code -> factor to umol/L
UCUM_SUBSTANCE_UMOL_PER_L = {"umol/L": 1.0, "mmol/L": 1000.0}
#: UCUM codes for eGFR normalised to 1.73 m2 body surface (taken as they are)
UCUM_EGFR = ("mL/min/{1.73_m2}", "mL/min/1.73.m2", "mL/min/1.73m2")

#: ATC group of immunoglobulins; J06BA02 is the intravascular one (notes §2.2)
ATC_IG_PREFIX = "J06BA"
ATC_IV = ("J06BA02", "immunoglobulins, normal human, for intravascular adm.")
ROUTE_IV = (SNOMED, "47625008", "Intravenous route")
ROUTE_SC = (SNOMED, "34206005", "Subcutaneous route")
ROUTE_IM = (SNOMED, "78421000", "Intramuscular route")

#: words in a medication's text that mark an immunoglobulin order (besides product names)
IG_TEXT_TERMS = (
    "immune globulin",
    "immunoglobulin",
    "immunoglobuline",
    "ivig",
    "igiv",
    "scig",
    "fscig",
    "gammaglobulin",
    "gamma globulin",
)
