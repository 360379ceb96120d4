"""The closed vocabularies every layer shares, defined once.

Each is a ``Literal`` type (for mypy and the JSON Schema) and a tuple of its values (for argument
parsers, forms and messages). The jurisdictions must equal the knowledge base's
(``jurisdictions.yaml``); ``tests/app/test_vocabulary.py`` checks it. Open vocabularies (risk-factor
ids, excipients, products, conditions) come from the knowledge base at run time.

At run time the ``Literal`` types are made from the tuples when first asked for (pydantic asks),
so that importing the vocabulary - which ``ivig recommend`` and ``ivig dose`` do - does not import
:mod:`typing`; mypy reads the same values from the ``TYPE_CHECKING`` block, and
``tests/cli/test_startup_imports.py`` checks that the two spell the same values.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Literal

    Sex = Literal["female", "male"]
    Phase = Literal["induction", "maintenance", "one_off"]
    Jurisdiction = Literal["international", "au", "ontario", "uk", "us", "br"]
    Rounding = Literal["none", "nearest-5g", "vials"]
    Route = Literal["iv", "sc"]

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

SEXES: tuple[Sex, ...] = ("female", "male")
PHASES: tuple[Phase, ...] = ("induction", "maintenance", "one_off")
JURISDICTIONS: tuple[Jurisdiction, ...] = ("international", "au", "ontario", "uk", "us", "br")
ROUNDINGS: tuple[Rounding, ...] = ("none", "nearest-5g", "vials")
ROUTES: tuple[Route, ...] = ("iv", "sc")

_TYPES: dict[str, tuple[str, ...]] = {
    "Sex": SEXES,
    "Phase": PHASES,
    "Jurisdiction": JURISDICTIONS,
    "Rounding": ROUNDINGS,
    "Route": ROUTES,
}


def __getattr__(name: str) -> object:
    """``Sex``, ``Phase``, ``Jurisdiction``, ``Rounding``, ``Route``: the ``Literal`` of the
    tuple's values, made on first use."""
    values = _TYPES.get(name)
    if values is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from typing import Literal

    literal = Literal[values]  # type: ignore[valid-type]  # a tuple: Literal["a", "b"]
    globals()[name] = literal
    return literal
