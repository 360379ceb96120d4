"""FHIR R4 endpoints: a Bundle in, the request or the recommendation as FHIR resources out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from ivig.service.auth import Principal, require_permission
from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.state import ServiceState, get_state
from ivig.vocabulary import Jurisdiction, Phase

__all__ = ["router"]

router = APIRouter(prefix="/api/fhir", tags=["fhir"], responses=ERROR_RESPONSES)
AnyUser = Annotated[Principal, Depends(require_permission("compute"))]
State = Annotated[ServiceState, Depends(get_state)]
BundleBody = Annotated[
    dict[str, Any],
    Body(
        description="A FHIR R4 Bundle: Patient, Observations (UCUM), Conditions, MedicationRequests"
    ),
]
PhaseQuery = Phase | None
JurisdictionQuery = Jurisdiction | None


def _read(
    state: ServiceState, bundle: dict[str, Any], phase: str | None, jurisdiction: str | None
) -> dict[str, Any]:
    from ivig.app.recommend import checked
    from ivig.service.fhir.read import bundle_resources, read_resources

    found = read_resources(
        state.kb,
        bundle_resources(bundle),
        today=state.settings.today(),
        phase=phase,
        jurisdiction=jurisdiction or state.settings.jurisdiction,
        ig_codes=state.settings.ig_medication_codes,
    )
    found["request"] = checked(state.kb, found["request"])
    return found


@router.post(
    "/request", response_class=IvigJSONResponse, responses={200: {"model": dict[str, Any]}}
)
def fhir_to_request(
    bundle: BundleBody,
    state: State,
    user: AnyUser,
    phase: PhaseQuery = None,
    jurisdiction: JurisdictionQuery = None,
) -> IvigJSONResponse:
    """The ivig request read from a Bundle, with notes and the resources it used."""
    found = _read(state, bundle, phase, jurisdiction)
    return IvigJSONResponse(
        {"request": found["request"], "notes": found["notes"], "references": found["references"]}
    )


@router.post(
    "/recommend",
    response_class=IvigJSONResponse,
    responses={
        200: {
            "description": "A FHIR R4 Bundle (collection)",
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        }
    },
)
def fhir_recommend(
    bundle: BundleBody,
    state: State,
    user: AnyUser,
    phase: PhaseQuery = None,
    jurisdiction: JurisdictionQuery = None,
) -> IvigJSONResponse:
    """The recommendation for a Bundle as FHIR: MedicationRequest, CarePlan, notes."""
    from ivig.app.recommend import recommend_request
    from ivig.service.fhir.write import to_fhir_bundle

    found = _read(state, bundle, phase, jurisdiction)
    rec = recommend_request(state.kb, found["request"])
    product = rec["dose"]["product"] if rec["dose"] is not None else None
    out = to_fhir_bundle(
        rec,
        patient_ref=found["references"]["patient"],
        references=found["references"],
        draft=found["order"],
        product_name=state.kb.product(product)["name"] if product else None,
    )
    elig = rec["eligibility"]
    issues = [
        {"severity": "information", "code": "informational", "diagnostics": n}
        for n in found["notes"]
    ] + [
        {"severity": "warning", "code": "informational", "diagnostics": w}
        for w in rec.get("warnings", [])
    ]
    issues.append(
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"eligibility {elig['status']}: {elig['reason']}",
        }
    )
    out["entry"].append({"resource": {"resourceType": "OperationOutcome", "issue": issues}})
    return IvigJSONResponse(out, media_type="application/fhir+json")
