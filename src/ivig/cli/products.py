"""``ivig products`` (ranked products for a patient) and ``ivig schedule`` (infusion steps).

Thin adapters: they build the patient from flags or a request file, call the core, and render
the result as a table or JSON. Every output shows the knowledge version and the disclaimer.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from ivig.cli._common import console, emit_json, kb, print_footer
from ivig.errors import InputError

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from ivig.contract import Patient
    from ivig.knowledge import KnowledgeBase

__all__ = ["add_parsers"]


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _read_request(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise InputError("request", path, "a readable JSON or YAML file", detail=str(exc)) from exc
    if path.endswith(".json"):
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise InputError("request", path, "a mapping with a 'patient' key")
    return data


def _patient(args: argparse.Namespace, request: dict[str, Any]) -> dict[str, Any]:
    patient: dict[str, Any] = dict(request.get("patient", {}))
    labs: dict[str, Any] = dict(patient.get("labs", {}))
    for flag, key in (
        ("iga_g_per_l", "iga_g_per_l"),
        ("egfr", "egfr_ml_per_min_1_73m2"),
        ("blood_group", "blood_group"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            labs[key] = value
    if getattr(args, "anti_iga", False):
        labs["anti_iga_antibodies"] = True
    if labs:
        patient["labs"] = labs
    if getattr(args, "age_years", None) is not None:
        patient["age_years"] = args.age_years
    for flag in ("pregnant", "first_infusion", "product_switch"):
        if getattr(args, flag, False):
            patient[flag] = True
    named = list(patient.get("risk_factors", []))
    for item in args.risk or []:
        named += _csv(item)
    if named:
        patient["risk_factors"] = list(dict.fromkeys(named))
    return patient


def _add_patient_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--risk",
        action="append",
        metavar="ID[,ID]",
        help="risk-factor ids (see `ivig kb risk-factors`); repeatable",
    )
    p.add_argument("--age-years", type=float, help="age in years")
    p.add_argument("--iga-g-per-l", type=float, help="serum IgA in g/L")
    p.add_argument("--anti-iga", action="store_true", help="antibodies against IgA present")
    p.add_argument("--egfr", type=float, help="eGFR in mL/min/1.73m2")
    p.add_argument("--blood-group", choices=["O", "A", "B", "AB"])
    p.add_argument("--pregnant", action="store_true")
    p.add_argument("--first-infusion", action="store_true", help="first infusion ever or >8 weeks")
    p.add_argument("--product-switch", action="store_true", help="first with this product")
    p.add_argument("--request", metavar="FILE", help="request file (JSON or YAML) with 'patient'")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _risks(knowledge: KnowledgeBase, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from ivig.app.products import risk_profile

    request = _read_request(args.request) if args.request else {}
    patient = _patient(args, request)
    return risk_profile(knowledge, cast("Patient", patient)), request


def _print_risks(out: Console, risks: list[Any]) -> None:
    if not risks:
        out.print("Risk factors: none given or derived.")
        return
    out.print("Risk factors:")
    for r in risks:
        mark = "" if r["verified"] else " [unverified]"
        out.print(f"  {r['id']}: {r['reason']} [{', '.join(r['sources'])}]{mark}", markup=False)


def _products(args: argparse.Namespace) -> int:
    from ivig.app.products import rank

    knowledge = kb()
    risks, request = _risks(knowledge, args)
    formulary = None
    if args.formulary:
        formulary = [pid for item in args.formulary for pid in _csv(item)]
    elif request.get("formulary"):
        formulary = list(request["formulary"])
    ranked = rank(
        knowledge,
        risks=risks,
        formulary=formulary,
        region=args.region,
        route=args.route or request.get("route"),
        condition=args.indication or request.get("condition"),
        include_discontinued=args.include_discontinued,
    )["products"]
    if args.json:
        emit_json(
            {
                "knowledge_version": knowledge.version,
                "risk_factors": risks,
                "products": ranked,
                "disclaimer": knowledge.disclaimer,
            }
        )
        return 0
    from rich.table import Table
    from rich.text import Text

    out = console()
    _print_risks(out, risks)
    table = Table(title="Products ranked for this patient (* = unverified fact)", show_lines=True)
    for col in ("#", "product", "status", "route", "conc. %", "IgA µg/mL", "reasons [source]"):
        table.add_column(col)
    for row in ranked:
        reasons = "\n".join(
            f"{r['text']} [{r['source']}]" + ("" if r["verified"] else " *") for r in row["reasons"]
        )
        if "note" in row:
            reasons = f"{reasons}\n{row['note']}".strip()
        iga = row["iga_ug_per_ml"]
        table.add_row(
            str(row["rank"]),
            f"{row['name']}\n({row['id']})",
            row["status"],
            "/".join(row["routes"]),
            "" if row["concentration_percent"] is None else f"{row['concentration_percent']:g}",
            "?" if iga is None else f"{iga:g} ({row['iga_metric']})",
            Text(reasons or "no rule applies"),
        )
    out.print(table)
    from ivig.app.products import RANKING_ORDER

    out.print("Order: " + "; ".join(RANKING_ORDER) + ".", markup=False)
    for row in ranked:
        if "tie_break" in row:
            out.print(f"{row['id']}: {row['tie_break']}", markup=False)
    print_footer(out, knowledge)
    return 0


def _schedule(args: argparse.Namespace) -> int:
    from ivig.app.products import schedule as schedule_for

    knowledge = kb()
    risks, _request = _risks(knowledge, args)
    query = {
        "product": args.product, "weight_kg": args.weight_kg, "dose_g": args.dose_g,
        "first_infusion": args.first_infusion, "condition": args.indication,
        "region": args.region, "route": args.route,
        "at_risk_rate_mg_per_kg_per_min": args.at_risk_rate,
        "step_interval_min": args.step_interval_min,
        "concentration_percent": args.concentration_percent, "age_years": args.age_years,
        "sites": args.sites,
    }  # fmt: skip
    result = schedule_for(knowledge, query, risks=risks)
    schedule, plan = result["schedule"], result["monitoring"]
    if args.json:
        emit_json(
            {
                "knowledge_version": knowledge.version,
                "risk_factors": risks,
                "schedule": schedule,
                "monitoring": plan if args.monitoring else None,
                "disclaimer": knowledge.disclaimer,
            }
        )
        return 0
    from rich.table import Table

    out = console()
    _print_risks(out, risks)
    title = (
        f"{schedule['product_name']}: {schedule['dose_g']:g} g for {schedule['weight_kg']:g} kg, "
        f"{schedule['volume_ml']:.0f} mL ({schedule['route'].upper()}, record "
        f"{schedule['rate_record']})"
    )
    table = Table(title=title)
    for col in ("start min", "mg/kg/min", "mL/h", "minutes", "cum. mL", "cum. g", "basis"):
        table.add_column(col, justify="right")
    for s in schedule["steps"]:
        table.add_row(
            f"{s['start_min']:.0f}",
            f"{s['rate_mg_per_kg_per_min']:.3g}",
            f"{s['rate_ml_per_h']:.1f}",
            f"{s['duration_min']:.0f}",
            f"{s['cumulative_ml']:.0f}",
            f"{s['cumulative_g']:.2f}",
            s["basis"],
        )
    out.print(table)
    out.print(
        f"Maximum rate reached {schedule['max_rate_mg_per_kg_per_min']:.3g} mg/kg/min "
        f"(label maximum {schedule['label_max_rate_mg_per_kg_per_min']:.3g}); total "
        f"{schedule['duration_min']:.0f} min ({schedule['duration_min'] / 60:.1f} h)."
    )
    out.print(f"First infusion: {schedule['first_infusion']} ({schedule['first_infusion_reason']})")
    out.print(schedule["weight_basis"], markup=False)
    if "sc" in schedule:
        sc = schedule["sc"]
        out.print(
            f"SC: {sc['sites']} sites x {sc['sessions']} session(s), "
            f"{sc['volume_ml_per_site']:.1f} mL/site at {sc['rate_ml_per_h_per_site']:.1f} "
            "mL/h/site."
        )
    for note in schedule["notes"]:
        out.print(f"- {note}", markup=False)
    mark = "" if schedule["verified"] else " (UNVERIFIED)"
    out.print(f"Sources: {', '.join(schedule['sources'])}{mark}", markup=False)
    if args.monitoring:
        out.print("\nMonitoring plan:")
        for e in plan:
            star = "" if e["verified"] else " *"
            line = f"  [{e['phase']}] {e['text']} ({e['why']}; {', '.join(e['sources'])}){star}"
            out.print(line, markup=False)
    print_footer(out, knowledge)
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``products`` and ``schedule``."""
    p = sub.add_parser("products", help="rank products for a patient, with reasons and sources")
    _add_patient_flags(p)
    p.add_argument("--formulary", action="append", metavar="ID[,ID]", help="products in stock")
    p.add_argument("--region", help="market (us, eu, uk, au, ...)")
    p.add_argument("--route", choices=["iv", "sc", "im"])
    p.add_argument("--indication", help="condition id (e.g. cidp) for route rules")
    p.add_argument("--include-discontinued", action="store_true")
    p.set_defaults(func=_products)

    p = sub.add_parser("schedule", help="infusion-rate step table of one dose")
    p.add_argument("--product", required=True, help="product id (see `ivig kb products`)")
    p.add_argument("--weight-kg", type=float, required=True, help="patient weight in kg")
    p.add_argument("--dose-g", type=float, required=True, help="dose of this infusion in g")
    _add_patient_flags(p)
    p.add_argument("--indication", help="indication of the rate record (cidp, mmn, pi, itp...)")
    p.add_argument("--region", help="label region of the rate record (us, uk, eu...)")
    p.add_argument("--route", choices=["iv", "sc"])
    p.add_argument("--at-risk-rate", type=float, help="prescriber's at-risk rate, mg/kg/min")
    p.add_argument("--step-interval-min", type=float, help="first-step time if the label has none")
    p.add_argument("--concentration-percent", type=float, help="reconstitution (lyophilised)")
    p.add_argument("--sites", type=int, help="SC sites (when the label gives no volume per site)")
    p.add_argument("--monitoring", action="store_true", help="also print the monitoring plan")
    p.set_defaults(func=_schedule)
