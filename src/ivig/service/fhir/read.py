"""FHIR R4 in: Patient, Observations, Conditions and MedicationRequests -> an ivig request.

Units are converted through :mod:`ivig.core.units` (mass, length) and the UCUM tables of
:mod:`.codes`; condition codes (ICD-10-CM, SNOMED CT) are looked up in the knowledge base.
What cannot be used is never guessed: it is left out and said in ``notes``, or, when the
request cannot be built without it, raised as an :class:`~ivig.errors.InputError` naming the
resource and element.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ivig.errors import InputError, MissingFieldError, UnknownIdError
from ivig.service.fhir import codes as C

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "bundle_resources",
    "is_ig_medication",
    "match_product",
    "medication_concept",
    "read_resources",
]

Resource = dict[str, Any]
_SKIP_STATUS = {"entered-in-error", "cancelled"}
_PHASE_OF_COURSE = {"acute": "induction", "continuous": "maintenance"}


def bundle_resources(bundle: object, field: str = "Bundle") -> list[Resource]:
    """The resources of a Bundle (search-set pages and nested Bundles flattened)."""
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
            found += bundle_resources(resource, f"{field}.entry[{n}].resource")
        else:
            found.append(resource)
    return found


def _brief(value: object) -> object:
    return type(value).__name__ if isinstance(value, dict | list) else value


def _ref(resource: Mapping[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource.get('id', '?')}"


def _when(resource: Mapping[str, Any]) -> str:
    period = resource.get("effectivePeriod")
    for value in (
        resource.get("effectiveDateTime"),
        period.get("end") if isinstance(period, dict) else None,
        resource.get("effectiveInstant"),
        resource.get("issued"),
        resource.get("authoredOn"),
        resource.get("recordedDate"),
    ):
        if isinstance(value, str):
            return value
    return ""


def _codings(concept: object) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def _texts(concept: object) -> list[str]:
    if not isinstance(concept, dict):
        return []
    texts = [concept.get("text")] + [c.get("display") for c in _codings(concept)]
    return [t for t in texts if isinstance(t, str) and t]


def _norm(text: str) -> str:
    from ivig.knowledge.base import normalise_term

    return normalise_term(text)


def medication_concept(order: Mapping[str, Any], resources: Sequence[Resource]) -> dict[str, Any]:
    """The order's medication as a CodeableConcept (a referenced Medication's code)."""
    concept = order.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return concept
    ref = order.get("medicationReference")
    target = ref.get("reference") if isinstance(ref, dict) else None
    for res in resources:
        if res.get("resourceType") == "Medication" and _ref(res) == target:
            code = res.get("code")
            return code if isinstance(code, dict) else {}
    return ref if isinstance(ref, dict) and "display" in ref else {}


@functools.lru_cache(maxsize=8)
def _product_terms(kb: KnowledgeBase) -> list[tuple[str, str]]:
    terms = []
    for product in kb.data["products"]:
        for word in [product["id"], product["name"], *product.get("synonyms", [])]:
            norm = _norm(str(word))
            if norm:
                terms.append((norm, product["id"]))
    return sorted(terms, key=lambda t: -len(t[0]))


def match_product(kb: KnowledgeBase, concept: Mapping[str, Any]) -> str | None:
    """The knowledge-base product named in the concept's text or displays (longest match)."""
    texts = [f"_{_norm(t)}_" for t in _texts(concept)]
    for term, product_id in _product_terms(kb):
        if any(f"_{term}_" in text for text in texts):
            return product_id
    return None


def is_ig_medication(
    kb: KnowledgeBase, concept: Mapping[str, Any], extra_codes: Iterable[str] = ()
) -> bool:
    """True for an immunoglobulin: ATC J06BA*, a configured code, or its text or product name."""
    extra = set(extra_codes)
    for coding in _codings(concept):
        code = str(coding.get("code", ""))
        if coding.get("system") == C.ATC and code.startswith(C.ATC_IG_PREFIX):
            return True
        if code and code in extra:
            return True
    lowered = " ".join(_texts(concept)).lower()
    if any(term in lowered for term in C.IG_TEXT_TERMS):
        return True
    return match_product(kb, concept) is not None


@functools.lru_cache(maxsize=8)
def _condition_index(kb: KnowledgeBase) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for cond in kb.data["conditions"]:
        records = [cond, *cond.get("specific_conditions", [])]
        for record in records:
            for code in record.get("codes", []):
                index[(code["system"], _norm(code["code"]))] = cond["id"]
    return index


def _map_condition(kb: KnowledgeBase, concept: object) -> str | None:
    index = _condition_index(kb)
    for coding in _codings(concept):
        system = C.SYSTEM_ALIASES.get(str(coding.get("system", "")))
        code = coding.get("code")
        if system and isinstance(code, str):
            found = index.get((system, _norm(code)))
            if found:
                return found
    for text in _texts(concept):
        found = kb.resolve_condition(text)
        if found:
            return found
    return None


def _active(resource: Mapping[str, Any]) -> bool:
    if resource.get("status") in _SKIP_STATUS:
        return False
    for key in ("clinicalStatus", "verificationStatus"):
        codes = {c.get("code") for c in _codings(resource.get(key))}
        if codes & {"inactive", "resolved", "remission", "refuted", "entered-in-error"}:
            return False
    return True


