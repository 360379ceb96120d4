"""A compact text syntax for regimens, parsed into :class:`~ivig.core.pk_model.Dose` lists.

One term::

    [iv:|sc:]AMOUNT UNIT @ DAY [x COUNT [/ EVERY (d|w)]] [~ HOURS h]

* ``0.4g/kg@0x5`` - 0.4 g/kg on days 0, 1, 2, 3, 4 (repeats are daily unless told);
* ``1g/kg@35x8/3w`` - 1 g/kg on day 35, then every 3 weeks, 8 doses in all;
* ``sc:0.2g/kg@7x20/1w`` - 0.2 g/kg SC weekly from day 7, 20 doses;
* ``35g@0~3h`` - 35 g (divided by the weight) on day 0, infused over 3 hours.

Several terms make one regimen; a term may itself be a course repeated (``0.4g/kg@0x2``
within ``1g/kg``-style courses is written as two terms). Amounts in g are turned into g/kg
with the patient's weight.
"""

from __future__ import annotations

import math
import re

from ivig.core.pk_model import Dose
from ivig.errors import InputError

__all__ = ["SYNTAX", "parse_regimen", "parse_term"]

SYNTAX = "[iv:|sc:]AMOUNT(g|g/kg)@DAY[xCOUNT[/EVERY(d|w)]][~HOURSh], e.g. 0.4g/kg@0x5"

_TERM = re.compile(
    r"""^\s*(?:(?P<route>iv|sc)\s*:\s*)?
    (?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>g/kg|g)\s*
    @\s*(?P<day>\d+(?:\.\d+)?)
    (?:\s*x\s*(?P<count>\d+)(?:\s*/\s*(?P<every>\d+(?:\.\d+)?)\s*(?P<every_unit>d|w))?)?
    (?:\s*~\s*(?P<hours>\d+(?:\.\d+)?)\s*h)?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

#: Upper bound on doses from one term (a typing slip such as x5000 is refused).
_MAX_DOSES = 1000


def parse_term(text: str, weight_kg: float, default_infusion_hours: float) -> list[Dose]:
    """The doses of one regimen term (see the module docstring)."""
    match = _TERM.match(text)
    if match is None:
        raise InputError("regimen", text, SYNTAX)
    route = (match["route"] or "iv").lower()
    amount = float(match["amount"])
    if amount <= 0:
        raise InputError("regimen", text, "an amount above 0", match["unit"])
    if match["unit"].lower() == "g":
        amount /= weight_kg
    count = int(match["count"] or 1)
    if not 1 <= count <= _MAX_DOSES:
        raise InputError("regimen", text, f"a count of 1..{_MAX_DOSES}", "count")
    every_days = 1.0
    if match["every"] is not None:
        every_days = float(match["every"]) * (7.0 if match["every_unit"].lower() == "w" else 1.0)
        if every_days <= 0:
            raise InputError("regimen", text, "a repeat interval above 0", "days")
    if route == "sc":
        if match["hours"] is not None:
            raise InputError("regimen", text, "no ~HOURS for SC doses (absorbed from a depot)")
        hours = 0.0
    else:
        hours = float(match["hours"]) if match["hours"] is not None else default_infusion_hours
    if hours >= every_days * 24.0 and count > 1:
        raise InputError(
            "regimen",
            text,
            f"an infusion shorter than the repeat interval ({every_days:g} d)",
            "hours",
        )
    day = float(match["day"])
    return [
        Dose(day + k * every_days, amount, "sc" if route == "sc" else "iv", hours)
        for k in range(count)
    ]


def parse_regimen(
    terms: list[str] | tuple[str, ...], weight_kg: float, default_infusion_hours: float
) -> list[Dose]:
    """All doses of a regimen given as terms (or one string of terms separated by commas)."""
    if not math.isfinite(weight_kg) or weight_kg <= 0:
        raise InputError("weight_kg", weight_kg, "above 0", "kg")
    pieces = [p for term in terms for p in term.split(",") if p.strip()]
    if not pieces:
        raise InputError("regimen", "", SYNTAX)
    doses: list[Dose] = []
    for piece in pieces:
        doses.extend(parse_term(piece, weight_kg, default_infusion_hours))
    return sorted(doses, key=lambda d: d.day)
