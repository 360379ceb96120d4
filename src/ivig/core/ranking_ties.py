"""The order of products that rank equal on every criterion (``ranking_settings.yaml``).

:func:`ivig.core.ranking.rank_products` sorts by its criteria (:data:`ivig.core.ranking.ORDER`)
and then by the tie-breaks the knowledge base lists, in its order (a local setting, unverified):
marketed in the jurisdiction, labelled there for a neurological indication, the fewest vials and
the least waste for the plan's dose, the name. Each tied product is told which tie-break decided
its place and against which product (:func:`explain_ties`).

The vials are counted as the plan opens them (:func:`ivig.core.rounding.choose_vials`): rounded
to whole vials when the plan rounds so, else the smallest set that covers each day's grams.
"""

from __future__ import annotations

from ivig.core.catalogue import labelled_neuro_conditions, vial_sizes_g
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import TypedDict

    from ivig.core.ranking import RankedProduct
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema import RoundingRule, TieBreak
    from ivig.knowledge.schema_products import Product

    class VialDose(TypedDict):
        """The plan's dose as the vial tie-breaks count it."""

        #: the grams of each day before any vial rounding
        days_g: list[float]
        #: ``nearest`` or ``cheapest`` when the plan rounds to whole vials; ``None``: the
        #: vials cover each day's grams
        direction: str | None
        tolerance_fraction: float
        max_g_per_day: float


__all__ = ["LABELS", "VialDose", "explain_ties", "tie_key", "vial_dose"]

#: what each tie-break of ``ranking_settings.yaml`` means, as the reasons say it
LABELS = {
    "marketed_in_jurisdiction": "marketed in the jurisdiction",
    "labelled_neuro": "labelled for a neurological indication",
    "fewest_vials": "fewest vials for the plan's dose",
    "least_waste": "least waste for the plan's dose",
    "name": "name",
}
_NONE = 1 << 30


def vial_dose(plan: dict[str, Any], rule: RoundingRule | None) -> VialDose:
    """The vial tie-breaks' view of a product-free dose plan: with the whole-vial ``rule``
    each day's target is rounded as the plan will round it; without, each day is covered."""
    n_days = len(plan["days"])
    if rule is None:
        return {
            "days_g": [float(d["grams"]) for d in plan["days"]],
            "direction": None,
            "tolerance_fraction": 0.0,
            "max_g_per_day": float("inf"),
        }
    return {
        "days_g": [plan["target_total_g"] / n_days] * n_days,
        "direction": rule.get("direction", "nearest"),
        "tolerance_fraction": rule.get("tolerance_fraction", 0.0),
        "max_g_per_day": plan["max_total_g"] / n_days,
    }


def _vials(product: Product, dose: VialDose | None) -> tuple[int, float, str]:
    """(vials, grams left over, text) for the whole course of ``dose``."""
    if dose is None:
        return 0, 0.0, "no dose planned"
    from ivig.core.rounding import choose_vials

    try:
        sizes = vial_sizes_g(product)
    except InputError:
        return _NONE, float(_NONE), "no pack sizes known"
    count, waste = 0, 0.0
    for grams in dose["days_g"]:
        rounded = dose["direction"] is not None
        choice = choose_vials(
            grams,
            sizes,
            dose["tolerance_fraction"] if rounded else 0.0,
            dose["max_g_per_day"] if rounded else float("inf"),
            dose["direction"] or "cheapest",
        )
        count += sum(v["count"] for v in choice["vials"])
        waste += choice["waste_g"]
    waste = round(waste, 2)
    return count, waste, f"{count} vial(s), {waste:g} g left over"


def _not_sold(product: Product, where: str) -> str:
    if product["status"] != "marketed":
        return f"catalogue status {product['status'].replace('_', ' ')}"
    return f"not marketed{where} (marketed in {', '.join(product['regions']).upper()})"


def tie_key(
    product: Product, order: list[TieBreak], region: str | None, dose: VialDose | None
) -> tuple[tuple[Any, ...], dict[str, str]]:
    """The product's values of the tie-breaks in ``order`` (lower first) and each one's text."""
    where = f" in {region.upper()}" if region else ""
    values: list[Any] = []
    texts: dict[str, str] = {}
    n_vials, waste, vial_text = _vials(product, dose)
    for name in order:
        if name == "marketed_in_jurisdiction":
            sold = product["status"] == "marketed" and (
                region is None or region in product["regions"]
            )
            values.append(0 if sold else 1)
            texts[name] = f"marketed{where}" if sold else _not_sold(product, where)
        elif name == "labelled_neuro":
            neuro = sorted(labelled_neuro_conditions(product, region))
            values.append(0 if neuro else 1)
            texts[name] = (
                f"labelled{where} for {', '.join(neuro)}" if neuro else "no neurological label"
            )
        elif name == "fewest_vials":
            values.append(n_vials)
            texts[name] = vial_text
        elif name == "least_waste":
            values.append(waste)
            texts[name] = vial_text
        else:  # name
            values.append(product["name"].casefold())
            texts[name] = product["name"]
    return tuple(values), texts


def explain_ties(
    kb: KnowledgeBase,
    rows: list[RankedProduct],
    criteria: list[tuple[float, ...]],
    ties: list[tuple[tuple[Any, ...], dict[str, str]]],
) -> None:
    """Beside each product that ties with another on every criterion, the tie-break that
    decided its place and the product it was set against (a reason and ``tie_break``)."""
    setting = kb.data["ranking_settings"]["tie_break"]
    order = setting["order"]
    sources = [s["id"] for s in setting["sources"]]
    for n, row in enumerate(rows):
        tied = [m for m in range(len(rows)) if m != n and criteria[m] == criteria[n]]
        if not tied:
            continue
        other = n - 1 if n - 1 in tied else n + 1  # the neighbour it was set against
        place = "after" if other < n else "before"
        decided = next(
            (k for k in range(len(order)) if ties[n][0][k] != ties[other][0][k]), len(order) - 1
        )
        name = order[decided]
        mine, theirs = ties[n][1][name], ties[other][1][name]
        names = ", ".join(rows[m]["id"] for m in tied[:3]) + (" ..." if len(tied) > 3 else "")
        text = (
            f"Tie-break ({LABELS[name]}): {mine}; placed {place} {rows[other]['name']} ({theirs})"
        )
        row["tie_break"] = (
            f"tied with {names} on every criterion: {LABELS[name]} decided "
            f"(local setting ivig-ranking-settings): {mine}, {place} {rows[other]['id']} "
            f"({theirs})"
        )
        row["reasons"].append(
            {
                "rule": "tie-break",
                "text": text,
                "source": sources[0],
                "sources": sources,
                "verified": setting["verified"],
            }
        )
