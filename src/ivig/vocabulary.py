"""The closed vocabularies every layer shares, defined once.

Each is a ``Literal`` type (for mypy and the JSON Schema) and a tuple of its values (for argument
parsers, forms and messages). The jurisdictions must equal the knowledge base's
(``jurisdictions.yaml``); ``tests/app/test_vocabulary.py`` checks it. Open vocabularies (risk-factor
ids, excipients, products, conditions) come from the knowledge base at run time.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "JURISDICTIONS",
    "PHASES",
    "ROUNDINGS",
    "ROUTES",
    "SEXES",
    "Jurisdiction",
    "Phase",
    "Rounding",
    "Route",
    "Sex",
]

Sex = Literal["female", "male"]
Phase = Literal["induction", "maintenance", "one_off"]
Jurisdiction = Literal["international", "au", "ontario", "uk", "us", "br"]
Rounding = Literal["none", "nearest-5g", "vials"]
Route = Literal["iv", "sc"]

SEXES: tuple[Sex, ...] = get_args(Sex)
PHASES: tuple[Phase, ...] = get_args(Phase)
JURISDICTIONS: tuple[Jurisdiction, ...] = get_args(Jurisdiction)
ROUNDINGS: tuple[Rounding, ...] = get_args(Rounding)
ROUTES: tuple[Route, ...] = get_args(Route)
