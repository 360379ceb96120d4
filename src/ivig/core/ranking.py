"""Rank immunoglobulin products for one patient, with the reasons behind every place.

Every product gets a status (``preferred``, ``acceptable``, ``caution``, ``excluded``) and a
score from the rules of ``ranking_rules.yaml`` (exclusions, cautions, penalties for the
patient's risks), then the clinical criteria of issue 15, each shown as a reason with its
source. The order is deterministic and stated (:data:`ORDER`):

1. status (preferred first, excluded last), then - when an IgA rule fired - the lowest known IgA;
2. the rules' score for the patient's risks (higher first);
3. labelled for this indication in this jurisdiction;
4. on the jurisdiction's supply list (Australia: products the NBA supplies) or the local
   formulary (current supply before a product being replaced or only provided for);
5. labelled rate data present for the route (the plan can schedule it);
6. fewer risk-relevant excipients for this patient (sugars with renal risk or diabetes, sodium
   salts with volume-overload risk); when they matter, a formulation not fully known comes after
   one known to be free of them;
7. tie-breaks, in the order of ``ranking_settings.yaml`` (a local setting): marketed in the
   jurisdiction, labelled there for a neurological indication, fewest vials and least waste for
   the plan's dose, the name (see :mod:`ivig.core.ranking_ties`); the product id last. The
   tie-break that decided is stated beside every tied product, as a reason and ``tie_break``.
"""

from __future__ import annotations

from ivig.core.catalogue import (
    concentration_percent,
    excipient,
    iga_representative,
    product_route,
)
from ivig.core.risk import risk_groups, risk_ids
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any, NotRequired

    from typing_extensions import TypedDict

    from ivig.core.ranking_ties import VialDose
    from ivig.core.risk import RiskFinding
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import Product, RankingRule

    class Reason(TypedDict):
        rule: str
        text: str
        source: str
        sources: list[str]
        verified: bool

    class RankedProduct(TypedDict):
        """One product's place in the ranking, with its reasons."""

        rank: int
        id: str
        name: str
        status: str
        score: float
        routes: list[str]
        concentration_percent: float | None
        iga_ug_per_ml: float | None
        iga_metric: str | None
        market_status: str
        reasons: list[Reason]
        score_components: ScoreComponents
        schedulable: bool
        unverified: bool
        note: NotRequired[str]
        tie_break: NotRequired[str]

    class ScoreComponents(TypedDict):
        """The criteria behind the place, in the order they count."""

        rules_score: float
        labelled_for_indication: bool | None
        supply: str | None
        rate_data: bool
        risk_excipients: list[str]
        formulation_known: bool | None


__all__ = ["ORDER", "STATUSES", "rank_products"]

#: the ranking order, as stated in every ranking
ORDER = (
    "status (and lowest IgA when an IgA rule applies)",
    "score of the patient's risk rules",
    "labelled for the indication in this jurisdiction",
    "on the supply list or local formulary",
    "labelled rate data for the route",
    "fewer risk-relevant excipients (a formulation not fully known after a known one)",
    "tie-breaks of ranking_settings.yaml (stated beside each tied product)",
)
_SUPPLY_RANK = {"formulary": 3, "current": 2, "being_replaced": 1, "provision": 1}
_SUGARS = ("sucrose", "maltose", "glucose", "sorbitol")
_SODIUM = ("sodium_chloride", "sodium_acetate", "sodium_phosphate")

#: statuses from best to worst
STATUSES = ("preferred", "acceptable", "caution", "excluded")
ROUTES = ("iv", "sc", "im")


def _fires(rule: RankingRule, ids: set[str]) -> bool:
    return bool(set(rule["when_any"]) & ids) and set(rule.get("when_all", [])) <= ids


def _select(
    kb: KnowledgeBase,
    formulary: list[str] | None,
    region: str | None,
    route: str | None,
    include_discontinued: bool,
) -> list[Product]:
    products: list[Product] = kb.data["products"]
    if route is not None and route not in ROUTES:
        raise InputError("route", route, ", ".join(ROUTES))
    if region is not None:
        regions = sorted({r for p in products for r in p["regions"]})
        if region not in regions:
            raise InputError("region", region, ", ".join(regions))
    if formulary is not None:
        if not formulary:
            raise InputError("formulary", formulary, "at least one product id")
        wanted = {kb.product(pid)["id"] for pid in formulary}
        chosen = [p for p in products if p["id"] in wanted]
    else:
        chosen = [p for p in products if include_discontinued or p["status"] != "discontinued"]
    if region is not None:
        chosen = [p for p in chosen if region in p["regions"]]
    if route is not None:
        chosen = [p for p in chosen if route in p["routes"]]
    return chosen


def _fact(rule: str, text: str, sources: list[str], verified: bool) -> Reason:
    return {
        "rule": rule,
        "text": text,
        "source": sources[0] if sources else "",
        "sources": sources,
        "verified": verified,
    }


