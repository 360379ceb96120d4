"""Dosing weight: actual, ideal (Devine), adjusted, chosen by a named policy from the knowledge.

Every coefficient and threshold comes from the knowledge base (``dosing.formulas`` and
``dosing.policies``); this module only evaluates them and writes the trace.
"""

from __future__ import annotations

from ivig.errors import InputError, MissingFieldError
from ivig.knowledge.predicates import evaluate, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.contract import Patient
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema import DosingPolicy, WeightFormula

__all__ = [
    "check_limit",
    "compute_dosing_weight",
    "dosing_weight_for_patient",
    "ideal_body_weight_kg",
    "step",
]


def step(
    name: str,
    formula: str,
    inputs: dict[str, Any],
    result: float | str,
    unit: str,
    source: str | None = None,
) -> dict[str, Any]:
    """One line of a calculation trace."""
    out: dict[str, Any] = {
        "step": name,
        "formula": formula,
        "inputs": inputs,
        "result": round(result, 4) if isinstance(result, float) else result,
        "unit": unit,
    }
    if source:
        out["source"] = source
    return out


def check_limit(kb: KnowledgeBase, field: str, value: float, label: str | None = None) -> None:
    """Refuse ``value`` outside the plausibility limit of ``field`` (never clamp)."""
    limit = kb.limit(field)
    if limit is None:
        return
    if not limit["min"] <= value <= limit["max"]:
        raise InputError(
            label or field,
            value,
            f"{limit['min']:g} to {limit['max']:g}",
            limit["unit"],
            limit["reason"],
        )


def ideal_body_weight_kg(formula: WeightFormula, sex: str, height_cm: float) -> float:
    """Devine ideal body weight with the formula's coefficients."""
    base = formula["ibw_base_kg_male"] if sex == "male" else formula["ibw_base_kg_female"]
    height_in = height_cm * formula["cm_to_in"]
    ibw: float = base + formula["ibw_kg_per_inch_over"] * (
        height_in - formula["ibw_height_threshold_in"]
    )
    return ibw


def _check_inputs(
    kb: KnowledgeBase, sex: str, age_years: float, weight_kg: float, height_cm: float | None
) -> None:
    if sex not in ("female", "male"):
        raise InputError("patient.sex", sex, "female, male")
    check_limit(kb, "weight_kg", weight_kg, "patient.weight_kg")
    check_limit(kb, "age_years", age_years, "patient.age_years")
    if height_cm is not None:
        check_limit(kb, "height_cm", height_cm, "patient.height_cm")


def _pregnancy_weight(
    kb: KnowledgeBase,
    policy: DosingPolicy,
    pregnant: bool,
    weight_kg: float,
    pre_pregnancy_weight_kg: float | None,
    steps: list[dict[str, Any]],
) -> float:
    """The weight the policy's rules and formulas work from.

    A policy with ``pregnancy.weight: pre_pregnancy`` (Ontario) replaces the measured weight of a
    pregnant patient by her pre-pregnancy weight *before* the rules and the adjusted-weight
    formula run ("should be used for the dose calculator (in addition to the above criteria)").
    """
    rule = policy.get("pregnancy")
    if not pregnant or rule is None or rule["weight"] != "pre_pregnancy":
        return weight_kg
    if pre_pregnancy_weight_kg is None:
        raise MissingFieldError(
            "patient.pre_pregnancy_weight_kg", f"dosing-weight policy {policy['id']!r}", "kg"
        )
    check_limit(kb, "weight_kg", pre_pregnancy_weight_kg, "patient.pre_pregnancy_weight_kg")
    steps.append(
        step(
            "pre-pregnancy weight",
            f"pregnant: {rule['text']}",
            {"weight_kg": weight_kg, "pre_pregnancy_weight_kg": pre_pregnancy_weight_kg},
            pre_pregnancy_weight_kg,
            "kg",
            rule["sources"][0]["id"],
        )
    )
    return pre_pregnancy_weight_kg


