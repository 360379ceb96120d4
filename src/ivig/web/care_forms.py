"""The care forms of the patient page: record an infusion, an outcome assessment, an adverse
event. Which fields each form shows, their choices (products and scores from the knowledge
base, severities and timings from the registry) and form data to the registry's arguments.

No clinical rule lives here: the registry checks every value (``InputError`` names the field,
shown next to it); this module only reads text as numbers and dates as the registry expects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ivig.web.access import allowed

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "ACTION_OF",
    "ITEM_PREFIX",
    "CareField",
    "Submitted",
    "attach_forms",
    "item_form",
    "items_of",
    "parse_care_form",
    "score_item_fields",
    "score_links",
]

#: form kind -> the access action (``ivig.web.access.ACTIONS``) it needs
ACTION_OF = {
    "infusion": "record_infusion",
    "outcome": "record_outcome",
    "adverse_event": "record_adverse_event",
    "igg": "record_igg_level",
}

Choices = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CareField:
    """One input: name (the registry's argument), label, kind, unit and choices."""

    name: str
    label: str
    kind: str  # date | text | textarea | float | select
    unit: str | None = None
    required: bool = False
    choices: Choices = ()
    help: str | None = None


@dataclass(frozen=True)
class Submitted:
    """A form sent back with problems: its kind, course, the values typed and the errors."""

    kind: str
    course_id: int | None
    values: dict[str, str]
    errors: dict[str, str]


def _products(kb: KnowledgeBase) -> Choices:
    products = sorted(kb.data["products"], key=lambda p: str(p["name"]).lower())
    return tuple((str(p["id"]), str(p["name"])) for p in products)


def _plain(items: tuple[str, ...]) -> Choices:
    return tuple((i, i.replace("_", " ")) for i in items)


def infusion_fields(kb: KnowledgeBase) -> list[CareField]:
    """The fields of the infusion form."""
    return [
        CareField("date", "Date given", "date", required=True),
        CareField("product", "Product", "select", required=True, choices=_products(kb)),
        CareField("lot_number", "Lot (batch) number", "text", required=True),
        CareField("grams", "Dose given", "float", "g", required=True),
        CareField("rate_ml_per_h", "Highest rate reached", "float", "mL/h"),
        CareField("duration_min", "Duration", "float", "min"),
        CareField("reactions", "Reactions during the infusion", "textarea"),
        CareField(
            "substitution_reason",
            "Reason for another product than the authorised one",
            "textarea",
            help="needed only when the product is not the one the steward authorised",
        ),
        CareField(
            "override_reason",
            "Reason to record beyond the authorisation",
            "textarea",
            help="needed only after the authorisation's expiry or past its authorised grams; "
            "the stewardship dashboard shows every override",
        ),
    ]


def outcome_fields(kb: KnowledgeBase) -> list[CareField]:
    """The fields of the outcome-assessment form."""
    from ivig.registry.care import TIMINGS

    scores = sorted(kb.data["scores"], key=lambda s: str(s["name"]).lower())
    return [
        CareField(
            "score_id",
            "Score",
            "select",
            required=True,
            choices=tuple((str(s["id"]), str(s["name"])) for s in scores),
        ),
        CareField("date", "Date assessed", "date", required=True),
        CareField("timing", "Timing", "select", required=True, choices=_plain(TIMINGS)),
        CareField("value", "Value (total)", "float", help="or give the items below"),
        CareField(
            "items",
            "Items",
            "textarea",
            help="one per line: item id = value (the score's item ids, see Knowledge)",
        ),
    ]


#: the prefix of an item's field in the item-by-item outcome form (``item.<item id>``)
ITEM_PREFIX = "item."


def score_item_fields(kb: KnowledgeBase, score_id: str) -> list[CareField]:
    """The outcome form of one score, item by item, as its record defines the items: a choice
    list (value and its words) or a number with its unit and range."""
    from ivig.registry.care import TIMINGS

    score = kb.score(score_id)
    fields = [
        CareField("score_id", "Score", "select", required=True,
                  choices=((str(score["id"]), str(score["name"])),)),
        CareField("date", "Date assessed", "date", required=True),
        CareField("timing", "Timing", "select", required=True, choices=_plain(TIMINGS)),
    ]  # fmt: skip
    for item in score.get("items", []):
        name = ITEM_PREFIX + str(item["id"])
        label = str(item.get("label") or item["id"]).capitalize()
        if item.get("choices"):
            choices = tuple(
                (str(c["value"]), f"{c['value']}: {c['label']}") for c in item["choices"]
            )
            fields.append(CareField(name, label, "select", required=True, choices=choices))
            continue
        low, high = item.get("min"), item.get("max")
        span = f"{low:g} to {high:g}" if low is not None and high is not None else None
        fields.append(CareField(name, label, "float", item.get("unit"), required=True, help=span))
    return fields


def items_of(args: dict[str, Any]) -> dict[str, Any] | None:
    """The ``item.<id>`` arguments of an item-by-item form as the score's items (numbers as
    numbers), removed from ``args``; ``None`` when the form has none."""
    keys = [k for k in args if k.startswith(ITEM_PREFIX)]
    if not keys:
        return None
    items: dict[str, Any] = {}
    for key in keys:
        value = args.pop(key)
        number = _number(value, None) if isinstance(value, str) else value
        if isinstance(number, float):
            value = int(number) if number.is_integer() else number
        items[key.removeprefix(ITEM_PREFIX)] = value
    return items


def score_links(kb: KnowledgeBase, base: str, course: dict[str, Any]) -> list[tuple[str, str]]:
    """Links to the item-by-item form of each score used in the course's condition."""
    condition = course.get("condition")
    scores = [s for s in kb.data["scores"] if condition in (s.get("conditions") or [])]
    return [
        (f"{base}/courses/{course['id']}/outcomes/new?score={s['id']}", str(s["name"]))
        for s in sorted(scores, key=lambda s: str(s["name"]).lower())
    ]


def igg_fields() -> list[CareField]:
    """The fields of the measured-IgG form."""
    from ivig.registry.care import IGG_KINDS

    return [
        CareField("date", "Date sampled", "date", required=True),
        CareField("kind", "Level", "select", required=True, choices=_plain(IGG_KINDS),
                  help="trough: just before an infusion; peak: after it"),
        CareField("igg_g_per_l", "Serum IgG", "float", "g/L", required=True),
        CareField("note", "Note", "textarea"),
    ]  # fmt: skip


def adverse_event_fields(kb: KnowledgeBase, courses: list[dict[str, Any]]) -> list[CareField]:
    """The fields of the adverse-event form (``courses``: the patient's courses)."""
    from ivig.registry.care import AE_OUTCOMES, AE_SEVERITIES
    from ivig.web.glossary import name

    course_choices = tuple(
        (str(c["id"]), f"Course {c['id']} ({name(kb, c.get('indication') or c.get('condition'))})")
        for c in courses
    )
    return [
        CareField("date", "Date of onset", "date", required=True),
        CareField("event_type", "Event", "text", required=True),
        CareField("severity", "Severity", "select", required=True, choices=_plain(AE_SEVERITIES)),
        CareField("outcome", "Outcome", "select", required=True, choices=_plain(AE_OUTCOMES)),
        CareField("course_id", "Course", "select", choices=course_choices),
        CareField("product", "Product", "select", choices=_products(kb)),
        CareField("lot_number", "Lot (batch) number", "text"),
        CareField("description", "Description", "textarea"),
    ]


def _number(text: str, unit: str | None) -> float | str:
    """``text`` as a number, or the message saying why it is not one."""
    shown = f" in {unit}" if unit else ""
    if text.count(",") + text.count(".") > 1:
        return f"{text!r} is ambiguous (thousands separator?); enter a plain number{shown}"
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return f"{text!r} is not a number; enter a number{shown}"
    if not math.isfinite(value):
        return f"{text!r} is not a finite number"
    return value


def _items(text: str) -> dict[str, Any] | str:
    """``item = value`` lines as a dict (numbers as numbers), or the message for a bad line."""
    out: dict[str, Any] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        sep = "=" if "=" in line else ":"
        key, found, raw = line.partition(sep)
        if not found or not key.strip() or not raw.strip():
            return f"{line!r}: write one item per line as item id = value"
        raw = raw.strip()
        number = _number(raw, None)
        if isinstance(number, float):
            out[key.strip()] = int(number) if number.is_integer() else number
        else:
            out[key.strip()] = raw
    return out


def parse_care_form(
    fields: list[CareField], values: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The registry's keyword arguments for the form and the fields that could not be read.

    Empty optional inputs are left out; an empty required input is passed as empty text so the
    registry names it. Numbers are read here (text in a number field is an error here).
    """
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        text = values.get(f.name, "").strip()
        if not text:
            if f.required:
                errors[f.name] = "required"
            continue
        if f.kind == "float":
            number = _number(text, f.unit)
            if isinstance(number, str):
                errors[f.name] = number
            else:
                out[f.name] = number
        elif f.name == "items":
            items = _items(text)
            if isinstance(items, str):
                errors[f.name] = items
            else:
                out[f.name] = items
        elif f.name == "course_id":
            out[f.name] = int(text) if text.isdigit() else text
        else:
            out[f.name] = text
    return out, errors


def _form(
    kind: str,
    action: str,
    prefix: str,
    title: str,
    fields: list[CareField],
    defaults: dict[str, str],
    submitted: Submitted | None,
    course_id: int | None,
) -> dict[str, Any]:
    mine = submitted if submitted and submitted.kind == kind else None
    if mine and mine.course_id != course_id:
        mine = None
    values = dict(mine.values) if mine else defaults
    errors = dict(mine.errors) if mine else {}
    names = {f.name for f in fields}
    return {
        "kind": kind,
        "action": action,
        "prefix": prefix,
        "title": title,
        "fields": fields,
        "values": values,
        "errors": errors,
        "other_errors": [f"{k}: {v}" for k, v in errors.items() if k not in names],
        "open": mine is not None,
    }


def attach_forms(
    kb: KnowledgeBase,
    history: dict[str, Any],
    *,
    role: str,
    today: str,
    submitted: Submitted | None = None,
) -> dict[str, Any] | None:
    """Put each course's forms in ``course["forms"]``; return the adverse-event form.

    A form is shown only to a role that may send it; the infusion form only on an active
    course. ``submitted`` refills the form it came from with its values and errors.
    """
    from urllib.parse import quote

    base = f"/app/patients/{quote(str(history['patient_ref']), safe='')}"
    for course in history["courses"]:
        cid = int(course["id"])
        forms: dict[str, Any] = {"infusion": None, "outcome": None, "igg": None}
        if course["status"] == "active" and allowed(role, "record_infusion"):
            forms["infusion"] = _form(
                "infusion", f"{base}/courses/{cid}/infusions", f"inf-{cid}",
                f"Record an infusion (course {cid})", infusion_fields(kb),
                {"date": today, "product": str(course.get("product") or "")},
                submitted, cid,
            )  # fmt: skip
        course["score_links"] = (
            score_links(kb, base, course) if allowed(role, "record_outcome") else []
        )
        if allowed(role, "record_outcome"):
            forms["outcome"] = _form(
                "outcome", f"{base}/courses/{cid}/outcomes", f"out-{cid}",
                f"Record an outcome assessment (course {cid})", outcome_fields(kb),
                {"date": today, "timing": "routine"}, submitted, cid,
            )  # fmt: skip
        if allowed(role, "record_igg_level"):
            forms["igg"] = _form(
                "igg", f"{base}/courses/{cid}/igg-levels", f"igg-{cid}",
                f"Record a measured IgG level (course {cid})", igg_fields(),
                {"date": today, "kind": "trough"}, submitted, cid,
            )  # fmt: skip
        course["forms"] = forms
    if not allowed(role, "record_adverse_event"):
        return None
    return _form(
        "adverse_event", f"{base}/adverse-events", "ae", "Record an adverse event",
        adverse_event_fields(kb, history["courses"]), {"date": today}, submitted, None,
    )  # fmt: skip


def item_form(
    kb: KnowledgeBase,
    patient_ref: str,
    course_id: int,
    score_id: str,
    *,
    today: str,
    submitted: Submitted | None = None,
) -> dict[str, Any]:
    """The item-by-item outcome form of ``score_id`` on a course (with its problems, if any)."""
    from urllib.parse import quote

    base = f"/app/patients/{quote(patient_ref, safe='')}"
    form = _form(
        "outcome", f"{base}/courses/{course_id}/outcomes", f"items-{course_id}",
        f"{kb.score(score_id)['name']}, item by item", score_item_fields(kb, score_id),
        {"date": today, "timing": "routine", "score_id": score_id}, submitted, course_id,
    )  # fmt: skip
    form["open"] = True
    return form
