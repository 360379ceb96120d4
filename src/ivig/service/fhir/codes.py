"""Terminology the FHIR adapter speaks: systems, LOINC observation codes, UCUM units, ATC.

Codes only, no clinical numbers. Unit factors are definitions (SI prefixes; the avoirdupois
pound and the international inch are converted by :mod:`ivig.core.units`). Codes are those the
research notes list as checked (ecosystem notes §2.3); condition codes come from the knowledge
base.
"""

from __future__ import annotations

__all__ = [
    "ATC_IG_PREFIX",
    "ATC_IV",
    "IG_TEXT_TERMS",
    "IVIG_KNOWLEDGE_VERSION",
    "KNOWLEDGE_EXTENSION_PATH",
    "LAB_CODES",
    "LOINC",
    "NORMAL_IG_CODES",
    "OBSERVATION_FIELDS",
    "ROUTE_IM",
    "ROUTE_IV",
    "ROUTE_SC",
    "SYSTEM_ALIASES",
    "UCUM",
    "UCUM_CONCENTRATION_G_PER_L",
    "UCUM_EGFR",
    "UCUM_LENGTH",
    "UCUM_MASS",
    "UCUM_SUBSTANCE_UMOL_PER_L",
    "knowledge_extension_url",
]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
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


#: FHIR code-system URLs -> the system names the knowledge base uses in ``codes``
SYSTEM_ALIASES: dict[str, str] = {
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://hl7.org/fhir/sid/icd-10": "icd10",
    "http://snomed.info/sct": "snomedct",
    "icd10cm": "icd10cm",
    "icd10": "icd10",
    "snomedct": "snomedct",
}

#: LOINC code -> the request field it fills (ecosystem notes §2.3)
OBSERVATION_FIELDS: dict[str, str] = {
    "29463-7": "weight_kg",  # body weight
    "3141-9": "weight_kg",  # body weight measured
    "8302-2": "height_cm",  # body height
    "2458-8": "iga_g_per_l",  # IgA, serum/plasma, mass/volume
    "2465-3": "igg_g_per_l",  # IgG, serum/plasma, mass/volume
    "14682-9": "creatinine_umol_per_l",  # creatinine, moles/volume
    "2160-0": "creatinine_umol_per_l",  # creatinine, mass/volume (mg/dL: not converted)
    "98979-8": "egfr_ml_per_min_1_73m2",  # eGFR CKD-EPI 2021
    "62238-1": "egfr_ml_per_min_1_73m2",  # eGFR CKD-EPI 2009
    "33914-3": "egfr_ml_per_min_1_73m2",  # eGFR MDRD
}
LAB_CODES = {
    "weight": ("29463-7", "3141-9"),
    "height": ("8302-2",),
    "iga": ("2458-8",),
    "creatinine": ("14682-9", "2160-0"),
    "egfr": ("98979-8", "62238-1", "33914-3"),
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
#: search tokens of normal immunoglobulin for the bounded order-history query
NORMAL_IG_CODES = (f"{ATC}|J06BA01", f"{ATC}|J06BA02")
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
