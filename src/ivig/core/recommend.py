"""``recommend``: one explainable recommendation from one request.

Composes eligibility, dosing weight, dose plan, product ranking, the infusion schedule of the
chosen product, the monitoring plan and the review plan into one plain-data object (the contract
of :mod:`ivig.contract`). Every adapter renders this object; none recomputes it.
"""

from __future__ import annotations

from ivig import ENGINE_VERSION
from ivig.core.dose import compute_dose_plan, select_regimen
from ivig.core.eligibility import evaluate_eligibility
from ivig.core.weight import dosing_weight_for_patient
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema import Indication

__all__ = ["patient_findings", "recommend"]

_DOSE_STATUSES = ("supported", "supported_with_conditions")


def patient_findings(request: Request) -> dict[str, object]:
    """The request's findings plus the patient facts criteria may test (age, sex, pregnancy)."""
    patient = request["patient"]
    derived: dict[str, object] = {
        "age_years": patient["age_years"],
        "sex": patient["sex"],
        "pregnant": patient.get("pregnant", False),
    }
    findings: dict[str, object] = dict(request.get("findings", {}))
    for name, value in derived.items():
        if name in findings and findings[name] != value:
            raise InputError(
                f"findings.{name}",
                findings[name],
                f"the patient's value ({value!r})",
                detail="give patient facts once, in patient",
            )
        findings[name] = value
    return findings


def _review_plan(kb: KnowledgeBase, indication: Indication) -> dict[str, Any] | None:
    review = indication.get("review")
    if not review:
        return None
    scores = {s["id"]: s for s in kb.data["scores"]}
    return {
        "first_review_weeks": review.get("first_review_weeks"),
        "interval_weeks": review.get("interval_weeks"),
        "measures": [
            {"id": m, "name": scores[m]["name"] if m in scores else m} for m in review["measures"]
        ],
        "baseline_required": list(review["measures"]),
        "response_definition": review["response_definition"],
        "trial_off": review.get("trial_off"),
        "stop_rule": review.get("stop_rule"),
        "sources": [r["id"] for r in review["sources"]],
        "verified": review["verified"],
    }


def _products_section(
    kb: KnowledgeBase, request: Request, route: str, region: str | None
) -> tuple[list[Any], list[Any]]:
    """Risk profile and ranked products (empty when the catalogue has no product)."""
    if not kb.data["products"]:
        return [], []
    from ivig.core.ranking import rank_products
    from ivig.core.risk import derive_risk_profile

    condition = kb.resolve_condition(request["condition"])
    findings = request.get("findings", {})
    risks = list(
        derive_risk_profile(kb, request["patient"], findings=findings, condition=condition)
    )
    formulary = request.get("formulary")
    # a local formulary lists what is in stock: it overrides the region's marketing data
    ranked = list(
        rank_products(
            kb,
            risks,
            formulary=formulary,
            region=None if formulary else region,
            route=route,
            indication=condition,
            labelling_region=region,
        )
    )
    return risks, ranked


