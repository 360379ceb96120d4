"""``recommend``: one explainable recommendation from one request.

Checks the request against the knowledge base, then composes eligibility, dosing weight, dose
plan, product ranking, the infusion schedule of the chosen product, the monitoring plan and the
review plan into one plain-data object (the contract of :mod:`ivig.results`). Every adapter
reaches this through :mod:`ivig.app`; none recomputes it.

The plan and the authorisation are separate questions: whenever the condition, the phase and the
patient determine a regimen, the plan is computed, also when criteria findings are missing; it is
then ``provisional`` and ``to_confirm`` says what must be confirmed before authorisation.
"""

from __future__ import annotations

from ivig import ENGINE_VERSION
from ivig.core.dose import compute_dose_plan, select_regimen
from ivig.core.eligibility import evaluate_eligibility
from ivig.core.request_check import check_request, unusual_body_size
from ivig.core.weight import dosing_weight_for_patient
from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.contract import Request
    from ivig.core.ranking_ties import VialDose
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema import Indication
    from ivig.results import Recommendation

__all__ = ["PATIENT_FACTS", "patient_findings", "plan_indication", "recommend"]

#: the findings criteria may test that come from the patient record, not from ``findings``
PATIENT_FACTS = ("age_years", "sex", "pregnant")

_DOSE_STATUSES = ("supported", "supported_with_conditions")


