"""Read-only helpers over product records: concentration, vial sizes, route, IgA, excipients.

Pure functions over the plain-data product records of the knowledge base (no I/O). The values
come from the data files; the only arithmetic here is unit conversion (% w/v = g per 100 mL).
"""

from __future__ import annotations

from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.knowledge.schema_products import Excipient, IgaContent, Product

__all__ = [
    "concentration_g_per_ml",
    "concentration_percent",
    "excipient",
    "iga_representative",
    "labelled_neuro_conditions",
    "product_route",
    "product_routes",
    "vial_sizes_g",
]

#: grams per mL in one percent weight/volume (1 % w/v = 1 g per 100 mL)
_G_PER_ML_PER_PERCENT = 0.01


def concentration_percent(product: Product, percent: float | None = None) -> float:
    """The IgG concentration in % w/v, or ``percent`` when it is one of the product's options.

    Raises :class:`InputError` naming the product when its concentration is unknown or the
    requested one is not a listed reconstitution.
    """
    conc = product.get("concentration")
    if conc is None:
        raise InputError(
            "product",
            product["id"],
            "a product with a known concentration",
            "percent",
            f"the concentration of {product['name']} is not in the knowledge base",
        )
    if percent is None:
        return float(conc["percent"])
    options = conc.get("options_percent", [conc["percent"]])
    if percent not in options:
        allowed = ", ".join(f"{o:g}" for o in options)
        raise InputError(
            "concentration_percent", percent, allowed, "percent", f"for {product['id']}"
        )
    return float(percent)


def concentration_g_per_ml(product: Product, percent: float | None = None) -> float:
    """IgG concentration in g/mL (10 % w/v -> 0.1 g/mL)."""
    return concentration_percent(product, percent) * _G_PER_ML_PER_PERCENT


def vial_sizes_g(product: Product, region: str | None = None) -> list[float]:
    """Sorted distinct pack sizes in grams (packs given in mL are converted).

    With ``region``, packs of that region plus packs without a region; raises
    :class:`InputError` naming the product when no pack size is known.
    """
    sizes: set[float] = set()
    for pack in product.get("packs", []):
        pack_region = pack.get("region")
        if region is not None and pack_region is not None and pack_region != region:
            continue
        sizes.update(float(g) for g in pack.get("sizes_g", []))
        ml = pack.get("sizes_ml", [])
        if ml:
            per_ml = concentration_g_per_ml(product)
            sizes.update(round(v * per_ml, 6) for v in ml)
    if not sizes:
        where = f" in region {region}" if region else ""
        raise InputError(
            "product",
            product["id"],
            "a product with known pack sizes",
            "g",
            f"no pack sizes of {product['name']}{where} are in the knowledge base",
        )
    return sorted(sizes)


def product_routes(product: Product) -> list[str]:
    """All labelled routes (``iv``, ``sc``, ``im``) in label order."""
    return list(product["routes"])


def product_route(product: Product) -> str:
    """The primary route: ``iv`` when the product has it, else its first route."""
    routes = product["routes"]
    return "iv" if "iv" in routes else routes[0]


def excipient(product: Product, name: str) -> Excipient | None:
    """The product's excipient record of that name, if the label lists it."""
    for item in product["excipients"]:
        if item["name"] == name:
            return item
    return None


def iga_representative(product: Product, region: str | None = None) -> IgaContent | None:
    """The IgA record used to compare products: lowest numeric value, region's first.

    Labels give a maximum or an average; the returned record keeps its ``metric`` so that
    outputs can say which. ``None`` when no numeric IgA value is known.
    """
    records = [r for r in product.get("iga", []) if "iga_ug_per_ml" in r]
    if region is not None:
        regional = [r for r in records if r.get("region") in (region, None)]
        records = regional or records
    if not records:
        return None
    return min(records, key=lambda r: r["iga_ug_per_ml"])


def labelled_neuro_conditions(product: Product, region: str | None = None) -> set[str]:
    """Neurological condition ids the product is labelled for (any region, or ``region``)."""
    out: set[str] = set()
    for ind in product.get("labelled_uses", []):
        if region is None or ind["region"] == region:
            out.update(ind["neuro"])
    return out