def recommend(kb: KnowledgeBase, request: Request) -> dict[str, Any]:
    """The recommendation for ``request`` (already validated against the contract)."""
    jurisdiction = request.get("jurisdiction", "international")
    kb.jurisdiction(jurisdiction)
    phase = request["phase"]
    warnings: list[str] = []
    unverified: list[str] = []
    cited: list[str] = []

    out_of_scope = None
    condition_id = kb.resolve_condition(request["condition"])
    if condition_id is None:
        use = kb.non_neuro_use(request["condition"])
        if use is None:
            kb.condition(request["condition"])  # raises with the nearest ids
        else:
            out_of_scope = use
    base: dict[str, Any] = {
        "request": request,
        "knowledge_version": kb.version,
        "engine_version": ENGINE_VERSION,
        "disclaimer": kb.disclaimer,
    }
    if out_of_scope is not None:
        return {
            **base,
            "eligibility": {
                "status": "out_of_scope",
                "reason": f"{out_of_scope['name']} is a recognised non-neurological use "
                f"({out_of_scope['group']}); it is outside ivig's neurology scope",
                "indication": None,
                "role": None,
                "evidence": [],
                "unmet": [],
                "missing": [],
            },
            "dosing_weight": None,
            "dose": None,
            "products": [],
            "infusion": None,
            "monitoring": [],
            "review": None,
            "warnings": [],
            "unverified": [],
            "sources": _cite(kb, [r["id"] for r in out_of_scope["sources"]]),
        }
    assert condition_id is not None
    indication_id = request.get("indication")
    if indication_id is not None and not indication_id.startswith(condition_id + "."):
        indication_id = f"{condition_id}.{indication_id}"
    findings = patient_findings(request)
    eligibility = evaluate_eligibility(
        kb,
        condition_id,
        findings,
        jurisdiction=jurisdiction,
        indication_id=indication_id,
        phase=phase,
    )
    eligibility["condition"] = condition_id
    chosen = kb.indication(eligibility["indication"])
    cited += eligibility["sources"]
    for ev in eligibility["evidence"]:
        cited += ev["sources"]
        if not ev["verified"]:
            unverified.append(f"evidence {ev['system']} {ev['level']} for {chosen['id']}")
    for group in ("met", "unmet", "exclusions"):
        for crit in eligibility[group]:
            cited += crit["sources"]
            if not crit["verified"]:
                unverified.append(f"criterion {crit['id']}: {crit['text']}")
    for alt in eligibility["alternatives"]:
        cited += alt["sources"]

    review = _review_plan(kb, chosen)
    if review:
        cited += review["sources"]
        if not review["verified"]:
            unverified.append(f"review plan of {chosen['id']}")

    result: dict[str, Any] = {
        **base,
        "eligibility": eligibility,
        "dosing_weight": None,
        "dose": None,
        "risk_profile": [],
        "products": [],
        "infusion": None,
        "monitoring": [],
        "review": review,
    }
    if eligibility["status"] not in _DOSE_STATUSES:
        if eligibility["status"] == "insufficient_information":
            warnings.append("no dose until the missing findings are given")
        else:
            warnings.append(
                "immunoglobulin is not supported for this request; see the alternatives"
            )
        result.update(warnings=warnings, unverified=unverified, sources=_cite(kb, cited))
        return result

    patient = request["patient"]
    policy = (
        request.get("dosing_weight_policy")
        or kb.jurisdiction(jurisdiction)["default_dosing_weight_policy"]
    )
    weight = dosing_weight_for_patient(
        kb, patient, policy, request.get("policy_opt_out_justification")
    )
    cited += weight["rule"]["sources"] + [s["source"] for s in weight["steps"] if "source" in s]
    if not weight["verified"]:
        unverified.append(f"dosing-weight rule {policy}/{weight['rule']['id']}")

    try:
        regimen = select_regimen(
            kb, chosen["id"], phase, request.get("regimen"), request.get("route")
        )
    except InputError as exc:
        if request.get("regimen") is not None or request.get("route") is not None:
            raise
        warnings.append(f"no dose: {exc}")
        result.update(
            dosing_weight=weight, warnings=warnings, unverified=unverified, sources=_cite(kb, cited)
        )
        return result
    region = kb.jurisdiction(jurisdiction).get("product_region")
    risks, ranked = _products_section(kb, request, regimen["route"], region)
    rounding = request.get("rounding") or kb.dosing_policy(policy).get(
        "rounding", kb.jurisdiction(jurisdiction)["default_rounding"]
    )
    if not ranked:
        warnings.append(f"no {regimen['route'].upper()} product in the catalogue for this region")
    requested = request.get("product")
    if requested is not None:
        candidates: list[str | None] = [requested]
        if any(p["id"] == requested and p["status"] == "excluded" for p in ranked):
            warnings.append(f"the requested product {requested} is excluded for this patient")
    else:
        candidates = [p["id"] for p in ranked if p["status"] != "excluded"]
        if ranked and not candidates:
            warnings.append("every product in the formulary is excluded for this patient")
    from ivig.core.schedule import infer_first_infusion

    first_infusion = infer_first_infusion(
        kb,
        phase=phase,
        stated=patient.get("first_infusion"),
        product_switch=patient.get("product_switch"),
        weeks_since_last_infusion=patient.get("weeks_since_last_infusion"),
    )
    dose: dict[str, Any] | None = None
    infusion: dict[str, Any] | None = None
    product_id: str | None = None
    skipped: list[str] = []
    for candidate in [*candidates, None]:
        plan_rounding = rounding if candidate is not None or rounding != "vials" else "none"
        try:
            plan = compute_dose_plan(
                kb,
                indication_id=chosen["id"],
                phase=phase,
                dosing_weight_kg=weight["kg"],
                regimen_id=regimen["id"],
                rounding=plan_rounding,
                product_id=candidate,
            )
        except InputError as exc:
            if candidate is None or candidate == requested:
                raise
            skipped.append(f"{candidate} ({exc.allowed})")
            continue
        if candidate is None:
            dose = plan
            if rounding == "vials":
                warnings.append("vial rounding needs a product; dose not rounded")
            break
        try:
            course = (plan["total_g"], len(plan["days"]), int(regimen["days"]["max"]))
            infusion = _schedule(
                kb,
                candidate,
                weight["kg"],
                plan,
                risks,
                first_infusion,
                region=region,
                indication=condition_id,
                actual_kg=patient["weight_kg"],
                course=course,
            )
        except InputError as exc:
            if candidate != requested:
                skipped.append(f"{candidate} ({exc.allowed})")
                continue
            warnings.append(f"no infusion schedule for {candidate}: {exc}")
        dose, product_id = plan, candidate
        break
    assert dose is not None
    if skipped:
        warnings.append(
            "better-ranked products skipped because the knowledge base lacks what the plan "
            "needs: " + "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        )
    cited += dose["regimen"]["sources"] + [s["source"] for s in dose["steps"] if "source" in s]
    unverified += dose["unverified"]
    if "sc_equivalent" in dose:
        cited += dose["sc_equivalent"]["sources"]
    monitoring: list[Any] = []
    if product_id is not None:
        from ivig.core.monitoring import build_monitoring_plan

        monitoring = list(
            build_monitoring_plan(
                kb, risks, product_id, course_g_per_kg=dose["g_per_kg"], known_facts=patient
            )
        )
    for product in ranked:
        for reason in product.get("reasons", []):
            if reason.get("source"):
                cited.append(reason["source"])
    for risk in risks:
        cited += [r["id"] if isinstance(r, dict) else r for r in risk.get("sources", [])]
    if eligibility["status"] == "supported_with_conditions":
        warnings += eligibility["conditions"]
    result.update(
        dosing_weight=weight,
        dose=dose,
        risk_profile=risks,
        products=ranked,
        infusion=infusion,
        monitoring=monitoring,
        warnings=warnings,
        unverified=list(dict.fromkeys(unverified)),
        sources=_cite(kb, cited),
    )
    return result


def _schedule(
    kb: KnowledgeBase,
    product_id: str,
    weight_kg: float,
    dose: dict[str, Any],
    risks: list[Any],
    first_infusion: Any,
    *,
    region: str | None,
    indication: str,
    actual_kg: float,
    course: tuple[float, int, int],
) -> dict[str, Any]:
    """The first day's infusion schedule of ``product_id`` (raises InputError if unknown)."""
    from ivig.core.schedule import compute_infusion_schedule

    return dict(
        compute_infusion_schedule(
            kb,
            product_id,
            weight_kg=weight_kg,
            dose_g=dose["days"][0]["grams"],
            risks=risks,
            first_infusion=first_infusion["first_infusion"],
            first_infusion_reason=first_infusion["reason"],
            indication=indication,
            region=region,
            actual_weight_kg=actual_kg,
            course_g=course[0],
            course_days=course[1],
            max_course_days=course[2],
        )
    )


def _cite(kb: KnowledgeBase, ids: list[str]) -> list[dict[str, str]]:
    return [{"id": s, "citation": kb.citation(s)} for s in dict.fromkeys(ids)]
