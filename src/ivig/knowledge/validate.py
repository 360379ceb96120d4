"""Read the YAML knowledge files, validate them, and report every error with file and path.

This is the slow path (PyYAML and pydantic). :func:`validate_directory` returns the knowledge
as plain data plus the list of errors; :mod:`ivig.knowledge.loader` caches a valid result so that
later runs need neither library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ivig.knowledge import schema, schema_codes, schema_pk, schema_products, schema_scores
from ivig.knowledge.validate_refs import POLICY_INPUTS, check_cross_references

__all__ = [
    "COLLECTIONS",
    "DATA_DIR",
    "POLICY_INPUTS",
    "Collection",
    "check_cross_references",
    "content_hash",
    "validate_directory",
]

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
    Collection("ranking_settings", "ranking_settings.yaml", "one", schema.RankingSettings),
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
        if collection.shape == "dir":
            return self._read_dir(collection)
        target = self.root / collection.path
        empty: list[Any] | None = [] if collection.shape == "list" else None
        if not target.is_file():
            self.error(collection.path, "(top)", "file missing")
            return empty
        raw = self.load_yaml(target)
        if raw is None:
            return empty
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

    def _read_dir(self, collection: Collection) -> list[Any]:
        target = self.root / collection.path
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


Report = Callable[[str, str, str], None]


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
        schema.check_ranking_settings,
        *EXTRA_CHECKS,
    ):
        check(data, report)
    meta = data.get("meta") or {}
    data["version"] = f"{meta.get('date', 'undated')}+{content_hash(root)[:12]}"
    return data, reader.errors
