"""Cards: the recommendation rendered for the EHR (CDS Hooks 2.0 card attributes).

One card per immunoglobulin order: the dose card (info, or warning when conditions, warnings
or findings are open) with a suggestion that replaces the draft order by the computed one; a
"more information needed" card; a "not supported" card; a "cannot check" card for data that
the record lacks. Summaries stay under 140 characters; empty fields are left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ivig.service.cds.services import OVERRIDE_REASONS
from ivig.service.fhir import codes as C
from ivig.service.fhir.write import to_fhir_medication_request

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["SUMMARY_MAX", "error_card", "recommendation_cards", "review_due_card", "summary"]

#: the spec: a summary is one sentence under 140 characters
SUMMARY_MAX = 139


def summary(text: str) -> str:
    """``text`` shortened with an ellipsis to stay under 140 characters."""
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _g(value: float) -> str:
    return f"{value:g}"


def _source(kb: KnowledgeBase, knowledge_url: str, topic: str) -> dict[str, Any]:
    return {
        "label": f"ivig knowledge base {kb.version}",
        "url": knowledge_url,
        "topic": {"system": "urn:ivig:card-topic", "code": topic},
    }


def _card(
    kb: KnowledgeBase,
    knowledge_url: str,
    *,
    topic: str,
    text: str,
    indicator: str,
    detail: str,
    suggestions: list[dict[str, Any]] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary(text),
        "indicator": indicator,
        "detail": detail,
        "source": _source(kb, knowledge_url, topic),
        "overrideReasons": OVERRIDE_REASONS,
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if links:
        card["links"] = links
    return card


def _footer(rec: Mapping[str, Any], notes: Sequence[str]) -> list[str]:
    lines: list[str] = []
    if rec.get("warnings"):
        lines += ["", "**Warnings**", *[f"- {w}" for w in rec["warnings"]]]
    if rec.get("unverified"):
        lines += [
            "",
            "**Not verified in the cited source**",
            *[f"- {u}" for u in rec["unverified"]],
        ]
    if notes:
        lines += ["", "**From the record**", *[f"- {n}" for n in notes]]
    if rec.get("sources"):
        lines += ["", "**Sources**", *[f"- [{s['id']}] {s['citation']}" for s in rec["sources"]]]
    lines += ["", f"_Knowledge {rec['knowledge_version']}. {rec['disclaimer']}_"]
    return lines


def _eligibility_lines(rec: Mapping[str, Any]) -> list[str]:
    elig = rec["eligibility"]
    lines = [f"**Eligibility**: {elig['status'].replace('_', ' ')} — {elig['reason']}"]
    for ev in elig.get("evidence", [])[:3]:
        flag = "" if ev["verified"] else " (unverified)"
        lines.append(f"- evidence {ev['system_name']}: {ev['label']}{flag}")
    for cond in elig.get("conditions", []) or []:
        lines.append(f"- condition: {cond}")
    return lines


def _dose_lines(rec: Mapping[str, Any], product_name: str | None) -> list[str]:
    dose, weight = rec["dose"], rec["dosing_weight"]
    lines = [
        f"**Dose**: {dose['regimen']['label']} — **{_g(dose['total_g'])} g** in total "
        f"({_g(dose['g_per_kg'])} g/kg × dosing weight {_g(weight['kg'])} kg, "
        f"{weight['method']} weight; policy {weight['policy']})",
        "",
        "| Day | Grams | Volume (mL) |",
        "|---|---|---|",
    ]
    for day in dose["days"]:
        volume = _g(round(day["volume_ml"], 1)) if "volume_ml" in day else ""
        lines.append(f"| {day['day']} | {_g(day['grams'])} | {volume} |")
    if dose.get("interval_weeks"):
        lines.append(f"\nRepeat every {_g(dose['interval_weeks'])} weeks.")
    lines.append(f"\nRounding: {dose['rounding']['method']} — {dose['rounding']['detail']}")
    if product_name:
        lines.append(f"\n**Product**: {product_name}")
    infusion = rec.get("infusion")
    if infusion and infusion.get("steps"):
        lines.append("\n**Infusion rate** (day 1)")
        for step in infusion["steps"]:
            lines.append(
                f"- from {_g(round(step['start_min']))} min: "
                f"{_g(step['rate_mg_per_kg_per_min'])} mg/kg/min = "
                f"{_g(round(step['rate_ml_per_h'], 1))} mL/h"
            )
    return lines


def recommendation_cards(
    kb: KnowledgeBase,
    rec: Mapping[str, Any],
    *,
    knowledge_url: str,
    order: Mapping[str, Any] | None,
    patient_ref: str,
    references: Mapping[str, str],
    notes: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The cards for one immunoglobulin order and its recommendation."""
    elig = rec["eligibility"]
    condition_id = elig.get("condition") or rec["request"]["condition"]
    name = kb.condition(condition_id)["name"]
    links = [
        {
            "label": f"Knowledge base: {condition_id}",
            "url": f"{knowledge_url}/conditions/{condition_id}",
            "type": "absolute",
        }
    ]
    status = elig["status"]
    if rec.get("dose") is None:
        if status == "insufficient_information":
            missing = elig.get("missing", [])
            lines = [*_eligibility_lines(rec), "", "**Findings needed**"]
            for item in missing:
                lines.append(
                    f"- `{item['name']}` ({item['type']}): {item['description']} — record it as an "
                    f"Observation coded `{C.IVIG_FINDING}|{item['name']}`"
                )
            text = f"Immunoglobulin for {name}: {len(missing)} finding(s) needed before a dose"
            return [
                _card(
                    kb,
                    knowledge_url,
                    topic="information-needed",
                    text=text,
                    indicator="warning",
                    detail="\n".join(lines + _footer(rec, notes)),
                    links=links,
                )
            ]
        alternatives = elig.get("alternatives") or []
        lines = _eligibility_lines(rec)
        if alternatives:
            lines += [
                "",
                "**Alternatives**",
                *[f"- {a.get('name', a.get('id'))}" for a in alternatives],
            ]
        text = f"Immunoglobulin is not supported for {name}: {elig['reason']}"
        return [
            _card(
                kb,
                knowledge_url,
                topic="not-supported",
                text=text,
                indicator="warning",
                detail="\n".join(lines + _footer(rec, notes)),
                links=links,
            )
        ]

    dose = rec["dose"]
    product_id = dose.get("product")
    product_name = kb.product(product_id)["name"] if product_id else None
    route = "IVIg" if dose["route"] == "iv" else "SCIg"
    days = len(dose["days"])
    text = (
        f"{route} {_g(dose['total_g'])} g for {name}: {_g(dose['g_per_kg_per_day'])} g/kg/day "
        f"× {days} d (dosing weight {_g(rec['dosing_weight']['kg'])} kg)"
    )
    indicator = "warning" if status != "supported" or rec.get("warnings") else "info"
    resource = to_fhir_medication_request(
        rec, patient_ref=patient_ref, references=references, draft=order, product_name=product_name
    )
    label = summary(
        f"Order {_g(dose['total_g'])} g"
        + (f" {product_name}" if product_name else "")
        + f" ({_g(dose['g_per_kg_per_day'])} g/kg/day × {days} d)"
    )
    action: dict[str, Any] = {
        "type": "update" if order is not None and "id" in order else "create",
        "description": "Replace the draft order by the computed dose, product and rate",
        "resource": resource,
    }
    suggestion = {
        "label": label,
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [action],
    }
    detail = [*_dose_lines(rec, product_name), "", *_eligibility_lines(rec), *_footer(rec, notes)]
    return [
        _card(
            kb,
            knowledge_url,
            topic="dose",
            text=text,
            indicator=indicator,
            detail="\n".join(detail),
            suggestions=[suggestion],
            links=links,
        )
    ]