def _quantity(obs: Mapping[str, Any], field: str) -> tuple[float, str]:
    qty = obs.get("valueQuantity")
    where = f"{_ref(obs)}.valueQuantity"
    if not isinstance(qty, dict):
        raise MissingFieldError(where, f"{field} from {_ref(obs)}")
    value = qty.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}.value", value, "a number")
    unit = qty.get("code") if qty.get("system") in (None, C.UCUM) else None
    unit = unit or qty.get("unit")
    if not isinstance(unit, str):
        raise MissingFieldError(f"{where}.code", f"{field} (UCUM unit)")
    return float(value), unit


def _convert(obs: Mapping[str, Any], field: str, notes: list[str]) -> float | None:
    from ivig.core.units import to_cm, to_kg

    value, unit = _quantity(obs, field)
    where = f"{_ref(obs)}.valueQuantity.code"
    if field == "weight_kg":
        if unit not in C.UCUM_MASS:
            raise InputError(where, unit, ", ".join(C.UCUM_MASS), detail="body weight")
        return to_kg(value, C.UCUM_MASS[unit], field)
    if field == "height_cm":
        if unit not in C.UCUM_LENGTH:
            raise InputError(where, unit, ", ".join(C.UCUM_LENGTH), detail="body height")
        return to_cm(value, C.UCUM_LENGTH[unit], field)
    if field in ("iga_g_per_l", "igg_g_per_l"):
        factor = C.UCUM_CONCENTRATION_G_PER_L.get(unit)
        if factor is None:
            raise InputError(where, unit, ", ".join(C.UCUM_CONCENTRATION_G_PER_L))
        return value * factor
    if field == "creatinine_umol_per_l":
        factor = C.UCUM_SUBSTANCE_UMOL_PER_L.get(unit)
        if factor is None:
            notes.append(f"creatinine of {_ref(obs)} is in {unit}; only umol/L or mmol/L is used")
            return None
        return value * factor
    if unit not in C.UCUM_EGFR:
        raise InputError(where, unit, ", ".join(C.UCUM_EGFR), detail="eGFR")
    return value


def _finding_value(kb: KnowledgeBase, obs: Mapping[str, Any], name: str) -> object:
    try:
        kb.finding(name)
    except UnknownIdError as exc:
        raise InputError(f"{_ref(obs)}.code", name, exc.allowed, detail="unknown finding") from None
    for key in ("valueBoolean", "valueInteger", "valueString"):
        if key in obs:
            return obs[key]
    if isinstance(obs.get("valueQuantity"), dict):
        return obs["valueQuantity"].get("value")
    codes = _codings(obs.get("valueCodeableConcept"))
    if codes:
        return codes[0].get("code")
    raise MissingFieldError(f"{_ref(obs)}.value[x]", f"finding {name}")


def _age_years(patient: Mapping[str, Any], today: dt.date) -> int:
    birth = patient.get("birthDate")
    if not isinstance(birth, str):
        raise MissingFieldError(f"{_ref(patient)}.birthDate", "the age")
    try:
        born = dt.date.fromisoformat(birth[:10]) if len(birth) >= 10 else None
    except ValueError:
        born = None
    if born is None:
        raise InputError(f"{_ref(patient)}.birthDate", birth, "a full date YYYY-MM-DD")
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if years < 0:
        raise InputError(f"{_ref(patient)}.birthDate", birth, f"a date before {today}")
    return years


