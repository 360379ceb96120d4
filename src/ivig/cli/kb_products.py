"""``ivig kb products``, ``ivig kb product ID`` and ``ivig kb risk-factors``.

Called by :mod:`ivig.cli.kb` through :func:`add_kb_parsers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ivig.cli._common import console, emit_json, kb, print_footer

if TYPE_CHECKING:
    import argparse

__all__ = ["add_kb_parsers"]


def _refs(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("sources", "at_risk_sources") and isinstance(value, list):
                found += [v["id"] for v in value if isinstance(v, dict)]
            else:
                found += _refs(value)
    elif isinstance(node, list):
        for value in node:
            found += _refs(value)
    return found


def _sugars(product: Any) -> str:
    names = [e["name"].replace("_", " ") for e in product["excipients"]]
    text = ", ".join(names) if names else "?"
    return text if product["excipients_complete"] else f"{text} (incomplete)"


def _list(args: argparse.Namespace) -> int:
    from ivig.app.products import iga_representative

    knowledge = kb()
    products = sorted(knowledge.data["products"], key=lambda p: p["id"])
    if args.json:
        emit_json({"knowledge_version": knowledge.version, "products": products})
        return 0
    from rich.table import Table

    table = Table(title="Immunoglobulin products")
    for col in ("id", "name", "routes", "conc. %", "excipients", "IgA µg/mL", "IV/SC rates"):
        table.add_column(col)
    for p in products:
        iga = iga_representative(p)
        conc = p.get("concentration")
        rates = "yes" if p.get("iv_rates") or p.get("sc_rates") else "not known"
        table.add_row(
            p["id"],
            p["name"] + ("" if p["status"] == "marketed" else f" ({p['status']})"),
            "/".join(p["routes"]),
            f"{conc['percent']:g}" if conc else "?",
            _sugars(p),
            f"{iga['iga_ug_per_ml']:g} ({iga['metric']})" if iga else "?",
            rates,
        )
    out = console()
    out.print(table)
    print_footer(out, knowledge)
    return 0


def _show(args: argparse.Namespace) -> int:
    import yaml

    knowledge = kb()
    product = knowledge.product(args.product)
    cited = sorted(set(_refs(product)))
    if args.json:
        emit_json(
            {
                "knowledge_version": knowledge.version,
                "product": product,
                "cited_sources": [knowledge.source(s) for s in cited],
            }
        )
        return 0
    out = console()
    out.print(yaml.safe_dump(product, sort_keys=False, allow_unicode=True, width=100), markup=False)
    out.print("Sources:")
    for sid in cited:
        src = knowledge.source(sid)
        out.print(f"  {sid}: {src['citation']} {src.get('url', '')}", markup=False)
    print_footer(out, knowledge)
    return 0


def _risk_factors(args: argparse.Namespace) -> int:
    knowledge = kb()
    factors = knowledge.data["risk_factors"]
    if args.json:
        emit_json({"knowledge_version": knowledge.version, "risk_factors": factors})
        return 0
    from rich.table import Table

    table = Table(title="Risk factors (ids usable in requests and --risk)")
    for col in ("id", "name", "derived from", "sources"):
        table.add_column(col)
    for f in factors:
        derived = "; ".join(
            f"{d['input']} {d['op']} {d['value']}" + ("" if d["verified"] else " *")
            for d in f.get("derive", [])
        )
        table.add_row(f["id"], f["name"], derived or "named only", ", ".join(_refs(f)))
    out = console()
    out.print(table)
    out.print("* unverified threshold")
    print_footer(out, knowledge)
    return 0


def add_kb_parsers(kb_sub: Any) -> None:
    """Add ``products``, ``product`` and ``risk-factors`` under ``ivig kb``."""
    p = kb_sub.add_parser("products", help="the product catalogue at a glance")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)
    p = kb_sub.add_parser("product", help="everything about one product, with sources")
    p.add_argument("product", help="product id, e.g. privigen")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)
    p = kb_sub.add_parser("risk-factors", help="patient risk-factor ids and how they are derived")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_risk_factors)
