"""The :class:`KnowledgeBase`: validated knowledge as plain data, with indexed look-ups.

Look-ups of unknown ids raise :class:`~ivig.errors.UnknownIdError` naming the nearest known ids,
matched on ids, names, synonyms and codes ("guillain_barre" suggests ``gbs``).
"""

from __future__ import annotations

from ivig.errors import UnknownIdError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.knowledge.schema import (
        Condition,
        DosingPolicy,
        EvidenceSystem,
        Finding,
        Indication,
        Jurisdiction,
        KnowledgeData,
        NonNeuroUse,
        PlausibilityLimit,
        Source,
        WeightFormula,
    )
    from ivig.knowledge.schema_products import Product, RiskFactor
    from ivig.knowledge.schema_scores import Score

__all__ = ["KnowledgeBase", "normalise_term"]


def normalise_term(text: str) -> str:
    """Lower case, accents removed, runs of other characters folded to ``_``."""
    if text.isascii():  # unchanged by the decomposition (unicodedata is not imported for it)
        plain = text.lower()
    else:
        import unicodedata

        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    out = []
    prev_sep = True
    for ch in plain:
        if ch.isalnum():
            out.append(ch)
            prev_sep = False
        elif not prev_sep:
            out.append("_")
            prev_sep = True
    return "".join(out).strip("_")


def _suggest(query: str, terms: dict[str, str], limit: int = 5) -> list[str]:
    """Ids whose id, name, synonym or code is nearest to ``query``."""
    import difflib

    q = normalise_term(query)
    found: list[str] = []

    def add(ident: str) -> None:
        if ident not in found:
            found.append(ident)

    for term, ident in terms.items():
        if q and (term == q or term.startswith(q) or q in term.split("_") or q in term):
            add(ident)
    for term in difflib.get_close_matches(q, list(terms), n=limit * 2, cutoff=0.6):
        add(terms[term])
    return found[:limit]