class _Notes:
    """What a recommendation collects on the way: warnings, unverified facts, cited sources."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.unverified: list[str] = []
        self.cited: list[str] = []


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
    kb: KnowledgeBase,
    request: Request,
    route: str,
    region: str | None,
    dose: VialDose | None = None,
) -> tuple[list[Any], list[Any]]:
    """Risk profile and ranked products (empty when the catalogue has no product); ``dose``
    lets the vial tie-breaks count."""
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
            dose=dose,
        )
    )
    return risks, ranked


def _ranking_dose(
    kb: KnowledgeBase, plan_id: str, phase: str, regimen_id: str, weight_kg: float, rounding: str
) -> VialDose | None:
    """The plan's dose before any product, as the vial tie-breaks of the ranking count it
    (``None`` when the dose cannot be planned: the plan itself then says why)."""
    from ivig.core.ranking_ties import vial_dose

    try:
        plan = compute_dose_plan(
            kb,
            indication_id=plan_id,
            phase=phase,
            dosing_weight_kg=weight_kg,
            regimen_id=regimen_id,
            rounding="none" if rounding == "vials" else rounding,
        )
    except InputError:
        return None
    rule = next(r for r in kb.data["dosing"]["rounding"] if r["id"] == "vials")
    return vial_dose(plan, rule if rounding == "vials" else None)


def _regimen_key(regimen: dict[str, Any]) -> tuple[object, ...]:
    """What the plan would give with this regimen: route, g/kg, days and interval as the dose
    engine chooses them (the default, else the lowest dose and the longest interval)."""
    dose, days = regimen["dose_g_per_kg"], regimen["days"]
    interval = regimen.get("interval_weeks")
    return (
        regimen["route"],
        dose.get("default", dose["min"]),
        days.get("default", days["min"]),
        None if interval is None else interval.get("default", interval["max"]),
    )


def plan_indication(
    kb: KnowledgeBase, eligibility: dict[str, Any], phase: str
) -> tuple[str | None, str | None]:
    """The indication whose regimen the plan uses, or ``None`` with the reason there is none.

    Supported: the chosen indication. Undecided: the named one, or, without a name, the first
    candidate when every undecided candidate has the same regimen for ``phase``.
    """
    status = eligibility["status"]
    if status in _DOSE_STATUSES:
        return eligibility["indication"], None
    if status != "insufficient_information":
        return None, None
    undecided = eligibility.get("undecided") or [eligibility["indication"]]
    keys = set()
    for indication_id in undecided:
        try:
            keys.add(_regimen_key(select_regimen(kb, indication_id, phase)))
        except InputError:
            keys.add(("no regimen", indication_id))
    if len(keys) > 1:
        return None, (
            "no dose yet: the candidate indications ("
            + ", ".join(undecided)
            + f") have different {phase} regimens; name the indication"
        )
    return undecided[0], None


def _cite_eligibility(notes: _Notes, eligibility: dict[str, Any], chosen_id: str) -> None:
    notes.cited += eligibility["sources"]
    for ev in eligibility["evidence"]:
        notes.cited += ev["sources"]
        if not ev["verified"]:
            notes.unverified.append(f"evidence {ev['system']} {ev['level']} for {chosen_id}")
    for group in ("met", "unmet", "exclusions"):
        for crit in eligibility[group]:
            notes.cited += crit["sources"]
            if not crit["verified"]:
                notes.unverified.append(f"criterion {crit['id']}: {crit['text']}")
    for alt in eligibility["alternatives"]:
        notes.cited += alt["sources"]


def _out_of_scope(kb: KnowledgeBase, base: dict[str, Any], use: dict[str, Any]) -> Any:
    return {
        **base,
        "plan_status": "none",
        "to_confirm": [],
        "eligibility": {
            "status": "out_of_scope",
            "reason": f"{use['name']} is a recognised non-neurological use "
            f"({use['group']}); it is outside ivig's neurology scope",
            "indication": None,
            "role": None,
            "evidence": [],
            "unmet": [],
            "missing": [],
            "missing_groups": [],
        },
        "dosing_weight": None,
        "dose": None,
        "risk_profile": [],
        "products": [],
        "infusion": None,
        "monitoring": [],
        "review": None,
        "prognosis": [],
        "warnings": [],
        "unverified": [],
        "sources": _cite(kb, [r["id"] for r in use["sources"]]),
    }


def _eligibility(kb: KnowledgeBase, request: Request, condition_id: str) -> dict[str, Any]:
    indication_id = request.get("indication")
    if indication_id is not None and not indication_id.startswith(condition_id + "."):
        indication_id = f"{condition_id}.{indication_id}"
    eligibility = evaluate_eligibility(
        kb,
        condition_id,
        patient_findings(request),
        jurisdiction=request.get("jurisdiction", "international"),
        indication_id=indication_id,
        phase=request["phase"],
    )
    eligibility["condition"] = condition_id
    return eligibility


def _to_confirm(eligibility: dict[str, Any]) -> list[str]:
    """What must be confirmed before a provisional plan can be authorised."""
    groups = eligibility["missing_groups"]
    items = []
    if len(groups) > 1:
        items.append("which indication: " + ", ".join(g["indication"] for g in groups))
    for group in groups:
        if group["findings"]:
            names = ", ".join(f["name"] for f in group["findings"])
            items.append(f"the criteria of {group['indication']}: {names}")
    return items


def _plan_gaps(kb: KnowledgeBase, out: dict[str, Any]) -> list[str]:
    """What a dosed plan still lacks before it can be given: a product, its schedule, or advice
    on a product every choice cautions against (IgA deficiency with anti-IgA antibodies)."""
    dose = out["dose"]
    if dose.get("product") is None:
        return [
            "the product: none in the catalogue for this region could be planned (name one "
            "with a known concentration and rates, or give the local formulary)"
        ]
    if out["infusion"] is None:
        return [f"the infusion schedule of {dose['product']}: the knowledge base holds no rates"]
    return _renal_gaps(out) + _caution_gaps(kb, out, str(dose["product"]))


def _renal_gaps(out: dict[str, Any]) -> list[str]:
    """A creatinine without an eGFR: renal impairment (a boxed-warning risk that slows the rates
    and changes the product) is derived from the eGFR only, so the plan cannot have judged it."""
    patient = out["request"]["patient"]
    labs = patient.get("labs") or {}
    named = set(patient.get("risk_factors") or [])
    if "creatinine_umol_per_l" not in labs or "egfr_ml_per_min_1_73m2" in labs:
        return []
    if "renal_impairment" in named:
        return []
    return [
        f"renal function: a creatinine of {labs['creatinine_umol_per_l']:g} umol/L was given "
        "without an eGFR, and renal impairment is judged from the eGFR only; give the eGFR, or "
        "name renal_impairment if it applies (it sets the product and the rate ceiling)"
    ]


def _caution_gaps(kb: KnowledgeBase, out: dict[str, Any], product_id: str) -> list[str]:
    """The planned product carries a caution (no product without one could be planned): the
    cautioning rules' own words, to be confirmed before authorisation."""
    row = next((p for p in out.get("products") or [] if p["id"] == product_id), None)
    if row is None or row["status"] != "caution":
        return []
    effects = {r["id"]: r["effect"] for r in kb.data["ranking_rules"]}
    why = [str(r["text"]) for r in row["reasons"] if effects.get(r["rule"]) == "caution"]
    if not why:
        return []
    return [
        f"the product {row['name']}, which this patient's risks caution against: " + "; ".join(why)
    ]


