"""Read the YAML knowledge files, validate them, and report every error with file and path.

This is the slow path (PyYAML and pydantic). :func:`validate_directory` returns the knowledge
as plain data plus the list of errors; :mod:`ivig.knowledge.loader` caches a valid result so that
later runs need neither library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ivig.knowledge import schema, schema_codes, schema_pk, schema_products, schema_scores
from ivig.knowledge.predicates import PredicateSyntaxError, parse

__all__ = ["COLLECTIONS", "DATA_DIR", "Collection", "content_hash", "validate_directory"]

DATA_DIR = Path(__file__).parent / "data"


class Collection:
    """Where one part of the knowledge lives and what type its records have.

    ``shape`` is ``"one"`` (a file holding one mapping), ``"list"`` (a file holding a list) or
    ``"dir"`` (a folder of files, each one record or a list of records).
    """

    def __init__(self, key: str, path: str, shape: str, record: Any) -> None:
        self.key = key
        self.path = path
        self.shape = shape
        self.adapter: TypeAdapter[Any] = TypeAdapter(record)


COLLECTIONS: tuple[Collection, ...] = (
    Collection("meta", "meta.yaml", "one", schema.Meta),
    Collection("sources", "sources", "dir", schema.Source),
    Collection("findings", "findings", "dir", schema.Finding),
    Collection("evidence_systems", "evidence_systems.yaml", "list", schema.EvidenceSystem),
    Collection("jurisdictions", "jurisdictions.yaml", "list", schema.Jurisdiction),
    Collection("conditions", "conditions", "dir", schema.Condition),
    Collection("mechanisms", "mechanisms.yaml", "list", schema.Mechanism),
    Collection("regulatory", "regulatory.yaml", "list", schema.RegulatoryEntry),
    Collection("non_neuro_uses", "non_neuro_uses.yaml", "list", schema.NonNeuroUse),
    Collection("dosing", "dosing.yaml", "one", schema.Dosing),
    Collection("products", "products", "dir", schema_products.Product),
    Collection("risk_factors", "risk_factors.yaml", "list", schema_products.RiskFactor),
    Collection("ranking_rules", "ranking_rules.yaml", "list", schema_products.RankingRule),
    Collection("adverse_effects", "adverse_effects.yaml", "list", schema_products.AdverseEffect),
    Collection("monitoring", "monitoring.yaml", "list", schema_products.MonitoringItem),
    Collection("schedule_rules", "schedule_rules.yaml", "one", schema_products.ScheduleRules),
    Collection("scores", "scores", "dir", schema_scores.Score),
    Collection("review_rules", "review_rules.yaml", "list", schema_scores.ReviewRule),
    Collection("pk", "pk.yaml", "one", schema_pk.PkModelSet),
    Collection("medication_codes", "medication_codes.yaml", "one", schema_codes.MedicationCodes),
)


def data_files(root: Path) -> list[Path]:
    """Every YAML file below ``root``, sorted (the knowledge version hashes these)."""
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


def content_hash(root: Path) -> str:
    """SHA-256 over the relative paths and bytes of every data file."""
    digest = hashlib.sha256()
    for path in data_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _normalise_sources(node: Any) -> Any:
    """Turn ``sources: [id, ...]`` shorthand into ``[{id: ...}]`` everywhere."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            item = value
            if key == "sources" and isinstance(value, list):
                item = [{"id": v} if isinstance(v, str) else v for v in value]
            out[key] = _normalise_sources(item)
        return out
    if isinstance(node, list):
        return [_normalise_sources(v) for v in node]
    return node


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.errors: list[str] = []
        #: record origin: id(record dict) -> file name, for cross-reference messages
        self.origin: dict[int, str] = {}

    def error(self, where: str, loc: str, message: str) -> None:
        self.errors.append(f"{where}: {loc}: {message}")

    def load_yaml(self, path: Path) -> Any:
        rel = path.relative_to(self.root).as_posix()
        try:
            with path.open(encoding="utf-8") as fh:
                return _normalise_sources(yaml.safe_load(fh))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}" if mark is not None else "(parse)"
            self.error(rel, line, f"malformed YAML: {getattr(exc, 'problem', exc)}")
            return None

    def check_record(self, collection: Collection, rel: str, record: Any, prefix: str) -> Any:
        try:
            value = collection.adapter.validate_python(record)
        except ValidationError as exc:
            for err in exc.errors():
                loc = _loc(tuple(err["loc"]))
                where = f"{prefix}{loc}" if prefix else loc
                got = err.get("input")
                shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
                self.error(rel, where, f"{err['msg']}{shown}")
            return None
        if isinstance(value, dict):
            self.origin[id(value)] = rel
        return value

    def read(self, collection: Collection) -> Any:
        target = self.root / collection.path
        if collection.shape == "dir":
            records: list[Any] = []
            if not target.is_dir():
                self.error(collection.path, "(top)", "folder missing")
                return records
            for path in data_files(target):
                rel = path.relative_to(self.root).as_posix()
                raw = self.load_yaml(path)
                items = raw if isinstance(raw, list) else [raw]
                for i, item in enumerate(items):
                    prefix = f"[{i}]" if isinstance(raw, list) else ""
                    value = self.check_record(collection, rel, item, prefix)
                    if value is not None:
                        records.append(value)
            return records
        if not target.is_file():
            self.error(collection.path, "(top)", "file missing")
            return [] if collection.shape == "list" else None
        raw = self.load_yaml(target)
        if raw is None:
            return [] if collection.shape == "list" else None
        if collection.shape == "one":
            return self.check_record(collection, collection.path, raw, "")
        if not isinstance(raw, list):
            self.error(collection.path, "(top)", "expected a list of records")
            return []
        out = []
        for i, item in enumerate(raw):
            value = self.check_record(collection, collection.path, item, f"[{i}]")
            if value is not None:
                out.append(value)
        return out


