"""The public request contract (issue 5): what a clinician or pharmacist sends to ivig.

These are ``TypedDict`` types: the core works on plain data and imports this module only for
type checking; adapters validate incoming JSON/YAML against it with pydantic
(``TypeAdapter(Request)``), which also generates the JSON Schema (``ivig schema request``).
The names are public and stable; add fields freely, never rename.
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Gt, Le
from pydantic import ConfigDict, with_config
from typing_extensions import NotRequired, TypedDict

__all__ = ["Jurisdiction", "Labs", "Patient", "Phase", "Request", "Rounding", "Sex"]

FORBID = ConfigDict(extra="forbid")

Sex = Literal["female", "male"]
Phase = Literal["induction", "maintenance", "one_off"]
Jurisdiction = Literal["international", "au", "ontario", "uk", "us", "br"]
Rounding = Literal["none", "nearest-5g", "vials"]


@with_config(FORBID)
class Labs(TypedDict):
    """Laboratory results; every field optional, units in the names."""

    iga_g_per_l: NotRequired[Annotated[float, Ge(0), Le(20)]]
    anti_iga_antibodies: NotRequired[bool]
    egfr_ml_per_min_1_73m2: NotRequired[Annotated[float, Ge(0), Le(200)]]
    creatinine_umol_per_l: NotRequired[Annotated[float, Ge(0), Le(3000)]]
    haemoglobin_g_per_l: NotRequired[Annotated[float, Ge(0), Le(250)]]
    igg_g_per_l: NotRequired[Annotated[float, Ge(0), Le(100)]]
    blood_group: NotRequired[Literal["O", "A", "B", "AB"]]


@with_config(FORBID)
class Patient(TypedDict):
    """The patient as the dose engine, the product ranking and the criteria see them."""

    sex: Sex
    age_years: Annotated[float, Ge(0), Le(120)]
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
    route: NotRequired[Literal["iv", "sc"]]
    formulary: NotRequired[list[str]]
    product: NotRequired[str]
    #: written justification when the prescriber opts out of the policy's weight rule
    policy_opt_out_justification: NotRequired[str]