def _size_steps(
    formula: WeightFormula,
    sex: str,
    height_cm: float,
    weight_kg: float,
    inputs: dict[str, object],
    steps: list[dict[str, Any]],
) -> tuple[float, float, float]:
    """Ideal and adjusted weight and BMI from ``weight_kg``; adds the trace and rule inputs."""
    formula_ref = formula["sources"][0]["id"]
    inputs["height_cm"] = height_cm
    height_in = height_cm * formula["cm_to_in"]
    ideal_kg = ideal_body_weight_kg(formula, sex, height_cm)
    base = formula["ibw_base_kg_male"] if sex == "male" else formula["ibw_base_kg_female"]
    steps.append(
        step(
            "ideal body weight (Devine)",
            f"{base:g} + {formula['ibw_kg_per_inch_over']:g} x (height_in - "
            f"{formula['ibw_height_threshold_in']:g}); height_in = height_cm x "
            f"{formula['cm_to_in']:g}",
            {"sex": sex, "height_cm": height_cm, "height_in": round(height_in, 3)},
            ideal_kg,
            "kg",
            formula_ref,
        )
    )
    factor = formula["adjusted_factor"]
    adjusted_kg = ideal_kg + factor * (weight_kg - ideal_kg)
    steps.append(
        step(
            "adjusted body weight",
            f"IBW + {factor:g} x (actual - IBW)",
            {"ideal_kg": round(ideal_kg, 3), "weight_kg": weight_kg},
            adjusted_kg,
            "kg",
            formula_ref,
        )
    )
    bmi = weight_kg / (height_cm / 100) ** 2
    inputs["bmi_kg_per_m2"] = bmi
    inputs["actual_over_ideal_ratio"] = weight_kg / ideal_kg if ideal_kg > 0 else None
    inputs["actual_below_adjusted"] = weight_kg < adjusted_kg
    return ideal_kg, adjusted_kg, bmi


def _opt_out_rule(policy: DosingPolicy, justification: str) -> dict[str, Any]:
    policy_id = policy["id"]
    if not policy.get("opt_out"):
        raise InputError(
            "policy_opt_out_justification",
            justification,
            "only with a policy that allows an opt-out",
            detail=f"policy {policy_id!r} has no opt-out",
        )
    if not justification.strip():
        raise InputError("policy_opt_out_justification", justification, "a written justification")
    return {
        "id": "opt-out",
        "use": "actual",
        "reason": f"prescriber opted out of {policy_id}: {justification.strip()}",
        "sources": policy["sources"],
        "verified": policy["verified"],
    }


def _chosen_kg(
    method: str,
    basis_kg: float,
    ideal_kg: float | None,
    adjusted_kg: float | None,
    height_cm: float | None,
) -> float:
    if method not in ("ideal", "adjusted"):
        return basis_kg
    value = ideal_kg if method == "ideal" else adjusted_kg
    if value is None or ideal_kg is None or ideal_kg <= 0:
        raise InputError(
            "patient.height_cm",
            height_cm,
            "a height for which the Devine ideal weight is positive",
            "cm",
        )
    return value


