"""FHIR R4 endpoints: a Bundle in, the request or the recommendation as FHIR resources out.

Errors of these endpoints are FHIR too: an OperationOutcome in ``application/fhir+json`` with
one issue per problem (the field in ``expression``), whatever the status.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from ivig.errors import InputError, InvalidRequestError, IvigError
from ivig.service.auth import Principal, require_permission
from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.fhir import codes as C
from ivig.service.state import ServiceState, state_of
from ivig.vocabulary import Jurisdiction, Phase

__all__ = ["operation_outcome", "router"]

FHIR_JSON = "application/fhir+json"


def operation_outcome(problems: list[dict[str, Any]], code: str = "invalid") -> dict[str, Any]:
    """An OperationOutcome with one error issue per problem (``field`` -> ``expression``)."""
    issues = []
    for problem in problems or [{"message": "error"}]:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": code,
            "diagnostics": str(problem.get("message", problem)),
        }
        if problem.get("field"):
            issue["expression"] = [str(problem["field"])]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}


def _outcome_of(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    if isinstance(exc, InvalidRequestError):
        return 422, operation_outcome(list(exc.problems))
    if isinstance(exc, InputError):
        return 422, operation_outcome([exc.to_dict()])
    if isinstance(exc, RequestValidationError):
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return 422, operation_outcome(problems)
    if isinstance(exc, IvigError):
        return 422, operation_outcome([{"message": str(exc)}], "processing")
    return None


class FhirRoute(APIRoute):
    """A route whose errors are OperationOutcomes (FHIR RESTful API, ``application/fhir+json``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                found = _outcome_of(exc)
                if found is None:
                    raise
                status, body = found
                return IvigJSONResponse(body, status_code=status, media_type=FHIR_JSON)

        return fhir_handler


_OUTCOME = {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}
router = APIRouter(
    prefix="/api/fhir",
    tags=["fhir"],
    responses={
        **ERROR_RESPONSES,
        422: {"description": "Bad input: an OperationOutcome naming each field", **_OUTCOME},
    },
    route_class=FhirRoute,
)
AnyUser = Annotated[Principal, Depends(require_permission("compute"))]
State = Annotated[ServiceState, Depends(state_of)]
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

    full_urls: dict[int, str] = {}
    found = read_resources(
        state.kb,
        bundle_resources(bundle, full_urls=full_urls),
        full_urls=full_urls,
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
        {
            "request": found["request"],
            "notes": found["notes"],
            "references": found["references"],
            "inputs": found["inputs"],
            "stale": found["stale"],
        }
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
        canonical_base=state.settings.public_base_url,
    )
    elig = rec["eligibility"]
    # the plan's warnings first: a provisional plan opens with what must be confirmed
    issues = (
        [
            {"severity": "warning", "code": "informational", "diagnostics": w}
            for w in rec.get("warnings", [])
        ]
        + [
            {"severity": "warning", "code": "informational", "diagnostics": w}
            for w in found["stale"]
        ]
        + [
            {"severity": "information", "code": "informational", "diagnostics": n}
            for n in found["notes"]
        ]
    )
    issues.append(
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"eligibility {elig['status']}: {elig['reason']}",
        }
    )
    out["entry"].append({"resource": {"resourceType": "OperationOutcome", "issue": issues}})
    return IvigJSONResponse(out, media_type=FHIR_JSON)


@router.get(
    "/StructureDefinition/ivig-knowledge-version",
    response_class=IvigJSONResponse,
    responses={200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}}}},
)
def knowledge_extension(state: State) -> IvigJSONResponse:
    """The StructureDefinition of the extension that carries the knowledge version."""
    url = C.knowledge_extension_url(state.settings.public_base_url)
    definition = {
        "resourceType": "StructureDefinition",
        "id": "ivig-knowledge-version",
        "url": url,
        "name": "IvigKnowledgeVersion",
        "title": "ivig knowledge-base version",
        "status": "active",
        "kind": "complex-type",
        "abstract": False,
        "context": [
            {"type": "element", "expression": "MedicationRequest"},
            {"type": "element", "expression": "CarePlan"},
        ],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "description": "The version (date + content hash) of the ivig knowledge base that "
        "computed this resource.",
        "differential": {
            "element": [
                {"id": "Extension", "path": "Extension", "max": "1"},
                {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
                {
                    "id": "Extension.value[x]",
                    "path": "Extension.value[x]",
                    "type": [{"code": "string"}],
                },
            ]
        },
    }
    return IvigJSONResponse(definition, media_type=FHIR_JSON)
