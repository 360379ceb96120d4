"""The printable order sheet (HTML with a print stylesheet) of a recommendation."""

from __future__ import annotations

from html import escape
from typing import Any

from ivig.render.fmt import minutes, ml_per_h

__all__ = ["render_order_sheet"]

_CSS = "\n".join(
    [
        "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;"
        "color:#111;max-width:60rem}",
        "h1{font-size:1.4rem;margin:0 0 .3rem}",
        "h2{font-size:1.1rem;border-bottom:1px solid #999;margin-top:1.4rem}",
        "table{border-collapse:collapse;width:100%;margin:.4rem 0}",
        "th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}",
        "th{background:#eef}",
        ".status{font-weight:bold;padding:.1rem .4rem;border:2px solid #333}",
        ".warn{background:#fff4cc;border-left:4px solid #c90;padding:.3rem .6rem;margin:.3rem 0}",
        ".unverified{color:#8a5300}",
        ".excluded{text-decoration:line-through;color:#666}",
        ".muted{color:#555;font-size:.85rem}",
        ".sign{margin-top:2rem;display:flex;gap:2rem}",
        ".sign div{flex:1;border-top:1px solid #000;padding-top:.2rem}",
        "@media print{body{margin:0}",
        ".noprint{display:none}",
        "h2{break-after:avoid}",
        "table{break-inside:avoid}",
    ]
)


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else _e(value)


def render_order_sheet(rec: dict[str, Any]) -> str:
    """A self-contained HTML page (no external assets)."""
    el = rec["eligibility"]
    parts: list[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>ivig order sheet</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Immunoglobulin order sheet</h1>",
        f"<p><span class='status' id='status'>{_e(el['status'])}</span> "
        f"{_e(el.get('condition', ''))} — {_e(el.get('indication'))} "
        f"(role: {_e(el.get('role'))})</p>",
        f"<p>{_e(el['reason'])}</p>",
    ]
    if el["evidence"]:
        parts.append(
            "<h2>Evidence</h2><table><tr><th>System</th><th>Level</th><th>Source</th></tr>"
        )
        for ev in el["evidence"]:
            flag = "" if ev["verified"] else " <span class='unverified'>(unverified)</span>"
            parts.append(
                f"<tr><td>{_e(ev['system_name'])}</td><td>{_e(ev['level'])} — {_e(ev['label'])}"
                f"{flag}</td><td>{_e(', '.join(ev['sources']))}</td></tr>"
            )
        parts.append("</table>")
    if el["missing"]:
        parts.append("<h2>Missing findings</h2><ul>")
        for item in el["missing"]:
            unit = f" ({_e(item['unit'])})" if item.get("unit") else ""
            parts.append(
                f"<li><code>{_e(item['name'])}</code>{unit}: {_e(item['description'])}</li>"
            )
        parts.append("</ul>")
    weight, dose = rec.get("dosing_weight"), rec.get("dose")
    if weight and dose:
        parts.append("<h2>Dose</h2>")
        parts.append(
            f"<p>Dosing weight <b id='dosing-weight'>{_num(weight['kg'])} kg</b> "
            f"({_e(weight['method'])}, policy {_e(weight['policy'])}): "
            f"{_e(weight['rule']['reason'])}</p>"
            f"<p>Regimen {_e(dose['regimen']['label'])}: "
            f"<b id='dose-g-per-kg'>{_num(dose['g_per_kg'])} g/kg</b>, "
            f"total <b id='total-g'>{_num(dose['total_g'])} g</b>"
            + (f", every {_num(dose['interval_weeks'])} weeks" if dose["interval_weeks"] else "")
            + "</p>"
        )
        parts.append("<table><tr><th>Day</th><th>Grams</th><th>Volume (mL)</th><th>Vials</th></tr>")
        for day in dose["days"]:
            vials = ", ".join(f"{v['count']} x {v['size_g']:g} g" for v in day.get("vials", []))
            parts.append(
                f"<tr><td>{day['day']}</td><td class='grams'>{_num(day['grams'])}</td>"
                f"<td>{_num(day.get('volume_ml', ''))}</td><td>{_e(vials)}</td></tr>"
            )
        parts.append("</table>")
    if rec.get("products"):
        parts.append("<h2>Products</h2><ol>")
        for prod in rec["products"]:
            cls = " class='excluded'" if prod["status"] == "excluded" else ""
            reasons = "; ".join(r.get("text", "") for r in prod.get("reasons", []))
            parts.append(
                f"<li{cls} data-product='{_e(prod['id'])}'><b>{_e(prod['name'])}</b> — "
                f"{_e(prod['status'])}<br><span class='muted'>{_e(reasons)}</span></li>"
            )
        parts.append("</ol>")
    infusion = rec.get("infusion")
    if infusion:
        parts.append(f"<h2>Infusion rates — {_e(infusion['product'])}</h2>")
        parts.append(
            "<table id='rates'><tr><th>Start (min)</th><th>mg/kg/min</th><th>mL/h</th>"
            "<th>Cumulative mL</th><th>Cumulative g</th></tr>"
        )
        for row in infusion["steps"]:
            parts.append(
                f"<tr><td>{minutes(row['start_min'])}</td><td>{_num(row['rate_mg_per_kg_per_min'])}</td>"
                f"<td class='ml-h'>{ml_per_h(row['rate_ml_per_h'])}</td>"
                f"<td>{row['cumulative_ml']:.0f}</td><td>{row['cumulative_g']:.1f}</td></tr>"
            )
        parts.append(
            f"</table><p>Maximum {_num(infusion['max_rate_mg_per_kg_per_min'])} mg/kg/min; "
            f"duration {minutes(infusion['duration_min'])} min.</p>"
        )
        for key in ("weight_basis", "first_infusion_reason"):
            if infusion.get(key):
                parts.append(f"<p class='{key}'>{_e(infusion[key])}</p>")
        if infusion.get("notes"):
            notes = "".join(f"<li>{_e(n)}</li>" for n in infusion["notes"])
            parts.append(f"<ul class='schedule-notes muted'>{notes}</ul>")
    if rec.get("monitoring"):
        parts.append("<h2>Monitoring</h2><ul>")
        for item in [m for m in rec["monitoring"] if m.get("phase") != "risks"]:
            text = (
                item.get("text") or item.get("name") or item.get("id")
                if isinstance(item, dict)
                else item
            )
            parts.append(f"<li>{_e(text)}</li>")
        parts.append("</ul>")
    review = rec.get("review")
    if review:
        measures = ", ".join(m["name"] for m in review["measures"])
        parts.append(
            f"<h2>Review</h2><p>Measures: {_e(measures)}. {_e(review['response_definition'])}</p>"
        )
    for warning in rec.get("warnings", []):
        parts.append(f"<div class='warn'>{_e(warning)}</div>")
    for item in rec.get("unverified", []):
        parts.append(f"<div class='warn unverified'>Unverified: {_e(item)}</div>")
    parts.append(
        "<div class='sign'><div>Prescriber</div><div>Pharmacist</div><div>Nurse</div></div>"
    )
    parts.append("<h2>Sources</h2><ul class='muted'>")
    for src in rec.get("sources", []):
        parts.append(f"<li>[{_e(src['id'])}] {_e(src['citation'])}</li>")
    parts.append(
        f"</ul><p class='muted'>Knowledge {_e(rec['knowledge_version'])}, engine "
        f"{_e(rec['engine_version'])}. {_e(rec['disclaimer'])}</p></body></html>"
    )
    return "\n".join(parts)