def compute_dosing_weight(
    kb: KnowledgeBase,
    *,
    policy_id: str,
    sex: str,
    age_years: float,
    weight_kg: float,
    height_cm: float | None = None,
    pregnant: bool = False,
    pre_pregnancy_weight_kg: float | None = None,
    opt_out_justification: str | None = None,
) -> dict[str, Any]:
    """The dosing weight under ``policy_id``, with the rule that applied and the trace.

    Raises :class:`MissingFieldError` when the policy needs the height (or, in pregnancy, the
    pre-pregnancy weight) and none is given, and :class:`InputError` for out-of-range values:
    nothing falls back silently.
    """
    _check_inputs(kb, sex, age_years, weight_kg, height_cm)
    policy = kb.dosing_policy(policy_id)
    if policy["requires_height"] and height_cm is None:
        raise MissingFieldError(
            "patient.height_cm",
            f"dosing-weight policy {policy_id!r} (give the height, or choose policy 'actual')",
            "cm",
        )
    formula = kb.weight_formula(policy["formula"])
    steps: list[dict[str, Any]] = [
        step("actual weight", "as measured", {"weight_kg": weight_kg}, weight_kg, "kg")
    ]
    basis_kg = _pregnancy_weight(kb, policy, pregnant, weight_kg, pre_pregnancy_weight_kg, steps)
    inputs: dict[str, object] = {
        "age_years": age_years,
        "weight_kg": basis_kg,
        "sex": sex,
        "pregnant": pregnant,
    }
    ideal_kg: float | None = None
    adjusted_kg: float | None = None
    bmi: float | None = None
    if height_cm is not None:
        ideal_kg, adjusted_kg, bmi = _size_steps(formula, sex, height_cm, basis_kg, inputs, steps)
    if opt_out_justification is not None:
        rule = _opt_out_rule(policy, opt_out_justification)
    else:
        rule = _first_rule(policy, inputs)
    method = rule["use"]
    kg = _chosen_kg(method, basis_kg, ideal_kg, adjusted_kg, height_cm)
    if method == "actual" and basis_kg != weight_kg:
        method = "pre_pregnancy"
    steps.append(
        step(
            "dosing weight",
            f"rule {rule['id']} of policy {policy_id}: {method} weight",
            {"rule": rule["id"]},
            kg,
            "kg",
            rule["sources"][0]["id"],
        )
    )
    pregnancy = policy.get("pregnancy") if basis_kg != weight_kg else None
    rule_verified = bool(rule["verified"]) and (pregnancy is None or pregnancy["verified"])
    reason = _explain(rule, inputs)
    if pregnancy is not None:
        reason = f"{reason}; computed from the pre-pregnancy weight ({pregnancy['text']})"
    return {
        "kg": round(kg, 2),
        "method": method,
        "actual_kg": weight_kg,
        "ideal_kg": None if ideal_kg is None else round(ideal_kg, 2),
        "adjusted_kg": None if adjusted_kg is None else round(adjusted_kg, 2),
        "bmi_kg_per_m2": None if bmi is None else round(bmi, 1),
        "policy": policy_id,
        "rule": {
            "id": rule["id"],
            "reason": reason,
            "sources": [r["id"] for r in rule["sources"]],
            "verified": rule_verified,
        },
        "opt_out_justification": opt_out_justification,
        "steps": steps,
        "verified": bool(rule_verified and formula["verified"]),
    }


def dosing_weight_for_patient(
    kb: KnowledgeBase,
    patient: Patient,
    policy_id: str,
    opt_out_justification: str | None = None,
) -> dict[str, Any]:
    """:func:`compute_dosing_weight` for a request's ``patient`` record."""
    return compute_dosing_weight(
        kb,
        policy_id=policy_id,
        sex=patient["sex"],
        age_years=patient["age_years"],
        weight_kg=patient["weight_kg"],
        height_cm=patient.get("height_cm"),
        pregnant=patient.get("pregnant", False),
        pre_pregnancy_weight_kg=patient.get("pre_pregnancy_weight_kg"),
        opt_out_justification=opt_out_justification,
    )


def _first_rule(policy: DosingPolicy, inputs: dict[str, object]) -> dict[str, Any]:
    for rule in policy["rules"]:
        if all(evaluate(parse(text), inputs) is True for text in rule["when"]):
            return dict(rule)
    raise InputError(
        "dosing_weight_policy", policy["id"], "a policy whose rules cover this patient"
    )


def _explain(rule: dict[str, Any], inputs: dict[str, object]) -> str:
    """The rule's reason with the values that made it fire, e.g. 'height 148 cm < 152 cm'."""
    shown = []
    for text in rule.get("when", []):
        pred = parse(text)
        if pred.op == "always":
            continue
        value = inputs.get(pred.name)
        if isinstance(value, float):
            value = round(value, 2)
        shown.append(f"{pred.name} = {value} ({text})")
    return str(rule["reason"]) + (f" [{'; '.join(shown)}]" if shown else "")
