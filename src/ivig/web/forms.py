"""The new-request form: which fields it shows, and form data to an ``ivig.contract.Request``.

Field names are the request's own dotted paths (``patient.weight_kg``,
``patient.labs.iga_g_per_l``, ``findings.days_since_onset``), so a problem reported by the
contract, the knowledge check or the core (``InputError.field``) lands next to its field.
No clinical rule lives here: ranges and units come from the knowledge base and the contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "LAB_FIELDS",
    "FormField",
    "errors_by_field",
    "finding_fields",
    "parse_form",
    "patient_fields",
]

#: findings the core derives from the patient itself (never asked twice)

#: laboratory fields of ``ivig.contract.Labs``: (name, label, unit or None, kind)
LAB_FIELDS: tuple[tuple[str, str, str | None, str], ...] = (
    ("iga_g_per_l", "Serum IgA", "g/L", "float"),
    ("anti_iga_antibodies", "Antibodies against IgA", None, "bool"),
    ("egfr_ml_per_min_1_73m2", "eGFR", "mL/min/1.73 m²", "float"),
    ("creatinine_umol_per_l", "Creatinine", "µmol/L", "float"),
    ("haemoglobin_g_per_l", "Haemoglobin", "g/L", "float"),
    ("igg_g_per_l", "Serum IgG", "g/L", "float"),
    ("blood_group", "Blood group", None, "enum:O,A,B,AB"),
)

_NUMERIC_PATIENT = (
    ("age_years", "Age", "years", True),
    ("weight_kg", "Weight", "kg", True),
    ("height_cm", "Height", "cm", False),
    ("pre_pregnancy_weight_kg", "Pre-pregnancy weight", "kg", False),
)


@dataclass(frozen=True)
class FormField:
    """One input of the form: its name (a request path), label, unit and kind."""

    name: str
    label: str
    kind: str  # float | int | bool | enum | text
    unit: str | None = None
    required: bool = False
    allowed: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    help: str | None = None

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def patient_fields(kb: KnowledgeBase) -> list[FormField]:
    """The numeric patient fields with their units and plausibility limits."""
    out = []
    for name, label, unit, required in _NUMERIC_PATIENT:
        limit = kb.limit(name)
        out.append(
            FormField(
                name=f"patient.{name}",
                label=label,
                kind="float",
                unit=limit["unit"] if limit else unit,
                required=required,
                min=limit["min"] if limit else None,
                max=limit["max"] if limit else None,
            )
        )
    return out


def lab_fields() -> list[FormField]:
    """The laboratory fields of the form."""
    out = []
    for name, label, unit, spec in LAB_FIELDS:
        kind = spec
        allowed: tuple[str, ...] = ()
        if spec.startswith("enum:"):
            kind, allowed = "enum", tuple(spec[5:].split(","))
        out.append(FormField(f"patient.labs.{name}", label, kind, unit, allowed=allowed))
    return out


def finding_fields(kb: KnowledgeBase, names: Sequence[str]) -> list[FormField]:
    """Form fields for findings, typed and with units as the knowledge base declares them."""
    out = []
    for name in names:
        decl = kb.finding(name)
        out.append(
            FormField(
                name=f"findings.{name}",
                label=decl["description"],
                kind=decl["type"],
                unit=decl.get("unit") if decl.get("unit") not in (None, "none") else None,
                allowed=tuple(decl.get("allowed", [])),
                min=decl.get("min"),
                max=decl.get("max"),
            )
        )
    return out


def _first(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip() if value is not None else ""


def _many(form: Mapping[str, Any], name: str) -> list[str]:
    value = form.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def _number(text: str, kind: str, name: str, unit: str | None, errors: dict[str, str]) -> Any:
    stripped = text.strip()
    if stripped.count(",") + stripped.count(".") > 1 or (
        "," in stripped and len(stripped.split(",")[1]) == 3
    ):
        shown = f" in {unit}" if unit else ""
        errors[name] = f"{text!r} is ambiguous (thousands separator?); enter a plain number{shown}"
        return None
    try:
        value = float(stripped.replace(",", "."))
    except ValueError:
        shown = f" in {unit}" if unit else ""
        errors[name] = f"{text!r} is not a number; enter a number{shown}"
        return None
    if kind == "int" and value.is_integer():
        return int(value)
    return value


def _typed(text: str, field: FormField, errors: dict[str, str]) -> Any:
    if field.kind == "bool":
        if text in ("true", "false"):
            return text == "true"
        errors[field.name] = f"{text!r}: choose yes or no"
        return None
    if field.kind in ("int", "float"):
        return _number(text, field.kind, field.name, field.unit, errors)
    return text


def _put(
    target: dict[str, Any], key: str, value: Any, field: FormField, errors: dict[str, str]
) -> None:
    if field.name not in errors:
        target[key] = value


def _parse_patient(
    kb: KnowledgeBase, form: Mapping[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    patient: dict[str, Any] = {}
    sex = _first(form, "patient.sex")
    if sex:
        patient["sex"] = sex
    for field in patient_fields(kb):
        text = _first(form, field.name)
        if text:
            _put(patient, field.name.split(".", 1)[1], _typed(text, field, errors), field, errors)
    for flag in ("pregnant", "first_infusion", "product_switch"):
        if _first(form, f"patient.{flag}") in ("on", "true"):
            patient[flag] = True
    labs: dict[str, Any] = {}
    for field in lab_fields():
        text = _first(form, field.name)
        if text:
            _put(labs, field.name.rsplit(".", 1)[1], _typed(text, field, errors), field, errors)
    if labs:
        patient["labs"] = labs
    risks = _many(form, "patient.risk_factors")
    if risks:
        patient["risk_factors"] = risks
    return patient


def _parse_findings(
    kb: KnowledgeBase, form: Mapping[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    findings: dict[str, Any] = {}
    declared = {f["name"] for f in kb.data["findings"]}
    for key in form:
        if not key.startswith("findings."):
            continue
        name = key.split(".", 1)[1]
        text = _first(form, key)
        if text and name in declared:
            (field,) = finding_fields(kb, [name])
            _put(findings, name, _typed(text, field, errors), field, errors)
    return findings


def parse_form(kb: KnowledgeBase, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The request the form describes and the fields that could not be read.

    Empty inputs are left out (the contract then names what is required); text in a number
    field is an error here, before the contract is asked.
    """
    errors: dict[str, str] = {}
    request: dict[str, Any] = {"patient": _parse_patient(kb, form, errors)}
    for key in ("condition", "indication", "phase", "jurisdiction", "dosing_weight_policy",
                "rounding", "route", "product", "policy_opt_out_justification"):  # fmt: skip
        text = _first(form, key)
        if text:
            request[key] = text
    condition_id = kb.resolve_condition(request.get("condition", ""))
    if condition_id:
        request["condition"] = condition_id
    for key in ("formulary", "confirm_unusual"):
        values = _many(form, key)
        if values:
            request[key] = values
    findings = _parse_findings(kb, form, errors)
    if findings:
        request["findings"] = findings
    return request, errors


def errors_by_field(problems: Sequence[Mapping[str, object]]) -> dict[str, str]:
    """Problems (``InvalidRequestError.problems`` or ``InputError.to_dict()``) by field path."""
    out: dict[str, str] = {}
    for problem in problems:
        field = str(problem.get("field") or "(request)")
        field = field.split("[", 1)[0]  # patient.risk_factors[0] -> patient.risk_factors
        message = str(problem.get("message", ""))
        out[field] = f"{out[field]}; {message}" if field in out else message
    return out