Report = Callable[[str, str, str], None]


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _duplicates(items: list[dict[str, Any]], key: str = "id") -> list[str]:
    seen: set[str] = set()
    dups = []
    for item in items:
        value = item.get(key)
        if isinstance(value, str):
            if value in seen:
                dups.append(value)
            seen.add(value)
    return dups


def check_cross_references(data: dict[str, Any], origin: dict[int, str], report: Report) -> None:
    """Every reference resolves, every id is unique, every predicate parses and is typed."""

    def where(record: dict[str, Any], fallback: str) -> str:
        return origin.get(id(record), fallback)

    source_ids = {s["id"] for s in data.get("sources", [])}
    for dup in _duplicates(data.get("sources", [])):
        report("sources", dup, "duplicate source id")

    # every source reference, wherever it stands
    for key, value in data.items():
        if key == "sources" or value is None:
            continue
        for path, node in _walk(value, key):
            for j, ref in enumerate(node.get("sources") or []):
                if isinstance(ref, dict) and ref.get("id") not in source_ids:
                    report(key, f"{path}.sources[{j}]", f"unknown source id {ref.get('id')!r}")

    findings = {f["name"]: f for f in data.get("findings", [])}
    for dup in _duplicates(data.get("findings", []), "name"):
        report("findings", dup, "duplicate finding name")
    for finding in data.get("findings", []):
        if finding["type"] == "enum" and not finding.get("allowed"):
            report("findings", finding["name"], "enum finding needs 'allowed'")
        if finding["type"] in ("int", "float") and "unit" not in finding:
            report("findings", finding["name"], "numeric finding needs a 'unit'")

    systems = {s["id"]: s for s in data.get("evidence_systems", [])}
    for dup in _duplicates(data.get("evidence_systems", [])):
        report("evidence_systems.yaml", dup, "duplicate evidence system id")

    conditions = data.get("conditions", [])
    condition_ids = {c["id"] for c in conditions}
    for dup in _duplicates(conditions):
        report("conditions", dup, "duplicate condition id")
    mechanism_ids = {m["id"] for m in data.get("mechanisms", [])}
    score_ids = {s["id"] for s in data.get("scores", [])}

    all_indications: list[dict[str, Any]] = []
    specific_ids: set[str] = set()
    for condition in conditions:
        file = where(condition, "conditions")
        cid = condition["id"]
        for spec in condition.get("specific_conditions", []):
            if spec["id"] in condition_ids or spec["id"] in specific_ids:
                report(file, f"specific_conditions.{spec['id']}", "id used twice")
            specific_ids.add(spec["id"])
        for mech in condition.get("mechanisms", []):
            if mech not in mechanism_ids:
                report(file, f"{cid}.mechanisms", f"unknown mechanism id {mech!r}")
        for ind in condition["indications"]:
            all_indications.append(ind)
            iid = ind["id"]
            if not iid.startswith(cid + "."):
                report(file, iid, f"indication id must start with '{cid}.'")
            for k, rating in enumerate(ind["evidence"]):
                system = systems.get(rating["system"])
                if system is None:
                    report(file, f"{iid}.evidence[{k}]", f"unknown system {rating['system']!r}")
                elif rating["level"] not in {lv["id"] for lv in system["levels"]}:
                    allowed = ", ".join(lv["id"] for lv in system["levels"])
                    report(
                        file,
                        f"{iid}.evidence[{k}]",
                        f"level {rating['level']!r} not in {system['id']} ({allowed})",
                    )
            for group in ("qualifying", "exclusion"):
                crits = ind.get(group, [])
                for dup in _duplicates(crits):
                    report(file, f"{iid}.{group}", f"duplicate criterion id {dup!r}")
                for crit in crits:
                    _check_criterion(crit, findings, file, f"{iid}.{group}.{crit['id']}", report)
            for dup in _duplicates(ind.get("regimens", [])):
                report(file, f"{iid}.regimens", f"duplicate regimen id {dup!r}")
            for reg in ind.get("regimens", []):
                _check_regimen(reg, file, f"{iid}.regimens.{reg['id']}", report)
            review = ind.get("review")
            if review and score_ids:
                for measure in review["measures"]:
                    if measure not in score_ids:
                        report(file, f"{iid}.review.measures", f"unknown score id {measure!r}")
    for dup in _duplicates(all_indications):
        report("conditions", dup, "duplicate indication id")

    for mech in data.get("mechanisms", []):
        for cid in mech.get("conditions", []):
            if cid not in condition_ids:
                report("mechanisms.yaml", mech["id"], f"unknown condition id {cid!r}")
    for entry in data.get("regulatory", []):
        if "condition" in entry and entry["condition"] not in condition_ids:
            report("regulatory.yaml", entry["id"], f"unknown condition id {entry['condition']!r}")
    for key in ("mechanisms", "regulatory", "non_neuro_uses", "jurisdictions"):
        for dup in _duplicates(data.get(key, [])):
            report(f"{key}.yaml", dup, "duplicate id")

    dosing = data.get("dosing") or {}
    formula_ids = {f["id"] for f in dosing.get("formulas", [])}
    policy_ids = {p["id"] for p in dosing.get("policies", [])}
    for dup in _duplicates(dosing.get("policies", [])):
        report("dosing.yaml", dup, "duplicate policy id")
    for policy in dosing.get("policies", []):
        if policy["formula"] not in formula_ids:
            report("dosing.yaml", policy["id"], f"unknown formula {policy['formula']!r}")
        for rule in policy["rules"]:
            for text in rule["when"]:
                try:
                    pred = parse(text)
                except PredicateSyntaxError as exc:
                    report("dosing.yaml", f"{policy['id']}.{rule['id']}", str(exc))
                    continue
                if pred.op != "always" and pred.name not in POLICY_INPUTS:
                    report(
                        "dosing.yaml",
                        f"{policy['id']}.{rule['id']}",
                        f"unknown policy input {pred.name!r}; known: {', '.join(POLICY_INPUTS)}",
                    )
    for limit in dosing.get("limits", []):
        if limit["min"] > limit["max"]:
            report("dosing.yaml", f"limits.{limit['field']}", "min above max")
    for jur in data.get("jurisdictions", []):
        for sid in jur["evidence_systems"]:
            if sid not in systems:
                report("jurisdictions.yaml", jur["id"], f"unknown evidence system {sid!r}")
        if jur["default_dosing_weight_policy"] not in policy_ids:
            report(
                "jurisdictions.yaml",
                jur["id"],
                f"unknown dosing policy {jur['default_dosing_weight_policy']!r}",
            )