def _labelled(
    product: Product, indication: str | None, region: str | None, route: str | None = None
) -> tuple[bool | None, Reason | None]:
    """Whether the product is labelled for ``indication`` (in ``region``) - by ``route`` when
    the product has both routes: an SC plan counts the label only if an SC rate record of the
    label names the indication (Gammagard Liquid is labelled for CIDP intravenously; its SC
    rates are for PI only)."""
    if indication is None:
        return None, None
    where = f" in {region.upper()}" if region else ""
    for use in product.get("labelled_uses", []):
        if (region is None or use["region"] == region) and indication in use["neuro"]:
            ids = [s["id"] for s in use["sources"]]
            other = _other_route_only(product, indication, route)
            if other is not None:
                text = f"Labelled for {indication}{where} only {other}"
                return False, _fact("labelled-indication", text, ids, use["verified"])
            text = f"Labelled for {indication}{where}"
            return True, _fact("labelled-indication", text, ids, use["verified"])
    text = f"Not labelled for {indication}{where} in the knowledge base"
    return False, _fact("labelled-indication", text, [], True)


def _other_route_only(product: Product, indication: str, route: str | None) -> str | None:
    """For an SC plan of a product given both ways, why its label for ``indication`` is IV
    only (its SC rate records name other indications); ``None`` if the label covers SC."""
    if route != "sc" or "iv" not in product["routes"]:
        return None
    records = list(product.get("sc_rates", []))
    if any(indication in r["indications"] for r in records):
        return None
    named = ", ".join(sorted({i for r in records for i in r["indications"]}))
    return "intravenously" + (f" (its SC rates are labelled for {named})" if named else "")


def _supply(
    product: Product, region: str | None, formulary: list[str] | None
) -> tuple[str | None, Reason | None]:
    if formulary is not None:
        return "formulary", _fact("supply", "On the local formulary", [], True)
    for entry in product.get("supply", []):
        if region is not None and entry["region"] == region:
            ids = [s["id"] for s in entry["sources"]]
            text = f"{entry['program']} ({entry['status'].replace('_', ' ')})"
            return entry["status"], _fact("supply", text, ids, entry["verified"])
    if region == "au":
        return None, _fact("supply", "Not on the NBA supply list in the knowledge base", [], True)
    return None, None


def _rate_data(product: Product, route: str | None) -> tuple[bool, Reason]:
    used = route or product_route(product)
    records: list[Any] = list(
        product.get("iv_rates", []) if used == "iv" else product.get("sc_rates", [])
    )
    if records:
        ids = list(dict.fromkeys(s["id"] for r in records for s in r["sources"]))
        text = f"Labelled {used.upper()} rates in the knowledge base: the plan can schedule it"
        return True, _fact("rate-data", text, ids, all(r["verified"] for r in records))
    text = f"No labelled {used.upper()} rates in the knowledge base: the plan cannot schedule it"
    return False, _fact("rate-data", text, [], True)


def _risk_excipients(
    product: Product, ids: set[str], groups: set[str]
) -> tuple[list[str], Reason | None]:
    wanted: list[str] = []
    if "renal" in groups or "diabetes" in ids:
        wanted += _SUGARS
    if "volume" in groups:
        wanted += _SODIUM
    if not wanted:
        return [], None
    found = [e for e in wanted if excipient(product, e) is not None]
    if not found:
        known = "" if product["excipients_complete"] else " listed (formulation not fully known)"
        return [], _fact("risk-excipients", f"No risk-relevant excipients{known}", [], True)
    records = [r for r in (excipient(product, e) for e in found) if r is not None]
    sources = list(dict.fromkeys(s["id"] for r in records for s in r["sources"]))
    names = ", ".join(n.replace("_", " ") for n in found)
    return found, _fact("risk-excipients", f"Risk-relevant excipients: {names}", sources, True)


def _criteria(
    product: Product,
    *,
    indication: str | None,
    region: str | None,
    supply_region: str | None,
    formulary: list[str] | None,
    route: str | None,
    ids: set[str],
    groups: set[str],
) -> tuple[dict[str, Any], list[Reason]]:
    labelled, r1 = _labelled(product, indication, region, route)
    supply, r2 = _supply(product, supply_region, formulary)
    rates, r3 = _rate_data(product, route)
    found, r4 = _risk_excipients(product, ids, groups)
    matters = r4 is not None
    reasons = [r for r in (r1, r2, r3, r4) if r is not None]
    return {
        "labelled_for_indication": labelled,
        "supply": supply,
        "rate_data": rates,
        "risk_excipients": found,
        "formulation_known": bool(product["excipients_complete"]) if matters else None,
    }, reasons


