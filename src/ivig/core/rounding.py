"""Rounding a dose: to a step in grams (Ontario's 5 g) or to whole vials of one product."""

from __future__ import annotations

import math

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any


__all__ = ["choose_vials", "round_to_step"]

_UNITS_PER_G = 20  # vial sizes are multiples of 0.05 g (e.g. 1.65 g, 2.5 g)


def round_to_step(total_g: float, step_g: float, max_g: float) -> tuple[float, str]:
    """``total_g`` to the nearest multiple of ``step_g`` (halves round up), as Ontario does.

    The result may exceed ``max_g`` by less than half a step; the note says so when it does.
    """
    nearest = float(int(total_g / step_g + 0.5) * step_g)
    note = f"rounded to the nearest {step_g:g} g"
    if nearest > max_g + 1e-9:
        note += (
            f"; {nearest - max_g:.2f} g above the regimen maximum of {max_g:.2f} g "
            f"(within half a rounding step)"
        )
    return nearest, note


#: tables are built to a multiple of this many units (25.6 g); one per set of vial sizes, kept
_TABLE_STEP_UNITS = 512
_tables: dict[tuple[int, ...], tuple[list[int], list[int]]] = {}


def _vial_table(limit_units: int, sizes_units: list[int]) -> tuple[list[int], list[int]]:
    """Fewest vials for each reachable amount up to at least ``limit_units`` (unbounded
    knapsack). Every plan with a product asks for one (the vials to open), so the table of each
    set of vial sizes is kept and grown when a larger dose needs it (tens of kilobytes each; at
    most 64 sets are kept)."""
    key = tuple(sizes_units)
    table = _tables.get(key)
    if table is None or len(table[0]) <= limit_units:
        if table is None and len(_tables) >= 64:  # bounded: a server sees few products
            _tables.clear()
        limit = -(-(limit_units + 1) // _TABLE_STEP_UNITS) * _TABLE_STEP_UNITS
        table = _build_table(limit, sizes_units)
        _tables[key] = table
    return table


def _build_table(limit_units: int, sizes_units: list[int]) -> tuple[list[int], list[int]]:
    """``(count, last)``: the fewest vials that make each amount (``1 << 30``: none) and the
    vial added last (the smallest size of a fewest-vials way). Only multiples of the sizes'
    greatest common divisor can be made, so the table is computed over those alone (a tenth of
    the work for vial sizes of 1, 2.5, 5, 10, 20 and 40 g) and spread out."""
    inf = 1 << 30
    step = math.gcd(*sizes_units)
    sizes = [size // step for size in sizes_units]  # ascending, as given
    steps = limit_units // step
    fewest = [inf] * (steps + 1)
    added = [0] * (steps + 1)
    fewest[0] = 0
    for amount in range(1, steps + 1):
        best, chosen = inf, 0
        for size in sizes:
            if size > amount:
                break
            if fewest[amount - size] < best:
                best, chosen = fewest[amount - size], size
        if best < inf:
            fewest[amount], added[amount] = best + 1, chosen * step
    count = [inf] * (limit_units + 1)
    last = [0] * (limit_units + 1)
    count[::step], last[::step] = fewest, added
    return count, last


def _within_amounts(count: list[int], low: float, high: float) -> list[int]:
    """The whole-vial amounts (in units) from ``low`` to ``high`` grams, ascending."""
    first = max(int(low * _UNITS_PER_G - 1e-9) + 1, 1)
    last = int(high * _UNITS_PER_G + 1e-9)
    return [
        a for a in range(first, last + 1) if count[a] < (1 << 30) and a / _UNITS_PER_G >= low - 1e-9
    ]


def choose_vials(
    target_g: float,
    vial_sizes_g: list[float],
    tolerance_fraction: float,
    max_g: float,
    direction: str = "nearest",
) -> dict[str, Any]:
    """The whole-vial amount for ``target_g``.

    ``nearest`` (the pharmacy's "nearest whole vial"): the amount closest to the target, a tie
    to the fewer grams; ``cheapest``: the fewest grams. Either way the fewest vials that make the
    amount, within ``tolerance_fraction`` of the target and never above ``max_g`` (when the
    nearest is above it, the nearest at or below it). If no whole-vial amount is within, the
    target itself is given from the smallest set of vials that covers it and the remainder is
    reported as waste.
    """
    if direction not in ("nearest", "cheapest"):
        raise ValueError(f"direction {direction!r}: nearest or cheapest")
    sizes_units = sorted({round(s * _UNITS_PER_G) for s in vial_sizes_g if s > 0})
    if not sizes_units:
        raise ValueError("no vial sizes")
    low = target_g * (1 - tolerance_fraction)
    high = min(target_g * (1 + tolerance_fraction), max_g)
    limit = int((max(high, target_g) + max(vial_sizes_g)) * _UNITS_PER_G) + 1
    count, last = _vial_table(limit, sizes_units)
    amounts = _within_amounts(count, low, high)
    chosen: int | None = None
    if amounts:
        target_units = target_g * _UNITS_PER_G
        # ascending amounts: min() keeps the first of equals, the fewer grams
        chosen = (
            amounts[0]
            if direction == "cheapest"
            else min(amounts, key=lambda a: round(abs(a - target_units), 6))
        )
    within = chosen is not None
    if chosen is None:  # cover the target; the rest is waste
        start = int(target_g * _UNITS_PER_G - 1e-9) + 1 if target_g > 0 else 0
        chosen = next(a for a in range(max(start, 1), limit + 1) if count[a] < (1 << 30))
    vials: dict[int, int] = {}
    amount = chosen
    while amount > 0:
        size = last[amount]
        vials[size] = vials.get(size, 0) + 1
        amount -= size
    opened_g = chosen / _UNITS_PER_G
    given_g = opened_g if within else target_g
    return {
        "given_g": round(given_g, 2),
        "opened_g": round(opened_g, 2),
        "waste_g": round(opened_g - given_g, 2),
        "within_tolerance": within,
        "vials": [
            {"size_g": size / _UNITS_PER_G, "count": n}
            for size, n in sorted(vials.items(), reverse=True)
        ],
    }