#: Names a dosing-weight policy rule may test (computed by the dose engine).
POLICY_INPUTS = (
    "age_years",
    "height_cm",
    "weight_kg",
    "sex",
    "pregnant",
    "bmi_kg_per_m2",
    "actual_over_ideal_ratio",
    "actual_below_adjusted",
)


def _check_criterion(
    crit: dict[str, Any], findings: dict[str, Any], file: str, loc: str, report: Report
) -> None:
    texts = [crit["when"]] if "when" in crit else list(crit.get("any_of", []))
    if ("when" in crit) == ("any_of" in crit):
        report(file, loc, "give exactly one of 'when' or 'any_of'")
        return
    for text in texts:
        try:
            pred = parse(text)
        except PredicateSyntaxError as exc:
            report(file, loc, str(exc))
            continue
        finding = findings.get(pred.name)
        if finding is None:
            report(file, loc, f"undeclared finding {pred.name!r}")
            continue
        values = pred.value if isinstance(pred.value, list) else [pred.value]
        for value in values:
            problem = _type_problem(finding, value)
            if problem:
                report(file, loc, f"{pred.name}: {problem}")


def _type_problem(finding: dict[str, Any], value: object) -> str | None:
    kind = finding["type"]
    if kind == "bool" and not isinstance(value, bool):
        return f"expects true/false, got {value!r}"
    if kind in ("int", "float") and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"expects a number, got {value!r}"
    if kind in ("int", "float"):
        assert isinstance(value, int | float)
        low, high = finding.get("min"), finding.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{value} outside the declared range {low}..{high} {finding.get('unit', '')}"
    if kind == "enum" and value not in finding.get("allowed", []):
        return f"{value!r} not in {finding.get('allowed')}"
    if kind in ("str", "date") and not isinstance(value, str):
        return f"expects a string, got {value!r}"
    return None


