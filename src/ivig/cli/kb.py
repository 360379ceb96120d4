"""``ivig kb``: browse the knowledge base (conditions, sources, findings, statistics, docs)."""

from __future__ import annotations

from ivig.cli._common import console, emit_json, kb, print_footer

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["add_parsers"]


def _best_evidence(ind: Any) -> str:
    return ", ".join(
        f"{e['system']}:{e['level']}" + ("" if e["verified"] else "*") for e in ind["evidence"]
    )


def _list(args: argparse.Namespace) -> int:
    knowledge = kb()
    conditions = sorted(knowledge.conditions(), key=lambda c: c["id"])
    if args.json:
        emit_json(
            {
                "knowledge_version": knowledge.version,
                "conditions": [
                    {
                        "id": c["id"],
                        "name": c["name"],
                        "group": c["group"],
                        "indications": [
                            {
                                "id": i["id"],
                                "role": i["role"],
                                "evidence": [
                                    {
                                        "system": e["system"],
                                        "level": e["level"],
                                        "verified": e["verified"],
                                    }
                                    for e in i["evidence"]
                                ],
                            }
                            for i in c["indications"]
                        ],
                        "sources": [s["id"] for s in c["sources"]],
                    }
                    for c in conditions
                ],
            }
        )
        return 0
    from rich.table import Table

    table = Table(title="Conditions and indications", show_lines=False)
    for col in ("condition", "indication", "role", "evidence (* unverified)"):
        table.add_column(col)
    for cond in conditions:
        for n, ind in enumerate(cond["indications"]):
            table.add_row(cond["id"] if n == 0 else "", ind["id"], ind["role"], _best_evidence(ind))
    out = console()
    out.print(table)
    print_footer(out, knowledge)
    return 0


def _show(args: argparse.Namespace) -> int:
    knowledge = kb()
    cond = knowledge.condition(args.condition)
    cited = sorted(
        {
            ref["id"]
            for ref in _all_refs(cond)  # every source the record cites, at any depth
        }
    )
    if args.json:
        emit_json(
            {
                "knowledge_version": knowledge.version,
                "condition": cond,
                "cited_sources": [knowledge.source(s) for s in cited],
            }
        )
        return 0
    from rich.markup import escape
    from rich.panel import Panel

    out = console()
    out.print(Panel(f"[b]{cond['name']}[/b] ({cond['id']})\n{cond['summary']}", expand=False))
    if cond.get("synonyms"):
        out.print(f"Synonyms: {', '.join(cond['synonyms'])}")
    for spec in cond.get("specific_conditions", []):
        out.print(f"Specific condition: {spec['name']} ({spec['id']})")
    for ind in cond["indications"]:
        out.print(f"\n[b]{ind['id']}[/b] — {ind['name']}  [role: {ind['role']}]")
        for ev in ind["evidence"]:
            flag = "" if ev["verified"] else " [yellow](unverified)[/yellow]"
            refs = ", ".join(r["id"] for r in ev["sources"])
            out.print(f"  evidence {ev['system']}: {ev['level']}{flag}  \\[{refs}]")
        for group, crits in (
            ("qualifying", ind.get("qualifying", [])),
            ("exclusion", ind.get("exclusion", [])),
        ):
            for crit in crits:
                test = crit.get("when") or " or ".join(list(crit.get("any_of", [])))
                out.print(f"  {group}: {crit['text']}  [dim]{test}[/dim]")
        for reg in ind.get("regimens", []):
            dose, days = reg["dose_g_per_kg"], reg["days"]
            out.print(
                f"  regimen {reg['id']}: {reg['label']} ({reg['phase']}, {reg['route']}; "
                f"{dose['min']:g}-{dose['max']:g} g/kg over {days['min']:g}-{days['max']:g} d)"
            )
        for alt in ind.get("alternatives", []):
            out.print(f"  alternative: {alt['name']}")
    out.print("\nSources:")
    for sid in cited:
        out.print(f"  \\[{sid}] {escape(knowledge.citation(sid))}")
    print_footer(out, knowledge)
    return 0


def _all_refs(node: Any) -> list[Any]:
    refs: list[Any] = []
    if isinstance(node, dict):
        refs.extend(node.get("sources", []))
        for key, value in node.items():
            if key != "sources":
                refs.extend(_all_refs(value))
    elif isinstance(node, list):
        for value in node:
            refs.extend(_all_refs(value))
    return refs


def _sources(args: argparse.Namespace) -> int:
    knowledge = kb()
    sources = sorted(knowledge.data["sources"], key=lambda s: s["id"])
    if args.json:
        emit_json({"knowledge_version": knowledge.version, "sources": sources})
        return 0
    from rich.table import Table

    table = Table(title="Sources")
    for col in ("id", "kind", "citation", "identifier"):
        table.add_column(col, overflow="fold")
    for src in sources:
        ident = (src.get("pmid") and f"PMID {src['pmid']}") or src.get("doi") or src.get("url", "")
        table.add_row(src["id"], src["kind"], src["citation"], ident)
    out = console()
    out.print(table)
    print_footer(out, knowledge)
    return 0


