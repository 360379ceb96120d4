"""Rank immunoglobulin products for one patient with the rules of ``ranking_rules.yaml``.

Every product gets a status (``preferred``, ``acceptable``, ``caution``, ``excluded``), a score
and the reasons behind them, each with its source and whether it was verified. The order is
deterministic and stated: status (preferred first, excluded last); then, when an IgA rule fired,
the lowest known IgA (unknown last); then the score (higher first); then the product id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivig.core.catalogue import (
    concentration_percent,
    excipient,
    iga_representative,
    labelled_neuro_conditions,
)
from ivig.core.risk import risk_ids
from ivig.errors import InputError

if TYPE_CHECKING:
    from typing import NotRequired

    from typing_extensions import TypedDict

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
        unverified: bool
        note: NotRequired[str]


__all__ = ["STATUSES", "rank_products"]

#: statuses from best to worst
STATUSES = ("preferred", "acceptable", "caution", "excluded")
ROUTES = ("iv", "sc", "im")


def _reason(rule: RankingRule, text: str, verified: bool | None = None) -> Reason:
    ids = [s["id"] for s in rule["sources"]]
    return {
        "rule": rule["id"],
        "text": text,
        "source": ids[0],
        "sources": ids,
        "verified": rule["verified"] if verified is None else verified and rule["verified"],
    }


def _match(rule: RankingRule, product: Product) -> tuple[bool, bool, str]:
    """(matches, facts verified, matched detail) of the rule's product selector."""
    sel = rule["match"]
    verified = True
    detail: list[str] = []
    if "products" in sel and product["id"] not in sel["products"]:
        return False, True, ""
    if "excipients_any" in sel:
        hits = [excipient(product, name) for name in sel["excipients_any"]]
        found = [h for h in hits if h is not None]
        if not found:
            return False, True, ""
        verified = all(h["verified"] for h in found)
        detail.append(", ".join(h["name"].replace("_", " ") for h in found))
    if "concentration_percent_below" in sel or "concentration_percent_at_least" in sel:
        conc = product.get("concentration")
        if conc is None:
            return False, True, ""
        pct = conc["percent"]
        if "concentration_percent_below" in sel and not pct < sel["concentration_percent_below"]:
            return False, True, ""
        if (
            "concentration_percent_at_least" in sel
            and not pct >= sel["concentration_percent_at_least"]
        ):
            return False, True, ""
        verified = verified and conc["verified"]
        detail.append(f"{pct:g} %")
    if "routes_any" in sel and not set(sel["routes_any"]) & set(product["routes"]):
        return False, True, ""
    if "form" in sel and product["form"] != sel["form"]:
        return False, True, ""
    return True, verified, "; ".join(detail)


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


def rank_products(
    kb: KnowledgeBase,
    risks: list[RiskFinding] | list[str],
    *,
    formulary: list[str] | None = None,
    region: str | None = None,
    route: str | None = None,
    indication: str | None = None,
    include_discontinued: bool = False,
) -> list[RankedProduct]:
    """Products ranked for a patient with ``risks`` (findings or risk-factor ids), best first.

    ``formulary`` limits the ranking to those product ids (the stock); ``region`` and ``route``
    filter by market and route; ``indication`` (a condition id such as ``cidp``) lets rules that
    need a labelled indication (SC preference) apply. Discontinued products are left out unless
    named in the formulary or ``include_discontinued`` is set.
    """
    ids = risk_ids(kb, risks)
    rules: list[RankingRule] = kb.data["ranking_rules"]
    fired = [r for r in rules if _fires(r, ids)]
    products = _select(kb, formulary, region, route, include_discontinued)
    iga_active = any(r["effect"] == "order_by_iga" for r in fired)

    rows: list[RankedProduct] = []
    for product in products:
        score = 0.0
        reasons: list[Reason] = []
        worst = 1
        preferred = False
        for rule in fired:
            if rule["effect"] == "order_by_iga":
                continue
            ok, facts_verified, detail = _match(rule, product)
            text = f"{rule['reason']} ({detail})" if detail else rule["reason"]
            if ok:
                if rule["effect"] == "exclude":
                    worst = max(worst, 3)
                elif rule["effect"] == "caution":
                    worst = max(worst, 2)
                    score -= rule["weight"]
                elif rule["effect"] == "penalise":
                    score -= rule["weight"]
                elif rule["effect"] == "prefer":
                    if rule.get("requires_labelled_indication"):
                        if indication is None:
                            reasons.append(
                                _reason(rule, f"{text} - give the indication to apply this", False)
                            )
                            continue
                        if indication not in labelled_neuro_conditions(product):
                            continue
                    preferred = True
                    score += rule["weight"]
                reasons.append(_reason(rule, text, facts_verified))
            elif (
                rule.get("check_unknown_formulation")
                and not product["excipients_complete"]
                and "excipients_any" in rule["match"]
            ):
                names = ", ".join(n.replace("_", " ") for n in rule["match"]["excipients_any"])
                worst = max(worst, 2)
                reasons.append(
                    _reason(
                        rule,
                        f"Formulation not fully known: check the label for {names} "
                        f"({rule['reason']})",
                        False,
                    )
                )
        level = worst if worst > 1 else (0 if preferred else 1)
        iga = iga_representative(product, region)
        conc = product.get("concentration")
        rows.append(
            {
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
                "unverified": False,
            }
        )
    if iga_active:
        _apply_iga(rows, [r for r in fired if r["effect"] == "order_by_iga"], products, region)
    for row, product in zip(rows, products, strict=True):
        if product["status"] != "marketed":
            row["note"] = f"catalogue status: {product['status'].replace('_', ' ')}"
        row["unverified"] = (
            any(not r["verified"] for r in row["reasons"]) or not product["verified"]
        )

    def key(row: RankedProduct) -> tuple[int, float, float, str]:
        iga = row["iga_ug_per_ml"]
        iga_key = (iga if iga is not None else float("inf")) if iga_active else 0.0
        return (STATUSES.index(row["status"]), iga_key, -row["score"], row["id"])

    rows.sort(key=key)
    for n, row in enumerate(rows, start=1):
        row["rank"] = n
    return rows


def _apply_iga(
    rows: list[RankedProduct],
    rules: list[RankingRule],
    products: list[Product],
    region: str | None,
) -> None:
    rule = rules[0]
    values = [
        r["iga_ug_per_ml"]
        for r in rows
        if r["status"] != "excluded" and r["iga_ug_per_ml"] is not None
    ]
    lowest = min(values, default=None)
    for row, product in zip(rows, products, strict=True):
        record = iga_representative(product, region)
        if record is None:
            row["reasons"].append(_reason(rule, f"{rule['reason']}: IgA content not known", True))
            continue
        shown = record.get("text", f"{record['iga_ug_per_ml']:g} µg/mL")
        text = f"{rule['reason']}: IgA {shown} ({record['metric']})"
        if row["iga_ug_per_ml"] == lowest and row["status"] != "excluded":
            row["score"] += rule["weight"]
            if row["status"] == "acceptable":
                row["status"] = "preferred"
            text += " - lowest known IgA in this selection"
        ids = [s["id"] for s in record["sources"]]
        row["reasons"].append(
            {
                "rule": rule["id"],
                "text": text,
                "source": ids[0],
                "sources": ids,
                "verified": rule["verified"] and record["verified"],
            }
        )