def _set_status(
    kb: KnowledgeBase, out: dict[str, Any], eligibility: dict[str, Any], notes: _Notes
) -> None:
    """``plan_status`` and ``to_confirm``: ``provisional`` while findings, the product or its
    schedule are missing; ``ready`` when nothing is; ``none`` without a dose."""
    if out["dose"] is None:
        return
    to_confirm = (
        _to_confirm(eligibility) if eligibility["status"] == "insufficient_information" else []
    ) + _plan_gaps(kb, out)
    if not to_confirm:
        out["plan_status"] = "ready"
        return
    out["plan_status"] = "provisional"
    out["to_confirm"] = to_confirm
    notes.warnings.insert(
        0, "provisional plan: before authorisation confirm " + "; ".join(to_confirm)
    )


def recommend(kb: KnowledgeBase, request: Request) -> Recommendation:
    """The recommendation for ``request`` (validated against the contract; checked here)."""
    check_request(kb, request)
    jurisdiction = request.get("jurisdiction", "international")
    kb.jurisdiction(jurisdiction)
    base: dict[str, Any] = {
        "request": request,
        "knowledge_version": kb.version,
        "engine_version": ENGINE_VERSION,
        "disclaimer": kb.disclaimer,
    }
    condition_id = kb.resolve_condition(request["condition"])
    if condition_id is None:
        use = kb.non_neuro_use(request["condition"])
        if use is None:
            kb.condition(request["condition"])  # raises with the nearest ids
        assert use is not None
        return _out_of_scope(kb, base, dict(use))  # type: ignore[no-any-return]
    notes = _Notes()
    unusual = unusual_body_size(kb, request["patient"])
    if unusual is not None:  # check_request let it through: the requester confirmed it
        notes.warnings.append(
            f"unusual value confirmed by the requester (confirm_unusual): {unusual.field} "
            f"{unusual.value:g} {unusual.unit}; plausible: {unusual.allowed}"
        )
    eligibility = _eligibility(kb, request, condition_id)
    plan_id, no_plan_reason = plan_indication(kb, eligibility, request["phase"])
    shown = kb.indication(plan_id or eligibility["indication"])
    _cite_eligibility(notes, eligibility, shown["id"])
    review = _review_plan(kb, shown)
    if review:
        notes.cited += review["sources"]
        if not review["verified"]:
            notes.unverified.append(f"review plan of {shown['id']}")
    out: dict[str, Any] = {
        **base,
        "plan_status": "none",
        "to_confirm": [],
        "eligibility": eligibility,
        "dosing_weight": None,
        "dose": None,
        "risk_profile": [],
        "products": [],
        "infusion": None,
        "monitoring": [],
        "review": review,
        "prognosis": _prognosis(kb, request, condition_id, notes),
    }
    if plan_id is None:
        notes.warnings.append(no_plan_reason or _no_dose_warning(eligibility["status"]))
    else:
        _plan(kb, request, plan_id, out, notes)
    _set_status(kb, out, eligibility, notes)
    if eligibility["status"] == "supported_with_conditions":
        notes.warnings += eligibility["conditions"]
    out.update(
        warnings=notes.warnings,
        unverified=list(dict.fromkeys(notes.unverified)),
        sources=_cite(kb, notes.cited),
    )
    return out  # type: ignore[return-value]


def _prognosis(
    kb: KnowledgeBase, request: Request, condition_id: str, notes: _Notes
) -> list[dict[str, Any]]:
    """The condition's prognostic scores computed from the request's findings."""
    from ivig.core.prognosis import prognosis_from_findings

    findings = {**request.get("findings", {}), "age_years": request["patient"]["age_years"]}
    rows = prognosis_from_findings(kb, condition_id, findings)
    for row in rows:
        result = row.get("result")
        if result:
            notes.cited += list(result.get("sources", []))
            if not result.get("verified", True):
                notes.unverified.append(f"prognostic score {row['score']} ({row['version']})")
    return rows


def _no_dose_warning(status: str) -> str:
    if status == "insufficient_information":
        return "no dose until the missing findings are given"
    if status in _DOSE_STATUSES:
        return "no dose: the knowledge base gives no regimen for this indication and phase"
    return "immunoglobulin is not supported for this request; see the alternatives"


