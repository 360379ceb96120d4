"""FHIR R4 in: Patient, Observations, Conditions and MedicationRequests -> an ivig request.

Reading happens in named steps: the patient (sex, age — a partial ``birthDate`` such as
``1964`` is accepted and the age's uncertainty said), the Observations (:mod:`.observations`:
units through a UCUM library, comparators honoured, an unusable optional lab skipped with a
note), the findings (recorded, derived from ``Condition.onset[x]``, or set by standard codes),
the condition the order treats (ICD-10-CM or SNOMED CT, under their URLs or OIDs), the phase
(:mod:`.orders`: only earlier normal-immunoglobulin orders for the same condition within the
episode window count) and what the draft orders. What cannot be used is never guessed: it is
left out and said in ``notes``, or, when the request cannot be built without it, raised as an
:class:`~ivig.errors.InputError` naming the resource and element.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ivig.errors import InputError, MissingFieldError
from ivig.service.fhir import codes as C
from ivig.service.fhir.medication import (
    classify_medication,
    code_system,
    match_product,
    resolve_medication,
)
from ivig.service.fhir.observations import (
    active,
    check_data_age,
    read_observations,
    standard_findings,
)
from ivig.service.fhir.orders import classify_order, ig_orders, infer_phase, ordered_regimen
from ivig.service.fhir.record import Record, Resource, codings, parse_date, texts
from ivig.service.fhir.scope import check_order_patient, own_resources, pick_patient

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "bundle_resources",
    "is_ig_medication",
    "match_product",
    "medication_concept",
    "read_resources",
]


def bundle_resources(
    bundle: object, field: str = "Bundle", full_urls: dict[int, str] | None = None
) -> list[Resource]:
    """The resources of a Bundle (search-set pages and nested Bundles flattened).

    ``full_urls``, when given, receives ``id(resource) -> fullUrl`` for every entry that has one.
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError(field, _brief(bundle), "a FHIR Bundle (resourceType 'Bundle')")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InputError(f"{field}.entry", _brief(entries), "a list of entries")
    found: list[Resource] = []
    for n, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise InputError(f"{field}.entry[{n}].resource", _brief(resource), "a FHIR resource")
        if resource["resourceType"] == "Bundle":
            found += bundle_resources(resource, f"{field}.entry[{n}].resource", full_urls)
            continue
        full = entry.get("fullUrl")
        if full_urls is not None and isinstance(full, str) and full:
            full_urls[id(resource)] = full
        found.append(resource)
    return found


def _brief(value: object) -> object:
    return type(value).__name__ if isinstance(value, dict | list) else value


def medication_concept(order: Mapping[str, Any], resources: Sequence[Resource]) -> dict[str, Any]:
    """The order's medication as a CodeableConcept (contained, referenced or a display)."""
    return resolve_medication(order, resources)


def is_ig_medication(
    kb: KnowledgeBase, concept: Mapping[str, Any], extra_codes: Iterable[str] = ()
) -> bool:
    """True for normal immunoglobulin (never for a specific one such as anti-D)."""
    match = classify_medication(kb, concept, extra_codes)
    return match is not None and match.is_normal


@functools.lru_cache(maxsize=8)
def _condition_index(kb: KnowledgeBase) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for cond in kb.data["conditions"]:
        for record in [cond, *cond.get("specific_conditions", [])]:
            for code in record.get("codes", []):
                key = C.condition_code_key(code["system"], code["code"])
                index[(code["system"], key)] = cond["id"]
    return index


def map_condition(kb: KnowledgeBase, concept: object) -> str | None:
    """The knowledge-base condition a CodeableConcept codes (ICD-10(-CM), SNOMED CT) or names."""
    index = _condition_index(kb)
    for coding in codings(concept):
        url = str(coding.get("system", ""))
        system = code_system(kb, url) or C.SYSTEM_ALIASES.get(url)
        code = coding.get("code")
        if system and isinstance(code, str):
            found = index.get((system, C.condition_code_key(system, code)))
            if found:
                return found
    for text in texts(concept):
        found = kb.resolve_condition(text)
        if found:
            return found
    return None


