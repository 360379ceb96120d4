"""The CDS services ivig offers and the prefetch templates they ask for (discovery)."""

from __future__ import annotations

from typing import Any

from ivig.service.fhir import codes as C

__all__ = [
    "ESSENTIAL_KEYS",
    "ORDER_PREFETCH",
    "ORDER_SELECT_SERVICE_ID",
    "ORDER_SERVICE_ID",
    "ORDER_SIGN_SERVICE_ID",
    "OVERRIDE_REASONS",
    "REVIEW_SERVICE_ID",
    "SERVICES",
    "discovery",
    "hooks_of",
]

#: one id per hook: the reference sandbox (and others) key services by id
ORDER_SELECT_SERVICE_ID = "ivig-order-select"
ORDER_SIGN_SERVICE_ID = "ivig-order-sign"
#: the id both order hooks shared before 0.x; still answered, no longer listed
ORDER_SERVICE_ID = "ivig-order"
REVIEW_SERVICE_ID = "ivig-review-due"

_P = "{{context.patientId}}"


def _latest(*loinc: str, count: int = 1) -> str:
    codes = ",".join(f"{C.LOINC}|{code}" for code in loinc)
    return f"Observation?patient={_P}&code={codes}&_sort=-date&_count={count}"


#: MedicationRequests in the order history: EHR orders are coded in RxNorm, NDC or local codes,
#: rarely ATC, and EHR FHIR servers need not offer the ``code`` search on MedicationRequest, so
#: the template asks for the patient's orders in force or done, newest first, and the service
#: classifies each (medication_codes.yaml, IVIG_IG_CODES). One page: about 100 to 300 KB as EHRs
#: write MedicationRequests, inside the default request limit (IVIG_MAX_BODY_BYTES, 1 MB) with
#: the rest of the prefetch (docs/cds-hooks.md)
IG_ORDERS_COUNT = 100


#: prefetch key -> FHIR query template (the spec's recommended subset)
ORDER_PREFETCH: dict[str, str] = {
    "patient": f"Patient/{_P}",
    "weight": _latest(*C.LAB_CODES["weight"][:1]),
    "height": _latest(*C.LAB_CODES["height"]),
    "iga": _latest(*C.LAB_CODES["iga"]),
    "creatinine": _latest(*C.LAB_CODES["creatinine"]),
    # a laboratory reports up to four eGFR variants at once; the preferred one is chosen
    "egfr": _latest(*C.LAB_CODES["egfr"], count=5),
    "findings": f"Observation?patient={_P}&code={C.IVIG_FINDING}|",
    "conditions": f"Condition?patient={_P}",
    # bounded: orders in force or done, newest first, one page (classified by the service)
    "igOrders": (
        f"MedicationRequest?patient={_P}&status=active,completed,on-hold"
        f"&_sort=-authoredon&_count={IG_ORDERS_COUNT}"
    ),
    # procedures that set findings from standard codes (artificial respiration)
    "procedures": f"Procedure?patient={_P}&status=in-progress,completed&_sort=-date&_count=50",
}
#: without these the service cannot work: missing from prefetch and not fetchable -> 412
ESSENTIAL_KEYS = ("patient", "weight")

_ORDER_TEXT = (
    "Checks a normal-immunoglobulin (IVIg/SCIg) order: the ordered dose against the policy dose, "
    "eligibility for the indication, dosing weight, product and infusion rate, the age of the "
    "data used; suggests a change of the draft's dose, rate and timing."
)

_USAGE = (
    "Recognises normal immunoglobulin by ATC J06BA01/J06BA02, NDC, product names or words in "
    "the medication's text or display, or the site's codes (IVIG_IG_CODES); an order coded only "
    "with other codes (an RxNorm code without a display) is not recognised and gets no card. "
    "Specific immunoglobulins (ATC J06BB: anti-D, hepatitis B, CMV...) get an out-of-scope card."
)

SERVICES: list[dict[str, Any]] = [
    {
        "hook": "order-select",
        "id": ORDER_SELECT_SERVICE_ID,
        "title": "ivig: immunoglobulin order check",
        "description": _ORDER_TEXT,
        "prefetch": ORDER_PREFETCH,
        "usageRequirements": _USAGE,
    },
    {
        "hook": "order-sign",
        "id": ORDER_SIGN_SERVICE_ID,
        "title": "ivig: immunoglobulin order check",
        "description": _ORDER_TEXT,
        "prefetch": ORDER_PREFETCH,
        "usageRequirements": _USAGE,
    },
    {
        "hook": "patient-view",
        "id": REVIEW_SERVICE_ID,
        "title": "ivig: immunoglobulin review due",
        "description": "Tells when a patient on maintenance immunoglobulin is due for review.",
        "prefetch": {"patient": f"Patient/{_P}"},
    },
]

#: reasons offered when a card is dismissed (HL7 non-adherence reason codes, display filled)
OVERRIDE_REASONS: list[dict[str, str]] = [
    {"system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes", **r}
    for r in (
        {"code": "patient-ineligible", "display": "Patient is not eligible"},
        {"code": "patient-contraindication", "display": "Contraindication for this patient"},
        {"code": "policy-contradicts", "display": "Local policy differs"},
        {"code": "need-more-info", "display": "More information needed"},
        {"code": "prefers-alternative", "display": "An alternative is preferred"},
    )
]


def discovery() -> dict[str, Any]:
    """The body of ``GET /cds-services``."""
    return {"services": SERVICES}


def hooks_of(service_id: str) -> set[str]:
    """The hooks a service id answers (empty for an unknown id)."""
    if service_id == ORDER_SERVICE_ID:
        return {"order-select", "order-sign"}
    return {s["hook"] for s in SERVICES if s["id"] == service_id}