def _findings(args: argparse.Namespace) -> int:
    knowledge = kb()
    findings = sorted(knowledge.data["findings"], key=lambda f: f["name"])
    if args.json:
        emit_json({"knowledge_version": knowledge.version, "findings": findings})
        return 0
    from rich.table import Table

    table = Table(title="Findings (request.findings names)")
    for col in ("name", "type", "unit / allowed", "description"):
        table.add_column(col, overflow="fold")
    for f in findings:
        unit = f.get("unit") or ", ".join(f.get("allowed", []))
        table.add_row(f["name"], f["type"], unit, f["description"])
    out = console()
    out.print(table)
    print_footer(out, knowledge)
    return 0


def _stats(args: argparse.Namespace) -> int:
    from ivig.knowledge.stats import compute_stats

    stats = compute_stats(kb())
    if args.json:
        emit_json(stats)
        return 0
    out = console()
    for key, value in stats.items():
        out.print(f"{key:28} {value}")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from ivig.knowledge.docs import render_knowledge_markdown

    print(render_knowledge_markdown(kb()), end="")
    return 0


def _verification(args: argparse.Namespace) -> int:
    from ivig.app.kb_usage import main_paths
    from ivig.knowledge.verification import render_verification_markdown

    knowledge = kb()
    print(render_verification_markdown(knowledge, main_paths(knowledge)), end="")
    return 0


def _paths(args: argparse.Namespace) -> int:
    from ivig.app.kb_usage import MAIN_DESCRIBED, main_path_requests, numbers_used, usage_summary
    from ivig.cli.recommend import load_request_file
    from ivig.knowledge.verification import main_path_facts

    knowledge = kb()
    if args.requests:
        requests = [load_request_file(path) for path in args.requests]
        described = f"The recommendations for {len(requests)} request file(s)"
    else:
        requests = list(main_path_requests(knowledge))
        described = MAIN_DESCRIBED
    used, answered, refused = numbers_used(knowledge, requests)
    summary = usage_summary(knowledge, used)
    facts = main_path_facts(knowledge, used)
    if args.json:
        emit_json({**summary, "requests": answered, "refused": refused, "facts": facts})
        return 0
    out = console()
    out.print(f"{described}: {answered} answered, {refused} refused.", markup=False)
    out.print(
        f"Numbers read: {summary['numbers_used']}; verified {summary['numbers_used_verified']} "
        f"({summary['numbers_used_verified_share']:.1%}).",
        markup=False,
    )
    for section, counts in summary["by_section"].items():
        out.print(f"  {section:16} {counts['verified']:4} of {counts['used']:4} verified")
    unverified = set(summary["unverified"])
    out.print(f"Unverified numbers read, by fact ({len(facts)} facts):", markup=False)
    for fact in facts:
        mine = sorted(p for p in unverified if p.startswith(fact["path"]))
        out.print(f"- {fact['where']}: {fact['why']}", markup=False, soft_wrap=True)
        out.print("    " + ", ".join(p[len(fact["path"]) :] for p in mine), markup=False)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ivig.knowledge.first_load import check_schema_version
    from ivig.knowledge.validate import DATA_DIR, validate_directory

    root = Path(args.path) if args.path else DATA_DIR
    check_schema_version(str(root))  # data of another layout: one clear error, not a list
    data, errors = validate_directory(root)
    for err in errors:
        print(err)
    print(f"{len(errors)} error(s); knowledge {data['version']}")
    return 1 if errors else 0


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("kb", help="browse the knowledge base")
    kb_sub = parser.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)
    p = kb_sub.add_parser("list", help="conditions with role and evidence at a glance")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)
    p = kb_sub.add_parser("show", help="everything about one condition, with sources")
    p.add_argument("condition", help="condition id, name, synonym or code")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)
    p = kb_sub.add_parser("sources", help="the bibliography")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_sources)
    p = kb_sub.add_parser("findings", help="declared finding names, types and units")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_findings)
    p = kb_sub.add_parser("stats", help="counts, and the share of numbers sourced and verified")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_stats)
    p = kb_sub.add_parser("docs", help="print docs/knowledge.md generated from the data")
    p.set_defaults(func=_docs)
    p = kb_sub.add_parser(
        "verification", help="print docs/verification.md: unverified facts, why, what settles them"
    )
    p.set_defaults(func=_verification)
    p = kb_sub.add_parser(
        "paths",
        help="the numbers the main recommendations (or REQUEST files) read, and how many are "
        "verified",
    )
    p.add_argument(
        "requests", nargs="*", metavar="REQUEST", help="request files (default: the main sweep)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_paths)
    p = kb_sub.add_parser("validate", help="validate the data files; list every error")
    p.add_argument("path", nargs="?", help="data folder (default: the bundled knowledge)")
    p.set_defaults(func=_validate)
    import importlib.util

    if importlib.util.find_spec("ivig.cli.kb_products") is not None:
        from ivig.cli import kb_products  # type: ignore[attr-defined,unused-ignore]

        kb_products.add_kb_parsers(kb_sub)
