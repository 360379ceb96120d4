"""Cards: the recommendation and the order check rendered for the EHR (CDS Hooks 2.0).

One card per normal-immunoglobulin order: the dose card — the ordered dose beside the policy
dose when the draft gives one, its indicator rising with the deviation (info within the
tolerance, warning above it, critical above the regimen maximum or for an excluded product),
every input with its date, a provisional plan's open points first — with ``update`` suggestions
that change only the draft's dose, rate and timing (none for a draft without an id); a
"not supported" card; a "data age" warning for outdated inputs; an "out of scope" card for a
specific immunoglobulin; a "cannot check" card for data the record lacks. Summaries stay under
140 characters; empty fields are left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ivig.render import fmt
from ivig.service.cds.services import OVERRIDE_REASONS
from ivig.service.fhir import codes as C

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "SUMMARY_MAX",
    "error_card",
    "form_url",
    "out_of_scope_card",
    "recommendation_cards",
    "review_due_card",
    "stale_card",
    "summary",
    "together_card",
]

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


def _risk_lines(rec: Mapping[str, Any]) -> list[str]:
    """The patient's risk factors the plan took into account (derived ones with the reading
    that set them: an eGFR of 25 slows the rates and changes the product, and the card said
    nothing of it)."""
    risks = rec.get("risk_profile") or []
    if not risks:
        return []
    shown = [
        f"{r['id'].replace('_', ' ')} ({r['reason']}{'' if r['verified'] else ', unverified'})"
        for r in risks
    ]
    return [f"\n**Risks taken into account**: {'; '.join(shown)}"]


def _dose_lines(rec: Mapping[str, Any], product_name: str | None) -> list[str]:
    dose, weight = rec["dose"], rec["dosing_weight"]
    lines = [
        f"**Dose**: {dose['regimen']['label']} — **{_g(dose['total_g'])} g** in total "
        f"({_g(dose['g_per_kg'])} g/kg × dosing weight {_g(weight['kg'])} kg, "
        f"{weight['method']} weight; policy {weight['policy']})",
        "",
        "| Day | Grams | Volume (mL) | Vials |",
        "|---|---|---|---|",
    ]
    for day in dose["days"]:
        volume = _g(round(day["volume_ml"], 1)) if "volume_ml" in day else ""
        lines.append(
            f"| {day['day']} | {_g(day['grams'])} | {volume} | {fmt.vials(day.get('vials'))} |"
        )
    if dose.get("interval_weeks"):
        lines.append(f"\nRepeat {fmt.every(dose['interval_weeks'])}.")
    lines.append(f"\nRounding: {dose['rounding']['method']} — {dose['rounding']['detail']}")
    if product_name:
        lines.append(f"\n**Product**: {product_name}")
    lines += _risk_lines(rec)
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


def _links(knowledge_url: str, condition_id: str, form: str | None) -> list[dict[str, Any]]:
    links = [
        {
            "label": f"Knowledge base: {condition_id}",
            "url": f"{knowledge_url}/conditions/{condition_id}",
            "type": "absolute",
        }
    ]
    if form:
        links.insert(0, {"label": "Complete the findings in ivig", "url": form, "type": "absolute"})
    return links


def form_url(
    web_base: str, request: Mapping[str, Any], missing: Sequence[str], secret: bytes
) -> str:
    """The ivig web form prefilled with this patient's request, ``missing`` findings as empty
    fields: the values travel sealed in ``?prefill=`` (:mod:`ivig.app.form_link`), never in
    the URL in clear."""
    from ivig.app.form_link import form_params, seal

    token = seal(form_params(request, missing), secret)
    return f"{web_base.rstrip('/')}/app/request/new?prefill={token}"


def _reading_lines(reading: Mapping[str, Any] | None) -> list[str]:
    if not reading:
        return []
    lines: list[str] = []
    if reading.get("inputs"):
        lines += ["", "**Inputs used**"]
        lines += [f"- {i['text']} — {i['reference']}, {i['date']}" for i in reading["inputs"]]
    if reading.get("phase_from"):
        lines.append(f"- phase set by the earlier order {reading['phase_from']}")
    if reading.get("cautions"):
        lines += ["", "**Check**", *[f"- {c}" for c in reading["cautions"]]]
    return lines


def _missing_lines(rec: Mapping[str, Any]) -> list[str]:
    missing = rec["eligibility"].get("missing", [])
    if not missing:
        return []
    lines = ["", "**Findings needed before authorisation**"]
    for item in missing:
        lines.append(
            f"- `{item['name']}` ({item['type']}): {item['description']} — record it as an "
            f"Observation coded `{C.IVIG_FINDING}|{item['name']}` or complete it in ivig"
        )
    return lines


def _no_dose_card(
    kb: KnowledgeBase,
    rec: Mapping[str, Any],
    knowledge_url: str,
    links: list[dict[str, Any]],
    notes: Sequence[str],
    reading: Mapping[str, Any] | None,
) -> dict[str, Any]:
    elig = rec["eligibility"]
    name = kb.condition(elig.get("condition") or rec["request"]["condition"])["name"]
    lines = _eligibility_lines(rec)
    if elig["status"] == "insufficient_information":
        missing = elig.get("missing", [])
        text = f"Immunoglobulin for {name}: {len(missing)} finding(s) needed before a dose"
        topic = "information-needed"
        lines += _missing_lines(rec)
    else:
        text = f"Immunoglobulin is not supported for {name}: {elig['reason']}"
        topic = "not-supported"
        alternatives = elig.get("alternatives") or []
        if alternatives:
            lines += ["", "**Alternatives**"]
            lines += [f"- {a.get('name', a.get('id'))}" for a in alternatives]
    detail = lines + _reading_lines(reading) + _footer(rec, notes)
    return _card(
        kb,
        knowledge_url,
        topic=topic,
        text=text,
        indicator="warning",
        detail="\n".join(detail),
        links=links,
    )


_RANK = {"info": 0, "warning": 1, "critical": 2}


#: which critical finding leads a card's summary (lower first)
_LEAD = {
    "excluded_product": 0,
    "product_route_mismatch": 1,
    "rate_above_label_maximum": 2,
    "rate_above_sc_maximum": 3,
    "rate_above_at_risk_ceiling": 4,
    "above_regimen_maximum": 5,
}


def _dose_summary(rec: Mapping[str, Any], name: str, check: Mapping[str, Any] | None) -> str:
    dose = rec["dose"]
    route = "IVIg" if dose["route"] == "iv" else "SCIg"
    prefix = "Provisional: " if rec.get("plan_status") == "provisional" else ""
    # the summary leads with the most telling critical finding: an excluded product or a wrong
    # route, then a rate, then a total above the maximum (as "N x over", both doses shown), then
    # the daily amount or intensity; the count of the other critical findings follows
    critical = sorted(
        (f for f in (check or {}).get("findings", []) if f["severity"] == "critical"),
        key=lambda f: _LEAD.get(f["code"], len(_LEAD)),
    )
    more = f" (+{len(critical) - 1} more critical)" if len(critical) > 1 else ""
    if critical and critical[0]["code"] != "above_regimen_maximum":
        return f"{prefix}{route} for {name}{more}: {critical[0]['message']}"
    name += more
    # a dose or rate the order gives but that could not be read is said, not passed over
    unread = {f["code"] for f in (check or {}).get("findings", []) if f["severity"] == "warning"}
    if "dose_not_checked" in unread:
        return (
            f"{prefix}{route} for {name}: the order's dose could not be read and is not "
            f"checked; policy {_g(dose['total_g'])} g"
        )
    name += " (rate not read)" if "rate_not_checked" in unread else ""
    if check and check.get("ratio") is not None:
        return f"{prefix}{route} for {name}: {_compared(check)}"
    return (
        f"{prefix}{route} {_g(dose['total_g'])} g for {name}: {_g(dose['g_per_kg_per_day'])} "
        f"g/kg/day × {len(dose['days'])} d (dosing weight {_g(rec['dosing_weight']['kg'])} kg)"
    )


def _how(check: Mapping[str, Any]) -> str:
    ratio, tolerance = float(check["ratio"]), float(check["tolerance_pct"])
    if ratio > 1 + tolerance / 100:
        return f"{ratio:.1f}× over" if ratio >= 2 else f"{(ratio - 1) * 100:.0f} % over"
    if ratio < 1 - tolerance / 100:
        return f"{(1 - ratio) * 100:.0f} % under"
    return f"within {tolerance:g} %"


def _compared(check: Mapping[str, Any]) -> str:
    """The order beside the policy as the check compared them: per week when the order repeats
    at another interval, per course when it runs over other days (85 g/day for 2 days is not
    "within 10 %" of 34 g/day: the courses are), else per day."""
    how = _how(check)
    ordered_total, policy_total = _g(check["ordered_total_g"]), _g(check["policy_total_g"])
    if check.get("compared_per") == "week":
        return (
            f"{ordered_total} g every {_g(check['ordered_interval_weeks'])} wk ordered, policy "
            f"{policy_total} g every {_g(check['policy_interval_weeks'])} wk: {how} per week"
        )
    ordered, days = check.get("ordered_grams_per_day"), check.get("ordered_days")
    if ordered is not None and days and days != check.get("policy_days"):
        return (
            f"{ordered_total} g over {days} d ordered, policy {policy_total} g over "
            f"{check['policy_days']} d: {how}"
        )
    if ordered is not None:
        return (
            f"{_g(round(ordered, 2))} g/day ordered, policy {_g(check['policy_grams_per_day'])} "
            f"g/day: {how}"
        )
    return f"{ordered_total} g ordered, policy {policy_total} g: {how}"


def _confirm_lines(rec: Mapping[str, Any]) -> list[str]:
    """A provisional plan opens with what must be confirmed before authorisation."""
    if rec.get("plan_status") != "provisional":
        return []
    items = rec.get("to_confirm") or ["the criteria findings"]
    return [
        "**Provisional plan — confirm before authorisation**",
        *[f"- {item}" for item in items],
        "",
    ]


def _check_lines(check: Mapping[str, Any] | None) -> list[str]:
    if not check:
        return []
    lines = ["**Order check**"]
    if check.get("ordered_total_g") is not None and check.get("policy_total_g") is not None:
        lines.append(
            f"- ordered {_g(check['ordered_total_g'])} g "
            f"({_g(round(check['ordered_g_per_kg'], 2))} g/kg); "
            f"policy {_g(check['policy_total_g'])} g "
            f"({_g(check['policy_g_per_kg'])} g/kg); difference {_g(check['difference_g'])} g"
            f"{' per week' if check.get('compared_per') == 'week' else ''} "
            f"({_g(check['difference_pct'])} %)"
        )
    lines += [f"- {f['severity']}: {f['message']}" for f in check["findings"]]
    return [*lines, ""]


def _stale_dose_input(reading: Mapping[str, Any]) -> bool:
    """The weight the dose is computed on is too old (the data-age card says so; the dose card
    then is not 'info')."""
    return any(str(s).startswith("weight") for s in reading.get("stale") or [])


def _dose_indicator(
    rec: Mapping[str, Any], check: Mapping[str, Any] | None, reading: Mapping[str, Any] | None
) -> str:
    base = "info"
    if rec["eligibility"]["status"] != "supported" or rec.get("warnings"):
        base = "warning"
    if reading and (reading.get("cautions") or _stale_dose_input(reading)):
        base = "warning"  # a doubt on the reading, or the dosing weight is too old
    if rec.get("plan_status") == "provisional":
        base = "warning"
    if check:
        worst = str(check["severity"])
        # a dose within tolerance is not raised by the order check
        base = max(base, worst, key=_RANK.__getitem__)
    return base


def recommendation_cards(
    kb: KnowledgeBase,
    rec: Mapping[str, Any],
    *,
    knowledge_url: str,
    order: Mapping[str, Any] | None,
    patient_ref: str,
    references: Mapping[str, str],
    notes: Sequence[str] = (),
    reading: Mapping[str, Any] | None = None,
    check: Mapping[str, Any] | None = None,
    web_base: str | None = None,
    form_secret: Callable[[], bytes | None] | None = None,
) -> list[dict[str, Any]]:
    """The cards for one immunoglobulin order, its recommendation and its order check; with
    ``web_base`` and ``form_secret`` (asked only when a link is needed), missing findings link
    to the prefilled web form."""
    elig = rec["eligibility"]
    condition_id = elig.get("condition") or rec["request"]["condition"]
    name = kb.condition(condition_id)["name"]
    missing = [m["name"] for m in elig.get("missing", [])]
    secret = form_secret() if web_base and missing and form_secret else None
    form = form_url(web_base, rec["request"], missing, secret) if web_base and secret else None
    links = _links(knowledge_url, condition_id, form)
    cards = (
        [stale_card(kb, knowledge_url, reading["stale"])]
        if reading and reading.get("stale")
        else []
    )
    if rec.get("dose") is None:
        return [_no_dose_card(kb, rec, knowledge_url, links, notes, reading), *cards]
    dose = rec["dose"]
    product_id = dose.get("product")
    product_name = kb.product(product_id)["name"] if product_id else None
    suggestions = _suggestions(kb, rec, order, patient_ref, references, product_name, web_base)
    detail = [
        *_confirm_lines(rec),
        *_check_lines(check),
        *_dose_lines(rec, product_name),
        "",
        *_eligibility_lines(rec),
        *_missing_lines(rec),
        *_reading_lines(reading),
    ]
    if order is not None and "id" not in order:
        detail += [
            "",
            "_The draft order has no id: change it by hand (no suggestion, so that "
            "accepting cannot order immunoglobulin twice)._",
        ]
    card = _card(
        kb,
        knowledge_url,
        topic="dose",
        text=_dose_summary(rec, name, check),
        indicator=_dose_indicator(rec, check, reading),
        detail="\n".join(detail + _footer(rec, notes)),
        suggestions=suggestions,
        links=links,
    )
    return [card, *cards]


def _suggestions(
    kb: KnowledgeBase,
    rec: Mapping[str, Any],
    order: Mapping[str, Any] | None,
    patient_ref: str,
    references: Mapping[str, str],
    product_name: str | None,
    canonical_base: str | None = None,
) -> list[dict[str, Any]]:
    """An ``update`` of the draft (dose, rate, timing changed; everything else kept).

    A draft without an id gets no suggestion: a ``create`` beside it would order twice.
    """
    from ivig.service.fhir.write import updated_order

    if order is None or "id" not in order:
        return []
    dose = rec["dose"]
    days = len(dose["days"])
    out = []
    resource = updated_order(
        rec,
        order,
        patient_ref=patient_ref,
        references=references,
        canonical_base=canonical_base,
    )
    out.append(
        {
            "label": summary(
                f"Change the dose to {_g(dose['total_g'])} g "
                f"({_g(dose['g_per_kg_per_day'])} g/kg/day × {days} d)"
            ),
            "uuid": str(uuid.uuid4()),
            "isRecommended": True,
            "actions": [
                {
                    "type": "update",
                    "description": "Change the dose, rate and timing of the draft order",
                    "resource": resource,
                }
            ],
        }
    )
    ordered_product = rec["request"].get("product")
    if product_name and dose.get("product") != ordered_product:
        with_product = updated_order(
            rec,
            order,
            patient_ref=patient_ref,
            references=references,
            product_name=product_name,
            canonical_base=canonical_base,
        )
        out.append(
            {
                "label": summary(f"Change the dose and the product to {product_name}"),
                "uuid": str(uuid.uuid4()),
                "isRecommended": False,
                "actions": [
                    {
                        "type": "update",
                        "description": f"Dose, rate and timing as computed, product {product_name}",
                        "resource": with_product,
                    }
                ],
            }
        )
    return out


def stale_card(kb: KnowledgeBase, knowledge_url: str, stale: Sequence[str]) -> dict[str, Any]:
    """A warning that data older than the knowledge base allows drove the dose."""
    first = stale[0]
    text = "Outdated data used for the immunoglobulin dose: " + first.split(";")[0]
    detail = "\n".join(
        [
            "**Outdated or undated data**",
            *[f"- {s}" for s in stale],
            "",
            f"_Knowledge {kb.version}. {kb.disclaimer}_",
        ]
    )
    return _card(kb, knowledge_url, topic="data-age", text=text, indicator="warning", detail=detail)


def out_of_scope_card(
    kb: KnowledgeBase, knowledge_url: str, what: str, via: str, order_ref: str
) -> dict[str, Any]:
    """An immunoglobulin ivig does not advise on (a specific or an intramuscular one)."""
    text = f"ivig does not advise on this order: {what} is not normal IVIg/SCIg"
    detail = (
        f"The order {order_ref} is for **{what}** (recognised by {via}). ivig checks normal "
        "immunoglobulin for neurological indications only; it gives no dose and no suggestion "
        f"for this order.\n\n_Knowledge {kb.version}. {kb.disclaimer}_"
    )
    return _card(
        kb, knowledge_url, topic="out-of-scope", text=text, indicator="info", detail=detail
    )


def together_card(
    kb: KnowledgeBase, knowledge_url: str, checks: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Several normal-immunoglobulin orders in one call, each checked alone above: their grams
    together against the policy course (two products of one course, a course split in two
    orders, or the same course ordered twice: each alone looked "within 10 %")."""
    total = sum(float(c["ordered_total_g"]) for _, c in checks)
    first = checks[0][1]
    policy, top = float(first["policy_total_g"]), float(first["regimen_max_total_g"])
    tolerance = float(first["tolerance_pct"])
    ratio = total / policy
    if total > top * (1 + tolerance / 100):
        indicator, how = "critical", f"{ratio:.1f}× the policy dose, above the regimen maximum"
    elif ratio > 1 + tolerance / 100:
        indicator, how = "warning", f"{(ratio - 1) * 100:.0f} % over"
    elif ratio < 1 - tolerance / 100:
        indicator, how = "info", f"{(1 - ratio) * 100:.0f} % under"
    else:
        indicator, how = "info", f"within {tolerance:g} %: together they make the course"
    lines = [f"- {ref}: {_g(float(c['ordered_total_g']))} g" for ref, c in checks]
    detail = "\n".join(
        [
            f"{len(checks)} normal-immunoglobulin orders are in this order set; each is checked "
            "alone on its own card. Together:",
            *lines,
            f"- together {_g(round(total, 2))} g; policy {_g(policy)} g "
            f"(regimen maximum {_g(top)} g): {how}",
            "",
            f"_Knowledge {kb.version}. {kb.disclaimer}_",
        ]
    )
    text = (
        f"{len(checks)} immunoglobulin orders together: {_g(round(total, 2))} g, policy "
        f"{_g(policy)} g: {how}"
    )
    return _card(
        kb, knowledge_url, topic="orders-together", text=text, indicator=indicator, detail=detail
    )


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
