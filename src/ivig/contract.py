"""The public request contract (issue 5): what a clinician or pharmacist sends to ivig.

These are ``TypedDict`` types: the core works on plain data and imports this module only for
type checking; adapters validate incoming JSON/YAML against it with pydantic
(``TypeAdapter(Request)``), which also generates the JSON Schema (``ivig schema request``).
The names are public and stable; add fields freely, never rename.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, NotRequired

from annotated_types import Ge, Gt
from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

from ivig.vocabulary import Jurisdiction, Phase, Rounding, Route, Sex

__all__ = [
    "Jurisdiction",
    "Labs",
    "Patient",
    "Phase",
    "Request",
    "Rounding",
    "Sex",
    "recommendation_json_schema",
    "request_json_schema",
    "validate_request",
]

FORBID = ConfigDict(extra="forbid")


@with_config(FORBID)
class Labs(TypedDict):
    """Laboratory results; every field optional, units in the names.

    Plausibility limits are knowledge data (``dosing.limits``), checked by
    ``ivig.core.request_check``.
    """

    iga_g_per_l: NotRequired[Annotated[float, Ge(0)]]
    anti_iga_antibodies: NotRequired[bool]
    egfr_ml_per_min_1_73m2: NotRequired[Annotated[float, Ge(0)]]
    creatinine_umol_per_l: NotRequired[Annotated[float, Ge(0)]]
    haemoglobin_g_per_l: NotRequired[Annotated[float, Ge(0)]]
    igg_g_per_l: NotRequired[Annotated[float, Ge(0)]]
    blood_group: NotRequired[Literal["O", "A", "B", "AB"]]


@with_config(FORBID)
class Patient(TypedDict):
    """The patient as the dose engine, the product ranking and the criteria see them."""

    sex: Sex
    age_years: Annotated[float, Ge(0)]
    weight_kg: Annotated[float, Gt(0)]
    height_cm: NotRequired[Annotated[float, Gt(0)]]
    pregnant: NotRequired[bool]
    pre_pregnancy_weight_kg: NotRequired[Annotated[float, Gt(0)]]
    labs: NotRequired[Labs]
    #: ids from ``ivig kb risk-factors``
    risk_factors: NotRequired[list[str]]
    #: first immunoglobulin infusion ever, or first with this product
    first_infusion: NotRequired[bool]
    product_switch: NotRequired[bool]
    #: weeks since the last immunoglobulin infusion (more than 8: first-infusion rules apply)
    weeks_since_last_infusion: NotRequired[Annotated[float, Ge(0)]]


@with_config(FORBID)
class Request(TypedDict):
    """One request for immunoglobulin (``ivig recommend REQUEST``)."""

    patient: Patient
    condition: str
    indication: NotRequired[str]
    phase: Phase
    findings: NotRequired[dict[str, bool | int | float | str]]
    jurisdiction: NotRequired[Jurisdiction]
    dosing_weight_policy: NotRequired[str]
    rounding: NotRequired[Rounding]
    regimen: NotRequired[str]
    route: NotRequired[Route]
    formulary: NotRequired[list[str]]
    product: NotRequired[str]
    #: written justification when the prescriber opts out of the policy's weight rule
    policy_opt_out_justification: NotRequired[str]
    #: patient values the requester confirms although they are unusual together (a BMI outside
    #: the plausible range); the plan records the confirmation
    confirm_unusual: NotRequired[list[Literal["weight_kg", "height_cm"]]]


@cache
def _request_adapter() -> TypeAdapter[Request]:
    return TypeAdapter(Request)


def validate_request(data: object) -> Request:
    """``data`` as a :class:`Request`; raise ``InvalidRequestError`` naming every bad field."""
    from pydantic import ValidationError

    from ivig.errors import InvalidRequestError

    try:
        request: Request = _request_adapter().validate_python(data)
    except ValidationError as exc:
        problems: list[dict[str, object]] = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(request)"
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            problems.append({"field": field, "value": value, "message": f"{err['msg']}{shown}"})
        raise InvalidRequestError(problems) from None
    return request


def request_json_schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(Request).json_schema()


def recommendation_json_schema() -> dict[str, Any]:
    """The JSON Schema of the recommendation, generated from :mod:`ivig.results`."""
    from ivig.results import Recommendation

    return TypeAdapter(Recommendation).json_schema()