def _years(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _age_years(record: Record, patient: Resource, today: dt.date) -> int:
    birth = patient.get("birthDate")
    where = f"{record.ref(patient)}.birthDate"
    if not isinstance(birth, str):
        raise MissingFieldError(where, "the age")
    span = parse_date(birth)
    if span is None:
        raise InputError(where, birth, "a FHIR date: YYYY, YYYY-MM or YYYY-MM-DD")
    oldest, youngest = _years(span[0], today), _years(span[1], today)
    if youngest < 0:
        raise InputError(where, birth, f"a date before {today}")
    if oldest != youngest:
        record.notes.append(
            f"birthDate {birth} gives an age of {youngest} to {oldest} years; "
            f"{youngest} is used — give the full date to remove the doubt"
        )
    return youngest


def _age_doubt(
    kb: KnowledgeBase, record: Record, patient: Resource, request: dict[str, Any], today: dt.date
) -> None:
    """A partial birthDate whose ages fall on both sides of a risk factor's age threshold (born
    in 1960: 65 or 66, and age over 65 is a boxed-warning renal and thrombosis risk): the risk is
    undecided, and the card is raised to say so."""
    from ivig.app.products import risk_profile

    span = parse_date(str(patient.get("birthDate")))
    if span is None:
        return
    youngest, oldest = _years(span[1], today), _years(span[0], today)
    if youngest == oldest:
        return
    body = request["patient"]
    findings, condition = request.get("findings"), request.get("condition")
    at_youngest = {r["id"] for r in risk_profile(kb, body, findings=findings, condition=condition)}
    older: Any = {**body, "age_years": oldest}
    at_oldest = {r["id"] for r in risk_profile(kb, older, findings=findings, condition=condition)}
    for rid in sorted(at_oldest ^ at_youngest):
        doubt = (
            f"{record.ref(patient)}.birthDate {patient.get('birthDate')} gives an age of "
            f"{youngest} to {oldest} years: the risk factor {rid} holds at one and not the "
            f"other, and the plan uses {youngest}; give the full birth date"
        )
        record.notes.append(doubt)
        record.cautions.append(doubt)


def _read_patient(
    record: Record, patient: Resource, today: dt.date, sex_unknown_ok: bool = False
) -> dict[str, Any]:
    record.references["patient"] = record.ref(patient)
    sex = patient.get("gender")
    age = _age_years(record, patient, today)
    record.inputs.append(
        _input("age_years", f"age {age} years", record, patient, patient.get("birthDate"))
    )
    if sex in ("female", "male"):
        return {"sex": sex, "age_years": age}
    if not sex_unknown_ok:
        raise InputError(
            f"{record.ref(patient)}.gender", sex, "female or male", detail="dosing weight"
        )
    record.notes.append(
        f"{record.ref(patient)}.gender is {sex if isinstance(sex, str) else 'not given'}: the plan "
        "was made for a female and a male patient and is used only because both are the same"
    )
    return {"age_years": age}


def _input(field: str, text: str, record: Record, res: Resource, date: object) -> Any:
    from ivig.service.fhir.record import Input

    return Input(field, text, record.ref(res), str(date) if date else "undated")


def _onset(record: Record, condition: Resource | None) -> str | None:
    if condition is None:
        return None
    onset = condition.get("onsetDateTime")
    period = condition.get("onsetPeriod")
    if not isinstance(onset, str) and isinstance(period, dict):
        onset = period.get("start")
    if not isinstance(onset, str) and any(k.startswith("onset") for k in condition):
        record.notes.append(
            f"{record.ref(condition)} gives its onset in a form other than a date; "
            "days_since_onset not derived"
        )
    return onset if isinstance(onset, str) else None


def _days_since_onset(
    record: Record, onset: str, today: dt.date, where: str, findings: dict[str, object]
) -> None:
    span = parse_date(onset)
    if span is None:
        raise InputError(where, onset, "an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)")
    fewest, most = (today - span[1]).days, (today - span[0]).days
    if most < 0:
        raise InputError(where, onset, f"a date not after today ({today.isoformat()})")
    fewest = max(fewest, 0)
    findings["days_since_onset"] = fewest
    extra = f" (between {fewest} and {most} days: the date is partial)" if fewest != most else ""
    record.notes.append(f"days_since_onset = {fewest} from the Condition's onset {onset}{extra}")


def _conditions_treated(
    kb: KnowledgeBase, record: Record, order: Mapping[str, Any] | None
) -> tuple[str, Resource | None] | None:
    """The condition the order names as its reason, and the Condition resource (if any)."""
    if order is None:
        return None
    for ref in order.get("reasonReference", []) or []:
        cond = record.resolve(ref)
        found = map_condition(kb, cond.get("code")) if cond is not None else None
        if cond is not None and found:
            record.references["condition"] = record.ref(cond)
            return found, cond
    for concept in order.get("reasonCode", []) or []:
        found = map_condition(kb, concept)
        if found:
            return found, None
    return None


def _choose_condition(
    kb: KnowledgeBase, record: Record, order: Mapping[str, Any] | None
) -> tuple[str, Resource | None]:
    """The condition the order treats: its reason, else the patient's mapped Conditions."""
    treated = _conditions_treated(kb, record, order)
    if treated is not None:
        return treated
    conditions = [r for r in record.of_type("Condition") if active(r)]
    mapped = [(c, map_condition(kb, c.get("code"))) for c in conditions]
    mapped = [(c, cid) for c, cid in mapped if cid]
    if not mapped and conditions:  # sent, but coded with codes the knowledge base does not map
        raise C.unmapped_condition_error([(record.ref(c), c.get("code")) for c in conditions])
    if not mapped:
        raise MissingFieldError(
            "Condition", "the indication (an ICD-10-CM or SNOMED CT code the knowledge base knows)"
        )
    if len({cid for _, cid in mapped}) > 1:
        record.notes.append(
            "several conditions map to the knowledge base ("
            + ", ".join(dict.fromkeys(str(cid) for _, cid in mapped))
            + f"); used {mapped[0][1]}: give the order a reasonReference to choose"
        )
    cond, cid = mapped[0]
    record.references["condition"] = record.ref(cond)
    return str(cid), cond


def _declared(kb: KnowledgeBase, name: str) -> bool:
    return any(f["name"] == name for f in kb.data["findings"])


def read_resources(
    kb: KnowledgeBase,
    resources: Sequence[Resource],
    *,
    today: dt.date,
    patient_id: str | None = None,
    order: Mapping[str, Any] | None = None,
    phase: str | None = None,
    jurisdiction: str | None = None,
    ig_codes: Iterable[str] = (),
    full_urls: Mapping[int, str] | None = None,
    order_history: bool = True,
    sex_unknown_ok: bool = False,
) -> dict[str, Any]:
    """The request built from ``resources``, with what the reading found.

    ``sex_unknown_ok``: a Patient whose gender is not female or male (``unknown``, ``other``,
    absent) gives a request without ``patient.sex`` instead of an error; the caller then plans
    for both (:func:`ivig.app.recommend.recommend_either_sex`).

    ``order_history`` False: the patient's earlier immunoglobulin orders were not received (a
    CDS call whose ``igOrders`` was neither prefetched nor fetched), so a phase inferred as a
    first course is a doubt the card raises.

    ``order`` is the immunoglobulin MedicationRequest being decided (the CDS Hooks draft);
    without it the first draft normal-immunoglobulin order among ``resources`` is used, if any.
    Returns ``request``, ``notes``, ``references``, ``order``, ``inputs`` (each value used with
    its date), ``stale`` (data-age warnings), ``phase_from`` (the earlier order that set the
    phase), ``ordered`` (what the draft asks for) and ``unverified``; the request is checked
    against the contract and the knowledge base by the caller.
    """
    record = Record(resources, full_urls or {})
    chosen = pick_patient(record, patient_id)
    kept, left_out = own_resources(record, chosen, resources)
    if left_out:  # another patient's data: never read, and the card says so
        record = Record(kept, full_urls or {}, shape_checked=True)
        record.notes.extend(left_out)
        record.cautions.extend(left_out)
    if order is not None:
        check_order_patient(record, chosen, order)
    patient = _read_patient(record, chosen, today, sex_unknown_ok)
    body, labs, findings, risks = read_observations(kb, record)
    if "weight_kg" not in body:
        raise MissingFieldError("Observation (LOINC 29463-7)", "the dosing weight", "kg")
    patient.update(body)
    if labs:
        patient["labs"] = labs
    if risks:
        patient["risk_factors"] = list(dict.fromkeys(risks))
    standard_findings(kb, record, findings)

    orders = ig_orders(kb, record, ig_codes)
    if order is None:
        order = next((r for r in orders if r.get("status") == "draft"), None)
    earlier = [
        r
        for r in orders
        if r.get("status") != "draft"
        and (order is None or r is not order)
        and (order is None or "id" not in order or r.get("id") != order.get("id"))
    ]
    condition_id, condition = _choose_condition(kb, record, order)
    onset = _onset(record, condition)
    if onset and "days_since_onset" not in findings and _declared(kb, "days_since_onset"):
        where = f"{record.ref(condition)}.onsetDateTime" if condition else "Condition.onset"
        _days_since_onset(record, onset, today, where, findings)
        if condition is not None:
            days = findings["days_since_onset"]
            text = f"onset {onset} ({days} days ago)"
            record.inputs.append(_input("days_since_onset", text, record, condition, onset))
    phase_from = None
    if phase is None:
        phase, phase_from = infer_phase(
            kb,
            record,
            order=order,
            earlier=earlier,
            condition_id=condition_id,
            today=today,
            map_condition=functools.partial(map_condition, kb),
            history=order_history,
        )
    check_data_age(kb, record, phase, today)
    request: dict[str, Any] = {"patient": patient, "condition": condition_id, "phase": phase}
    if findings:
        request["findings"] = findings
    if jurisdiction:
        request["jurisdiction"] = jurisdiction
    _age_doubt(kb, record, chosen, request, today)
    ordered = _order_part(kb, record, order, request, ig_codes)
    return {
        "request": request,
        "notes": record.notes,
        "references": record.references,
        "order": order,
        "inputs": [vars(i) for i in record.inputs],
        "stale": record.stale,
        "phase_from": phase_from,
        "ordered": ordered,
        "unverified": record.unverified,
        "cautions": record.cautions,
    }


def _order_part(
    kb: KnowledgeBase,
    record: Record,
    order: Mapping[str, Any] | None,
    request: dict[str, Any],
    ig_codes: Iterable[str],
) -> dict[str, Any] | None:
    """Product and route of the draft into ``request``; what it orders for the order check."""
    if order is None:
        return None
    record.references["order"] = record.ref(order)
    concept = resolve_medication(order, record.resources, record.full_urls)
    product = match_product(kb, concept)
    if product is not None:
        request["product"] = product
    match = classify_order(kb, record, order, ig_codes)
    route = _route(order) or (match.route if match and match.route in ("iv", "sc") else None)
    if route is not None:
        request["route"] = route
    return ordered_regimen(kb, record, order, product=product, dosing_weight_kg=None)


def _route(order: Mapping[str, Any]) -> str | None:
    for dosage in order.get("dosageInstruction", []) or []:
        if not isinstance(dosage, dict):
            continue
        for coding in codings(dosage.get("route")):
            if (coding.get("system"), coding.get("code")) == C.ROUTE_IV[:2]:
                return "iv"
            if (coding.get("system"), coding.get("code")) == C.ROUTE_SC[:2]:
                return "sc"
    return None