def error_card(kb: KnowledgeBase, knowledge_url: str, message: str) -> dict[str, Any]:
    """A card saying the order cannot be checked, and why (the record lacks something)."""
    detail = (
        f"ivig could not check this immunoglobulin order:\n\n{message}\n\n"
        f"_Knowledge {kb.version}. {kb.disclaimer}_"
    )
    text = "ivig cannot check this immunoglobulin order: " + message.splitlines()[0]
    return _card(
        kb, knowledge_url, topic="cannot-check", text=text, indicator="warning", detail=detail
    )


def review_due_card(
    kb: KnowledgeBase, knowledge_url: str, row: Mapping[str, Any]
) -> dict[str, Any]:
    """A card for a maintenance course whose review is due (a registry ``reviews_due`` row)."""
    what = str(row.get("status", row.get("reason", "review due"))).replace("_", " ")
    due = row.get("due") or row.get("due_date") or row.get("next_review")
    text = f"Immunoglobulin maintenance review: {what}" + (f" (due {due})" if due else "")
    lines = [
        f"- {k.replace('_', ' ')}: {v}" for k, v in row.items() if not isinstance(v, dict | list)
    ]
    detail = "\n".join(
        ["**Course under review**", *lines, "", f"_Knowledge {kb.version}. {kb.disclaimer}_"]
    )
    indicator = "warning" if "overdue" in what else "info"
    return _card(
        kb, knowledge_url, topic="review-due", text=text, indicator=indicator, detail=detail
    )