def _pick_patient(resources: Sequence[Resource], patient_id: str | None) -> Resource:
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if patient_id is not None:
        patients = [p for p in patients if p.get("id") == patient_id] or patients
    if not patients:
        raise MissingFieldError("Patient", "the request (sex, age)")
    return patients[0]


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
) -> dict[str, Any]:
    """The request built from ``resources``, with ``notes`` and the ``references`` used.

    ``order`` is the immunoglobulin MedicationRequest being decided (the CDS Hooks draft);
    without it the first draft immunoglobulin order among ``resources`` is used, if any.
    Returns ``{"request", "notes", "references", "order"}``; the request is checked against the
    contract and the knowledge base by the caller.
    """
    notes: list[str] = []
    refs: dict[str, str] = {}
    patient = _pick_patient(resources, patient_id)
    refs["patient"] = _ref(patient)
    sex = patient.get("gender")
    if sex not in ("female", "male"):
        raise InputError(f"{_ref(patient)}.gender", sex, "female or male", detail="dosing weight")
    out_patient: dict[str, Any] = {"sex": sex, "age_years": _age_years(patient, today)}
    labs: dict[str, float] = {}
    findings: dict[str, object] = {}
    latest: dict[str, tuple[str, Resource]] = {}
    for res in resources:
        if res.get("resourceType") != "Observation" or not _active(res):
            continue
        for coding in _codings(res.get("code")):
            field = None
            if coding.get("system") == C.LOINC:
                field = C.OBSERVATION_FIELDS.get(str(coding.get("code")))
            elif coding.get("system") == C.IVIG_FINDING and isinstance(coding.get("code"), str):
                field = "finding:" + coding["code"]
            if field and (field not in latest or _when(res) > latest[field][0]):
                latest[field] = (_when(res), res)
    for field, (_, obs) in sorted(latest.items()):
        if field.startswith("finding:"):
            findings[field[8:]] = _finding_value(kb, obs, field[8:])
            continue
        value = _convert(obs, field, notes)
        if value is None:
            continue
        refs[field] = _ref(obs)
        if field in ("weight_kg", "height_cm"):
            out_patient[field] = round(value, 3)
        else:
            labs[field] = round(value, 4)
    if "weight_kg" not in out_patient:
        raise MissingFieldError("Observation (LOINC 29463-7)", "the dosing weight", "kg")
    if labs:
        out_patient["labs"] = labs

    orders = [
        r
        for r in resources
        if r.get("resourceType") == "MedicationRequest"
        and r.get("status") not in _SKIP_STATUS
        and is_ig_medication(kb, medication_concept(r, resources), ig_codes)
    ]
    if order is None:
        order = next((r for r in orders if r.get("status") == "draft"), None)
    earlier = [r for r in orders if order is None or r.get("id") != order.get("id")]
    earlier = [r for r in earlier if r.get("status") != "draft"]

    condition_id, onset = _choose_condition(kb, resources, order, notes, refs)
    if onset and "days_since_onset" not in findings and _declared(kb, "days_since_onset"):
        try:
            days = (today - dt.date.fromisoformat(onset[:10])).days
        except ValueError:
            raise InputError("Condition.onsetDateTime", onset, "an ISO date (YYYY-MM-DD)") from None
        if days < 0:
            raise InputError(
                "Condition.onsetDateTime", onset, f"a date not after today ({today.isoformat()})"
            )
        findings["days_since_onset"] = days
        notes.append(f"days_since_onset = {days} from the Condition's onset date {onset[:10]}")

    if phase is None and order is not None:
        course = {c.get("code") for c in _codings(order.get("courseOfTherapyType"))}
        phase = next((_PHASE_OF_COURSE[c] for c in course if c in _PHASE_OF_COURSE), None)
    if phase is None:
        phase = "maintenance" if earlier else "induction"
        notes.append(
            f"phase {phase} inferred from {len(earlier)} earlier immunoglobulin order(s); "
            "set MedicationRequest.courseOfTherapyType (acute or continuous) to state it"
        )
    request: dict[str, Any] = {"patient": out_patient, "condition": condition_id, "phase": phase}
    if findings:
        request["findings"] = findings
    if jurisdiction:
        request["jurisdiction"] = jurisdiction
    if order is not None:
        refs["order"] = _ref(order)
        concept = medication_concept(order, resources)
        product = match_product(kb, concept)
        if product is not None:
            request["product"] = product
        route = _route(order)
        if route is not None:
            request["route"] = route
    return {"request": request, "notes": notes, "references": refs, "order": order}


def _declared(kb: KnowledgeBase, name: str) -> bool:
    return any(f["name"] == name for f in kb.data["findings"])


def _route(order: Mapping[str, Any]) -> str | None:
    for dosage in order.get("dosageInstruction", []) or []:
        if not isinstance(dosage, dict):
            continue
        for coding in _codings(dosage.get("route")):
            if (coding.get("system"), coding.get("code")) == C.ROUTE_IV[:2]:
                return "iv"
            if (coding.get("system"), coding.get("code")) == C.ROUTE_SC[:2]:
                return "sc"
    return None


def _choose_condition(
    kb: KnowledgeBase,
    resources: Sequence[Resource],
    order: Mapping[str, Any] | None,
    notes: list[str],
    refs: dict[str, str],
) -> tuple[str, str | None]:
    """The condition the order treats: its reason, else the patient's mapped Conditions."""
    conditions = [r for r in resources if r.get("resourceType") == "Condition" and _active(r)]
    if order is not None:
        wanted = {
            r.get("reference")
            for r in order.get("reasonReference", []) or []
            if isinstance(r, dict)
        }
        for cond in conditions:
            found = _map_condition(kb, cond.get("code")) if _ref(cond) in wanted else None
            if found:
                refs["condition"] = _ref(cond)
                return found, cond.get("onsetDateTime")
        for concept in order.get("reasonCode", []) or []:
            found = _map_condition(kb, concept)
            if found:
                return found, None
    mapped = [(c, _map_condition(kb, c.get("code"))) for c in conditions]
    mapped = [(c, cid) for c, cid in mapped if cid]
    if not mapped:
        raise MissingFieldError(
            "Condition", "the indication (an ICD-10-CM or SNOMED CT code the knowledge base knows)"
        )
    if len({cid for _, cid in mapped}) > 1:
        notes.append(
            "several conditions map to the knowledge base ("
            + ", ".join(dict.fromkeys(str(cid) for _, cid in mapped))
            + f"); used {mapped[0][1]}: give the order a reasonReference to choose"
        )
    cond, cid = mapped[0]
    refs["condition"] = _ref(cond)
    return str(cid), cond.get("onsetDateTime")