def _check_regimen(reg: dict[str, Any], file: str, loc: str, report: Report) -> None:
    for key in ("dose_g_per_kg", "days", "interval_weeks"):
        rng = reg.get(key)
        if not rng:
            continue
        if rng["min"] > rng["max"]:
            report(file, f"{loc}.{key}", "min above max")
        if "default" in rng and not rng["min"] <= rng["default"] <= rng["max"]:
            report(file, f"{loc}.{key}", "default outside min..max")
    if reg["phase"] == "maintenance" and "interval_weeks" not in reg:
        report(file, loc, "a maintenance regimen needs interval_weeks")
    if reg["days"]["min"] < 1:
        report(file, f"{loc}.days", "at least one day")


#: Extra checks that other schema modules register (products, scores, pk).
EXTRA_CHECKS: list[Callable[[dict[str, Any], Report], None]] = []


def validate_directory(root: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """Load and validate every file under ``root``; return (data, errors)."""
    root = root or DATA_DIR
    reader = _Reader(root)
    data: dict[str, Any] = {}
    for collection in COLLECTIONS:
        data[collection.key] = reader.read(collection)

    def report(file: str, loc: str, message: str) -> None:
        reader.error(file, loc, message)

    check_cross_references(data, reader.origin, report)
    for check in (
        *schema_products.CHECKS,
        *schema_scores.CHECKS,
        *schema_pk.CHECKS,
        *schema_codes.CHECKS,
        *EXTRA_CHECKS,
    ):
        check(data, report)
    meta = data.get("meta") or {}
    data["version"] = f"{meta.get('date', 'undated')}+{content_hash(root)[:12]}"
    return data, reader.errors


def _check_implied_findings(data: dict[str, Any], report: Report) -> None:
    """An indication's ``implies`` names declared findings with values of their type."""
    findings = {f["name"]: f for f in data.get("findings", [])}
    for condition in data.get("conditions", []):
        for ind in condition.get("indications", []):
            for name, value in ind.get("implies", {}).items():
                loc = f"{ind['id']}.implies.{name}"
                if name not in findings:
                    report("conditions", loc, f"undeclared finding {name!r}")
                elif problem := _type_problem(findings[name], value):
                    report("conditions", loc, problem)


EXTRA_CHECKS.append(_check_implied_findings)
