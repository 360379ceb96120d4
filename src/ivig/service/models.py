"""Request bodies of the REST API that the core contract does not already define.

The recommendation uses the contract itself (:class:`ivig.contract.Request` in,
:class:`ivig.results.Recommendation` out). The bodies here mirror the command-line options of
the same capability, with the same names and units; ranges are checked by the core, which
answers with the field, the allowed range and the unit.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Gt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivig.vocabulary import Jurisdiction, Phase, Rounding, Route, Sex

__all__ = ["DoseQuery", "ScoreChangeBody", "ScoreItemsBody"]

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Number = Annotated[float, Field(allow_inf_nan=False)]


class DoseQuery(BaseModel):
    """``ivig dose`` as a request body: give the weight in kg or in lb (not both)."""

    model_config = STRICT
    sex: Sex
    age_years: Number
    weight_kg: Annotated[float, Gt(0)] | None = None
    weight_lb: Annotated[float, Gt(0)] | None = None
    height_cm: Annotated[float, Gt(0)] | None = None
    height_in: Annotated[float, Gt(0)] | None = None
    pregnant: bool = False
    pre_pregnancy_weight_kg: Annotated[float, Gt(0)] | None = None
    condition: str = Field(min_length=1, description="condition id, name, synonym or code")
    indication: str | None = None
    phase: Phase
    regimen: str | None = None
    route: Route | None = None
    dose_g_per_kg: Annotated[float, Gt(0)] | None = None
    days: Annotated[int, Gt(0)] | None = None
    interval_weeks: Annotated[float, Gt(0)] | None = None
    jurisdiction: Jurisdiction = "international"
    policy: str | None = Field(None, description="dosing-weight policy id")
    rounding: Rounding | None = None
    product: str | None = None
    opt_out_justification: str | None = None

    @model_validator(mode="after")
    def _one_weight_one_height(self) -> DoseQuery:
        if (self.weight_kg is None) == (self.weight_lb is None):
            raise ValueError("give the weight once: weight_kg or weight_lb")
        if self.height_cm is not None and self.height_in is not None:
            raise ValueError("give the height once: height_cm or height_in")
        return self


class ScoreItemsBody(BaseModel):
    """Item values of one score, by item id (numbers or the item's labels)."""

    model_config = STRICT
    items: dict[str, int | float | str]


class ScoreChangeBody(BaseModel):
    """Baseline and follow-up item values of one score."""

    model_config = STRICT
    baseline: dict[str, int | float | str]
    follow_up: dict[str, int | float | str]
