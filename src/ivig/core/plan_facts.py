"""The knowledge items a plan used that are not verified, each named by its id.

A recommendation lists every number and rule behind its plan that was not seen in a primary
source: the dosing-weight policy, rule and formula, the regimen, the daily-split rule, the
rounding rule, the product facts the dose and schedule read (concentration, the pack sizes the
day's vials use, the rate record with its steps and maximum rate), the schedule settings that
shaped the steps (step ratio, default step interval, practical day length, first-infusion gap),
the governing at-risk ceiling, the SC conversion, the risk factors, the chosen product's ranking
reasons and the monitoring items. :func:`plan_unverified` only reads the plan's parts; it
computes nothing anew.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ivig.knowledge import KnowledgeBase

__all__ = ["plan_unverified", "weight_unverified"]


def weight_unverified(kb: KnowledgeBase, policy_id: str, weight: Mapping[str, Any]) -> list[str]:
    """The dosing-weight policy, rule and formula behind ``weight``, when unverified."""
    policy = kb.dosing_policy(policy_id)
    out: list[str] = []
    if not policy["verified"]:
        out.append(f"dosing-weight policy {policy_id}: {policy['name']}")
    if not weight["rule"]["verified"]:
        out.append(f"dosing-weight rule {policy_id}/{weight['rule']['id']}")
    if weight["method"] in ("ideal", "adjusted"):
        formula = kb.weight_formula(policy["formula"])
        if not formula["verified"]:
            out.append(f"dosing-weight formula {formula['id']}")
    return out


def _dose(kb: KnowledgeBase, dose: Mapping[str, Any]) -> list[str]:
    out = list(dose["unverified"])  # the regimen
    split = dose.get("split")
    if split and split["rule"] != "regimen-default" and not split["verified"] and split["changed"]:
        out.append(f"daily-split rule {split['rule']}: {split['reason']}")
    method = dose["rounding"]["method"]
    rule = next((r for r in kb.data["dosing"]["rounding"] if r["id"] == method), None)
    if rule is not None and not rule["verified"]:
        out.append(f"rounding rule {method}")
    sc = dose.get("sc_equivalent")
    if sc and not sc["verified"]:
        out.append(f"SC conversion {sc['conversion']} (factor {sc['factor']:g})")
    return out


def _product(product: Mapping[str, Any], dose: Mapping[str, Any]) -> list[str]:
    """The concentration and the pack sizes the day's vials use, when unverified."""
    pid = product["id"]
    out: list[str] = []
    conc = product.get("concentration")
    if conc and not conc["verified"] and dose.get("concentration_g_per_ml") is not None:
        out.append(f"concentration of {pid} ({conc['percent']:g} %)")
    used = sorted({v["size_g"] for day in dose["days"] for v in day.get("vials", [])})
    for size in used:
        packs = [p for p in product.get("packs", []) if size in _pack_grams(product, p)]
        if packs and not any(p["verified"] for p in packs):
            out.append(f"pack size {size:g} g of {pid}")
    return out


def _pack_grams(product: Mapping[str, Any], pack: Mapping[str, Any]) -> set[float]:
    """A pack entry's sizes in grams, as the vial table counts them (mL packs converted)."""
    grams = {float(g) for g in pack.get("sizes_g", [])}
    if pack.get("sizes_ml"):
        from ivig.core.catalogue import concentration_g_per_ml

        per_ml = concentration_g_per_ml(product)  # type: ignore[arg-type]
        grams |= {round(v * per_ml, 6) for v in pack["sizes_ml"]}
    return grams


def _rate_record(product: Mapping[str, Any], infusion: Mapping[str, Any]) -> list[str]:
    rid = infusion.get("rate_record")
    records = [*product.get("iv_rates", []), *product.get("sc_rates", [])]
    record = next((r for r in records if r["id"] == rid), None)
    if record is None or record["verified"]:
        return []
    if infusion["route"] == "sc":
        return [f"SC rate record {rid} of {product['id']} (rate and volume per site, sites)"]
    return [
        f"rate record {rid} of {product['id']} (first rate, steps, maximum "
        f"{infusion['label_max_rate_mg_per_kg_per_min']:g} mg/kg/min)"
    ]


def _settings(
    kb: KnowledgeBase, infusion: Mapping[str, Any], patient: Mapping[str, Any]
) -> list[str]:
    """The schedule settings and the at-risk ceiling that shaped the steps."""
    rules: Mapping[str, Any] = kb.data["schedule_rules"]
    out: list[str] = []

    def setting(name: str) -> None:
        item = rules[name]
        if not item["verified"]:
            unit = item["unit"]
            value = f"{item['value']:g}x" if unit == "ratio" else f"{item['value']:g} {unit}"
            out.append(f"schedule setting {name} ({value})")

    titration = infusion.get("titration") or {}
    if titration.get("method") == "doubling":
        setting("max_step_ratio")
        if str(titration.get("interval_basis", "")).startswith("the label gives no step"):
            setting("default_step_interval_min")
    if infusion.get("split_offer") or infusion["duration_min"] > infusion["practical_duration_min"]:
        setting("practical_duration_h")
    if patient.get("weeks_since_last_infusion") is not None:
        setting("first_infusion_gap_weeks")
    ceilings = infusion.get("ceilings") or []
    if ceilings and infusion.get("at_risk_ceiling_mg_per_kg_per_min") is not None:
        rule = ceilings[0]
        if not rule["verified"]:
            out.append(
                f"at-risk ceiling {rule['id']} ({rule['rate_mg_per_kg_per_min']:g} mg/kg/min)"
            )
    return out


def _others(
    risks: list[Any], ranked: list[Any], product_id: str | None, monitoring: list[Any]
) -> list[str]:
    out = [
        f"risk factor {r['id']} ({r['reason']})"
        for r in risks
        if isinstance(r, dict) and not r.get("verified", True)
    ]
    chosen = next((p for p in ranked if p["id"] == product_id), None)
    for reason in (chosen or {}).get("reasons", []):
        if not reason["verified"]:
            out.append(f"ranking reason {reason['rule']} for {product_id}: {reason['text']}")
    out += [f"monitoring {m['id']}" for m in monitoring if not m["verified"]]
    return out


def plan_unverified(
    kb: KnowledgeBase,
    *,
    policy: str,
    weight: Mapping[str, Any],
    dose: Mapping[str, Any],
    infusion: Mapping[str, Any] | None,
    product_id: str | None,
    patient: Mapping[str, Any],
    risks: list[Any],
    ranked: list[Any],
    monitoring: list[Any],
) -> list[str]:
    """Every unverified knowledge item the plan used, in the order the plan uses them."""
    out = weight_unverified(kb, policy, weight) + _dose(kb, dose)
    if product_id is not None:
        product = kb.product(product_id)
        out += _product(product, dose)
        if infusion:
            out += _rate_record(product, infusion) + _settings(kb, infusion, patient)
    out += _others(risks, ranked, product_id, monitoring)
    return list(dict.fromkeys(out))