def _short_stature_warning(
    kb: KnowledgeBase, request: Request, policy: str, weight: dict[str, Any], notes: _Notes
) -> None:
    """The Devine ideal weight starts at the formula's base height (60 in): below it the
    formula is extrapolated, which a pharmacist checks by hand."""
    height_cm = request["patient"].get("height_cm")
    if height_cm is None or weight["method"] not in ("ideal", "adjusted"):
        return
    formula = kb.weight_formula(kb.dosing_policy(policy)["formula"])
    base_cm = formula["ibw_height_threshold_in"] / formula["cm_to_in"]
    if height_cm < base_cm:
        notes.warnings.append(
            f"height {height_cm:g} cm is below the ideal-weight formula's base height of "
            f"{base_cm:.1f} cm: the ideal weight ({weight['ideal_kg']:g} kg) is extrapolated; "
            "check the dosing weight"
        )


def _plan(
    kb: KnowledgeBase, request: Request, plan_id: str, out: dict[str, Any], notes: _Notes
) -> None:
    """Dosing weight, dose, products, schedule and monitoring for indication ``plan_id``."""
    jurisdiction = request.get("jurisdiction", "international")
    phase = request["phase"]
    policy = (
        request.get("dosing_weight_policy")
        or kb.jurisdiction(jurisdiction)["default_dosing_weight_policy"]
    )
    weight = dosing_weight_for_patient(
        kb, request["patient"], policy, request.get("policy_opt_out_justification")
    )
    notes.cited += weight["rule"]["sources"] + [
        s["source"] for s in weight["steps"] if "source" in s
    ]
    from ivig.core.plan_facts import plan_unverified, weight_unverified

    out["dosing_weight"] = weight
    _short_stature_warning(kb, request, policy, weight, notes)
    try:
        regimen = select_regimen(kb, plan_id, phase, request.get("regimen"), request.get("route"))
    except InputError as exc:
        if request.get("regimen") is not None or request.get("route") is not None:
            raise
        notes.warnings.append(f"no dose: {exc}")
        notes.unverified += weight_unverified(kb, policy, weight)
        return
    region = kb.jurisdiction(jurisdiction).get("product_region")
    rounding = request.get("rounding") or kb.dosing_policy(policy).get(
        "rounding", kb.jurisdiction(jurisdiction)["default_rounding"]
    )
    ranking_dose = _ranking_dose(kb, plan_id, phase, regimen["id"], weight["kg"], rounding)
    risks, ranked = _products_section(kb, request, regimen["route"], region, ranking_dose)
    if not ranked:
        notes.warnings.append(
            f"no {regimen['route'].upper()} product in the catalogue for this region"
        )
    candidates = _product_candidates(request, ranked, notes)
    from ivig.core.split import REGIMEN_DEFAULT, attach_split, plan_split

    split, allowed = plan_split(kb, regimen, risks)
    dose, infusion, product_id = _dose_and_schedule(
        kb,
        request,
        plan_id,
        regimen["id"],
        weight["kg"],
        rounding,
        candidates,
        risks,
        notes,
        (int(split["days"]), int(regimen["days"]["max"])),
    )
    attach_split(dose, split, allowed)
    if split["rule"] != REGIMEN_DEFAULT and split["changed"]:
        notes.cited += split["sources"]
    if dose["total_g"] > dose["max_total_g"] + 0.005:
        notes.warnings.append(
            f"rounding ({dose['rounding']['method']}) gives {dose['total_g']:g} g "
            f"({dose['total_g'] / weight['kg']:.2f} g/kg), "
            f"{dose['total_g'] - dose['max_total_g']:.2f} g above the regimen maximum of "
            f"{dose['max_total_g']:g} g: within half a rounding step, as the policy rounds; "
            "round down if the maximum must hold"
        )
    notes.cited += dose["regimen"]["sources"] + [
        s["source"] for s in dose["steps"] if "source" in s
    ]
    if "sc_equivalent" in dose:
        notes.cited += dose["sc_equivalent"]["sources"]
    monitoring: list[Any] = []
    if product_id is not None:
        from ivig.core.monitoring import build_monitoring_plan

        monitoring = list(
            build_monitoring_plan(
                kb,
                risks,
                product_id,
                route=dose["route"],
                course_g_per_kg=dose["g_per_kg"],
                known_facts=request["patient"],
                rate_change_min=[s["start_min"] for s in infusion["steps"][1:]]
                if infusion
                else None,
            )
        )
    for product in ranked:
        notes.cited += [r["source"] for r in product.get("reasons", []) if r.get("source")]
    for risk in risks:
        notes.cited += [r["id"] if isinstance(r, dict) else r for r in risk.get("sources", [])]
    notes.unverified += plan_unverified(
        kb,
        policy=policy,
        weight=weight,
        dose=dose,
        infusion=infusion,
        product_id=product_id,
        patient=request["patient"],
        risks=risks,
        ranked=ranked,
        monitoring=monitoring,
    )
    out.update(
        dose=dose, risk_profile=risks, products=ranked, infusion=infusion, monitoring=monitoring
    )


