"""The ranking rules a patient's risks fire (``ranking_rules.yaml``), applied to products.

:func:`ivig.core.ranking.rank_products` imports this module when some rule fires for the patient:
each product's status level, score and reasons from the rules (:func:`apply_rules`), and the
IgA order when an IgA rule fired (:func:`apply_iga`). A patient without risk findings fires no
rule, and the ranking then needs none of this.
"""

from __future__ import annotations

from ivig.core.catalogue import excipient, iga_representative, labelled_neuro_conditions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.core.ranking import RankedProduct, Reason
    from ivig.knowledge.schema_products import Product, ProductMatch, RankingRule

__all__ = ["apply_iga", "apply_rules"]


def _reason(rule: RankingRule, text: str, verified: bool | None = None) -> Reason:
    ids = [s["id"] for s in rule["sources"]]
    return {
        "rule": rule["id"],
        "text": text,
        "source": ids[0],
        "sources": ids,
        "verified": rule["verified"] if verified is None else verified and rule["verified"],
    }


_NO_MATCH: tuple[bool, bool, str] = (False, True, "")


def _match_excipients(sel: ProductMatch, product: Product) -> tuple[bool, bool, str] | None:
    """None when the selector names no excipients; else (matches, verified, detail)."""
    if "excipients_any" not in sel:
        return None
    found = [h for h in (excipient(product, n) for n in sel["excipients_any"]) if h is not None]
    if not found:
        return _NO_MATCH
    names = ", ".join(h["name"].replace("_", " ") for h in found)
    return True, all(h["verified"] for h in found), names


def _match_concentration(sel: ProductMatch, product: Product) -> tuple[bool, bool, str] | None:
    below = sel.get("concentration_percent_below")
    at_least = sel.get("concentration_percent_at_least")
    if below is None and at_least is None:
        return None
    conc = product.get("concentration")
    if conc is None:
        return _NO_MATCH
    pct = conc["percent"]
    if (below is not None and not pct < below) or (at_least is not None and not pct >= at_least):
        return _NO_MATCH
    return True, conc["verified"], f"{pct:g} %"


def _match(rule: RankingRule, product: Product, route: str | None) -> tuple[bool, bool, str]:
    """(matches, facts verified, matched detail) of the rule's product selector. A route
    selector matches a product given by one of its routes - for a plan on ``route``, only when
    the plan's route is one of them (an IV plan gets no reason about the SC route)."""
    sel = rule["match"]
    if "products" in sel and product["id"] not in sel["products"]:
        return _NO_MATCH
    if "routes_any" in sel:
        routes = set(product["routes"]) if route is None else {route} & set(product["routes"])
        if not set(sel["routes_any"]) & routes:
            return _NO_MATCH
    if "form" in sel and product["form"] != sel["form"]:
        return _NO_MATCH
    verified = True
    detail: list[str] = []
    for part in (_match_excipients(sel, product), _match_concentration(sel, product)):
        if part is None:
            continue
        if not part[0]:
            return _NO_MATCH
        verified = verified and part[1]
        detail.append(part[2])
    return True, verified, "; ".join(detail)


def apply_rules(
    product: Product, fired: list[RankingRule], indication: str | None, route: str | None = None
) -> tuple[int, float, list[Reason]]:
    """(status level, score, reasons) of the patient's risk rules for one product, planned on
    ``route`` (``None``: any of its routes)."""
    score = 0.0
    reasons: list[Reason] = []
    worst = 1
    preferred = False
    for rule in fired:
        if rule["effect"] == "order_by_iga":
            continue
        ok, facts_verified, detail = _match(rule, product, route)
        text = f"{rule['reason']} ({detail})" if detail else rule["reason"]
        if not ok:
            worst = max(worst, _unknown_formulation(rule, product, reasons))
            continue
        effect = rule["effect"]
        if effect == "prefer":
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
        elif effect in ("caution", "penalise"):
            score -= rule["weight"]
        worst = max(worst, {"exclude": 3, "caution": 2}.get(effect, 1))
        reasons.append(_reason(rule, text, facts_verified))
    level = worst if worst > 1 else (0 if preferred else 1)
    return level, score, reasons


def _unknown_formulation(rule: RankingRule, product: Product, reasons: list[Reason]) -> int:
    if not (
        rule.get("check_unknown_formulation")
        and not product["excipients_complete"]
        and "excipients_any" in rule["match"]
    ):
        return 1
    names = ", ".join(n.replace("_", " ") for n in rule["match"]["excipients_any"])
    reasons.append(
        _reason(
            rule,
            f"Formulation not fully known: check the label for {names} ({rule['reason']})",
            False,
        )
    )
    return 2


def apply_iga(
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