def rank_products(
    kb: KnowledgeBase,
    risks: list[RiskFinding] | list[str],
    *,
    formulary: list[str] | None = None,
    region: str | None = None,
    route: str | None = None,
    indication: str | None = None,
    include_discontinued: bool = False,
    labelling_region: str | None = None,
    dose: VialDose | None = None,
) -> list[RankedProduct]:
    """Products ranked for a patient with ``risks`` (findings or risk-factor ids), best first.

    ``formulary`` limits the ranking to those product ids (the stock); ``region`` and ``route``
    filter by market and route; ``indication`` (a condition id such as ``cidp``) lets labelling
    count and lets rules that need a labelled indication (SC preference) apply;
    ``labelling_region`` is the jurisdiction's region for labelling and supply when ``region``
    is not used as a filter (a local formulary). Discontinued products are left out unless named
    in the formulary or ``include_discontinued`` is set. ``dose`` (the plan's dose, see
    :func:`ivig.core.ranking_ties.vial_dose`) lets the vial tie-breaks count. The order is
    :data:`ORDER`.
    """
    ids = risk_ids(kb, risks)
    groups = risk_groups(kb, ids)
    rules: list[RankingRule] = kb.data["ranking_rules"]
    fired = [r for r in rules if _fires(r, ids)]
    products = _select(kb, formulary, region, route, include_discontinued)
    iga_active = any(r["effect"] == "order_by_iga" for r in fired)
    jurisdiction_region = labelling_region or region
    if fired:  # the rules' module is needed only when some rule fires for this patient
        from ivig.core.ranking_rules import apply_iga, apply_rules
    rows: list[RankedProduct] = []
    for product in products:
        level, score, reasons = (
            apply_rules(product, fired, indication, route) if fired else (1, 0.0, [])
        )
        components, more = _criteria(
            product,
            indication=indication,
            region=jurisdiction_region,
            supply_region=jurisdiction_region,
            formulary=formulary,
            route=route,
            ids=ids,
            groups=groups,
        )
        rows.append(_row(product, level, score, reasons + more, components, region))
    if iga_active:
        apply_iga(rows, [r for r in fired if r["effect"] == "order_by_iga"], products, region)
    for row, product in zip(rows, products, strict=True):
        if product["status"] != "marketed":
            row["note"] = f"catalogue status: {product['status'].replace('_', ' ')}"
        row["unverified"] = (
            any(not r["verified"] for r in row["reasons"]) or not product["verified"]
        )
    _sort(kb, rows, products, iga_active, jurisdiction_region, dose)
    for n, row in enumerate(rows, start=1):
        row["rank"] = n
    return rows


def _row(
    product: Product,
    level: int,
    score: float,
    reasons: list[Reason],
    components: dict[str, Any],
    region: str | None,
) -> RankedProduct:
    iga = iga_representative(product, region)
    conc = product.get("concentration")
    return {
        "rank": 0,
        "id": product["id"],
        "name": product["name"],
        "status": STATUSES[level],
        "score": score,
        "routes": list(product["routes"]),
        "concentration_percent": concentration_percent(product) if conc else None,
        "iga_ug_per_ml": iga["iga_ug_per_ml"] if iga else None,
        "iga_metric": iga["metric"] if iga else None,
        "market_status": product["status"],
        "reasons": reasons,
        "score_components": {
            "rules_score": score,
            "labelled_for_indication": components["labelled_for_indication"],
            "supply": components["supply"],
            "rate_data": components["rate_data"],
            "risk_excipients": components["risk_excipients"],
            "formulation_known": components["formulation_known"],
        },
        "schedulable": bool(components["rate_data"]),
        "unverified": False,
    }


def _criteria_key(row: RankedProduct, iga_active: bool) -> tuple[float, ...]:
    comp = row["score_components"]
    iga = row["iga_ug_per_ml"]
    iga_key = (iga if iga is not None else float("inf")) if iga_active else 0.0
    return (
        STATUSES.index(row["status"]),
        iga_key,
        -row["score"],
        -1.0 if comp["labelled_for_indication"] else 0.0,
        -float(_SUPPLY_RANK.get(comp["supply"] or "", 0)),
        -1.0 if comp["rate_data"] else 0.0,
        float(len(comp["risk_excipients"])) + (0.5 if comp["formulation_known"] is False else 0.0),
    )


def _sort(
    kb: KnowledgeBase,
    rows: list[RankedProduct],
    products: list[Product],
    iga_active: bool,
    region: str | None,
    dose: VialDose | None,
) -> None:
    """Sort ``rows`` by the criteria, then the tie-breaks, then the id; explain the ties."""
    from ivig.core.ranking_ties import explain_ties, tie_key

    order = kb.data["ranking_settings"]["tie_break"]["order"]
    keyed = [
        (_criteria_key(row, iga_active), tie_key(product, order, region, dose), row)
        for row, product in zip(rows, products, strict=True)
    ]
    keyed.sort(key=lambda item: (item[0], item[1][0], item[2]["id"]))
    rows[:] = [item[2] for item in keyed]
    explain_ties(kb, rows, [item[0] for item in keyed], [item[1] for item in keyed])