class KnowledgeBase:
    """Read-only access to the knowledge (``data``) with indexes built on first use."""

    def __init__(self, data: KnowledgeData) -> None:
        self.data = data
        self._index: dict[str, dict[str, Any]] = {}

    # -- metadata ---------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """``<date>+<content hash>`` of the data files."""
        return self.data["version"]

    @property
    def disclaimer(self) -> str:
        return self.data["meta"]["disclaimer"]

    # -- indexes ------------------------------------------------------------------------------
    def _by(self, name: str, items: list[Any], key: str = "id") -> dict[str, Any]:
        index = self._index.get(name)
        if index is None:
            index = {item[key]: item for item in items}
            self._index[name] = index
        return index

    def _terms(self, name: str, records: list[Any]) -> dict[str, str]:
        """Searchable terms -> id for ``records`` (ids, names, synonyms, codes)."""
        key = f"terms:{name}"
        cached = self._index.get(key)
        if cached is not None:
            return cached
        terms: dict[str, str] = {}
        for rec in records:
            ident = rec["id"]
            words = [ident, rec.get("name", "")]
            words += rec.get("synonyms", [])
            words += [c["code"] for c in rec.get("codes", [])]
            for spec in rec.get("specific_conditions", []):
                words += [spec["id"], spec["name"], *spec.get("synonyms", [])]
            for ind in rec.get("indications", []):
                words.append(ind["id"])
            for word in words:
                norm = normalise_term(word)
                if norm:
                    terms.setdefault(norm, ident)
        self._index[key] = terms
        return terms

    # -- look-ups -----------------------------------------------------------------------------
    def conditions(self) -> list[Condition]:
        return self.data["conditions"]

    def condition(self, condition_id: str) -> Condition:
        """The condition with this id (or a specific-condition id, code or exact synonym)."""
        index: dict[str, Condition] = self._by("conditions", self.data["conditions"])
        found = index.get(condition_id)
        if found is not None:
            return found
        resolved = self.resolve_condition(condition_id)
        if resolved is not None:
            return index[resolved]
        terms = self._terms("conditions", self.data["conditions"])
        raise UnknownIdError("condition", condition_id, _suggest(condition_id, terms))

    def resolve_condition(self, text: str) -> str | None:
        """Condition id for an exact id, name, synonym, code or specific-condition match."""
        norm = normalise_term(text)
        return self._terms("conditions", self.data["conditions"]).get(norm)

    def search_conditions(self, text: str, limit: int = 10) -> list[str]:
        """Condition ids matching ``text`` (for pickers and error messages)."""
        return _suggest(text, self._terms("conditions", self.data["conditions"]), limit)

    def indication(self, indication_id: str) -> Indication:
        index = self._index.get("indications")
        if index is None:
            index = {i["id"]: i for c in self.data["conditions"] for i in c["indications"]}
            self._index["indications"] = index
        found: Indication | None = index.get(indication_id)
        if found is None:
            terms = {normalise_term(k): k for k in index}
            raise UnknownIdError("indication", indication_id, _suggest(indication_id, terms))
        return found

    def condition_of(self, indication_id: str) -> Condition:
        return self.condition(indication_id.split(".", 1)[0])

    def source(self, source_id: str) -> Source:
        found: Source | None = self._by("sources", self.data["sources"]).get(source_id)
        if found is None:
            terms = {normalise_term(s["id"]): s["id"] for s in self.data["sources"]}
            raise UnknownIdError("source", source_id, _suggest(source_id, terms))
        return found

    def finding(self, name: str) -> Finding:
        found: Finding | None = self._by("findings", self.data["findings"], "name").get(name)
        if found is None:
            terms = {normalise_term(f["name"]): f["name"] for f in self.data["findings"]}
            raise UnknownIdError("finding", name, _suggest(name, terms))
        return found

    def evidence_system(self, system_id: str) -> EvidenceSystem:
        system: EvidenceSystem = self._by("systems", self.data["evidence_systems"])[system_id]
        return system

    def jurisdiction(self, jurisdiction_id: str) -> Jurisdiction:
        found: Jurisdiction | None = self._by("jur", self.data["jurisdictions"]).get(
            jurisdiction_id
        )
        if found is None:
            ids: list[str] = [j["id"] for j in self.data["jurisdictions"]]
            raise UnknownIdError("jurisdiction", jurisdiction_id, ids)
        return found

    def dosing_policy(self, policy_id: str) -> DosingPolicy:
        found: DosingPolicy | None = self._by("policies", self.data["dosing"]["policies"]).get(
            policy_id
        )
        if found is None:
            ids = [p["id"] for p in self.data["dosing"]["policies"]]
            raise UnknownIdError("dosing_weight_policy", policy_id, ids)
        return found

    def weight_formula(self, formula_id: str) -> WeightFormula:
        formula: WeightFormula = self._by("formulas", self.data["dosing"]["formulas"])[formula_id]
        return formula

    def limit(self, field: str) -> PlausibilityLimit | None:
        found: PlausibilityLimit | None = self._by(
            "limits", self.data["dosing"]["limits"], "field"
        ).get(field)
        return found

    def product(self, product_id: str) -> Product:
        found: Product | None = self._by("products", self.data["products"]).get(product_id)
        if found is None:
            terms = self._terms("products", self.data["products"])
            raise UnknownIdError("product", product_id, _suggest(product_id, terms))
        return found

    def risk_factor(self, risk_id: str) -> RiskFactor:
        found: RiskFactor | None = self._by("risks", self.data["risk_factors"]).get(risk_id)
        if found is None:
            terms = self._terms("risks", self.data["risk_factors"])
            raise UnknownIdError("risk_factor", risk_id, _suggest(risk_id, terms))
        return found

    def score(self, score_id: str) -> Score:
        found: Score | None = self._by("scores", self.data["scores"]).get(score_id)
        if found is None:
            terms = self._terms("scores", self.data["scores"])
            raise UnknownIdError("score", score_id, _suggest(score_id, terms))
        return found

    def non_neuro_use(self, text: str) -> NonNeuroUse | None:
        """The non-neurological use matching ``text`` exactly by id, name or synonym."""
        uses = self.data["non_neuro_uses"]
        found = self._terms("non_neuro", uses).get(normalise_term(text))
        if found is None:
            return None
        use: NonNeuroUse = self._by("non_neuro_by_id", uses)[found]
        return use

    def citation(self, source_id: str) -> str:
        return self.source(source_id)["citation"]