def _product_candidates(request: Request, ranked: list[Any], notes: _Notes) -> list[str | None]:
    requested = request.get("product")
    if requested is not None:
        if any(p["id"] == requested and p["status"] == "excluded" for p in ranked):
            notes.warnings.append(f"the requested product {requested} is excluded for this patient")
        return [requested]
    candidates: list[str | None] = [p["id"] for p in ranked if p["status"] != "excluded"]
    if ranked and not candidates:
        notes.warnings.append("every product in the formulary is excluded for this patient")
    return candidates


def _dose_and_schedule(
    kb: KnowledgeBase,
    request: Request,
    plan_id: str,
    regimen_id: str,
    weight_kg: float,
    rounding: str,
    candidates: list[str | None],
    risks: list[Any],
    notes: _Notes,
    days: tuple[int, int],
) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """The dose plan with the first candidate product the knowledge base can plan and schedule
    (better-ranked products it cannot are named in a warning); no product if none can.
    ``days``: the days of the chosen split and the most the regimen allows."""
    patient = request["patient"]
    requested = request.get("product")
    from ivig.core.schedule import infer_first_infusion

    first_infusion = infer_first_infusion(
        kb,
        phase=request["phase"],
        stated=patient.get("first_infusion"),
        product_switch=patient.get("product_switch"),
        weeks_since_last_infusion=patient.get("weeks_since_last_infusion"),
        route=_regimen_route(kb, plan_id, regimen_id),
    )
    jurisdiction = request.get("jurisdiction", "international")
    region = kb.jurisdiction(jurisdiction).get("product_region")
    skipped: list[str] = []
    for candidate in [*candidates, None]:
        plan_rounding = rounding if candidate is not None or rounding != "vials" else "none"
        try:
            plan = compute_dose_plan(
                kb,
                indication_id=plan_id,
                phase=request["phase"],
                dosing_weight_kg=weight_kg,
                regimen_id=regimen_id,
                days=days[0],
                rounding=plan_rounding,
                product_id=candidate,
            )
        except InputError as exc:
            if candidate is None or candidate == requested:
                raise
            skipped.append(f"{candidate} ({exc.allowed})")
            continue
        if candidate is None:
            if rounding == "vials":
                notes.warnings.append("vial rounding needs a product; dose not rounded")
            _warn_skipped(notes, skipped)
            return plan, None, None
        try:
            infusion = _schedule(
                kb,
                candidate,
                weight_kg,
                plan,
                risks,
                first_infusion,
                region=region,
                indication=plan_id.split(".", 1)[0],
                actual_kg=patient["weight_kg"],
                course=(plan["total_g"], len(plan["days"]), days[1]),
            )
        except InputError as exc:
            if candidate != requested:
                skipped.append(f"{candidate} ({exc.allowed})")
                continue
            notes.warnings.append(f"no infusion schedule for {candidate}: {exc}")
            infusion = None
        _warn_skipped(notes, skipped)
        return plan, infusion, candidate
    raise AssertionError("unreachable: the product-free plan either returns or raises")


def _regimen_route(kb: KnowledgeBase, plan_id: str, regimen_id: str) -> str | None:
    regimens = kb.indication(plan_id).get("regimens", [])
    return next((str(r["route"]) for r in regimens if r["id"] == regimen_id), None)


def _warn_skipped(notes: _Notes, skipped: list[str]) -> None:
    if skipped:
        notes.warnings.append(
            "better-ranked products skipped because the knowledge base lacks what the plan "
            "needs: " + "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        )


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
            route=dose["route"],
            actual_weight_kg=actual_kg,
            course_g=course[0],
            course_days=course[1],
            max_course_days=course[2],
        )
    )


def _cite(kb: KnowledgeBase, ids: list[str]) -> list[dict[str, str]]:
    return [{"id": s, "citation": kb.citation(s)} for s in dict.fromkeys(ids)]
