"""Which medication an order is for: normal immunoglobulin, a specific one, or neither.

Recognition is data (``medication_codes.yaml``): each class carries its codes, matched on
(system, code) — ATC groups and NDC labeler-product codes by prefix — and its words. The
specific immunoglobulins (anti-D, hepatitis B, CMV, rabies, tetanus, varicella-zoster,
botulism; ATC J06BB) are tested first and win over every normal-immunoglobulin match, so a
"Rho (D) immune globulin" order is never dosed as IVIG, whatever else its text or codes say.
Words are compared after folding case, accents and punctuation: "Rho (D)", "RHO(D)", "Rh₀(D)"
and "rho-d" are the same words. A text that says the immunoglobulin is given intramuscularly
("IM", "intramuscular") and names no other route is intramuscular normal immunoglobulin (out of
scope). A knowledge-base product named by its brand alone ("Flebogamma", "Octagam") is normal
immunoglobulin; the product itself is chosen only when the name fits one product.

An order coded only with codes the knowledge base does not hold (an RxNorm code without a
display or text, a local code) is not recognised: the service cannot tell it from any other
drug and stays silent on it. A site makes its own codes count as normal immunoglobulin with
``IVIG_IG_CODES`` (``system|code`` or a bare code, comma separated).

The order's medication is resolved from ``medicationCodeableConcept``, a contained Medication
(``#id``), a Medication in the resources (by ``Type/id`` or the ``fullUrl`` of its entry, such
as a ``urn:uuid``), or the ``display`` of the reference.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema_codes import MedicationClass

__all__ = [
    "NORMAL",
    "MedicationMatch",
    "classify_medication",
    "code_system",
    "match_product",
    "resolve_medication",
]

NORMAL = "normal_immunoglobulin"
SPECIFIC = "specific_immunoglobulin"
_KIND_ORDER = {SPECIFIC: 0, "normal_immunoglobulin_intramuscular": 1, NORMAL: 2}


@dataclass(frozen=True)
class MedicationMatch:
    """What the order's medication was recognised as, and by what."""

    kind: str
    class_id: str
    name: str
    route: str | None
    #: e.g. "ATC J06BB01" or "text 'rhogam'"
    via: str

    @property
    def is_normal(self) -> bool:
        return self.kind == NORMAL


def _codings(concept: object) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    coding = concept.get("coding")
    return [c for c in coding if isinstance(c, dict)] if isinstance(coding, list) else []


def _texts(concept: object) -> list[str]:
    if not isinstance(concept, dict):
        return []
    texts = [concept.get("text"), concept.get("display")]
    texts += [c.get("display") for c in _codings(concept)]
    return [t for t in texts if isinstance(t, str) and t]


@functools.lru_cache(maxsize=8)
def _system_ids(kb: KnowledgeBase) -> dict[str, str]:
    out: dict[str, str] = {}
    for system in kb.data["medication_codes"]["systems"]:
        out[system["id"]] = system["id"]
        for url in system["urls"]:
            out[url] = system["id"]
    return out


def code_system(kb: KnowledgeBase, url: object) -> str | None:
    """The knowledge base's id of a FHIR code-system URL or OID (``None`` if unknown)."""
    return _system_ids(kb).get(str(url)) if isinstance(url, str) else None


def _ndc_key(code: str) -> str:
    """An NDC reduced to ``labeler-product`` without leading zeros (10/11 digits, any dashes)."""
    parts = code.split("-")
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == 11:  # 5-4-2 without dashes
        parts = [parts[0][:5], parts[0][5:9], parts[0][9:]]
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        return code
    return f"{int(parts[0])}-{int(parts[1])}"


def _normal_code(system: str, code: str) -> str:
    return _ndc_key(code) if system == "ndc" else code.strip().upper()


def _matches(system: str, code: str, entry: Mapping[str, Any]) -> bool:
    if entry["system"] != system:
        return False
    mine, theirs = _normal_code(system, code), _normal_code(system, str(entry["code"]))
    if entry.get("match") == "prefix" and system != "ndc":
        return mine.startswith(theirs)
    return mine == theirs


def _by_code(kb: KnowledgeBase, concept: object) -> list[tuple[dict[str, Any], str]]:
    found: list[tuple[dict[str, Any], str]] = []
    for coding in _codings(concept):
        system = code_system(kb, coding.get("system"))
        code = coding.get("code")
        if system is None or not isinstance(code, str) or not code:
            continue
        for cls in kb.data["medication_codes"]["classes"]:
            if any(_matches(system, code, entry) for entry in cls["codes"]):
                found.append((dict(cls), f"{system.upper()} {code}"))
    return found


_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> str:
    """``text`` as its words: lower case, accents and subscripts folded (``Rh₀`` -> ``rh0``),
    every run of other characters one space, padded so a term matches whole words only."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " " + " ".join(_NOT_WORD.sub(" ", plain).split()) + " "


#: words that say an order's route in its text
_IM_WORDS = (" im ", " intramuscular ", " intramuscularly ", " i m ")
_OTHER_ROUTE_WORDS = (" iv ", " i v ", " intravenous ", " intravenously ", " sc ", " subcutaneous ")


def _says_intramuscular(concept: object) -> bool:
    texts = [_words(t) for t in _texts(concept)]
    im = any(w in t for t in texts for w in _IM_WORDS)
    return im and not any(w in t for t in texts for w in _OTHER_ROUTE_WORDS)


@functools.lru_cache(maxsize=8)
def _class_terms(kb: KnowledgeBase) -> list[tuple[MedicationClass, list[tuple[str, str]]]]:
    """Each medication class with its terms and their word forms, built once per knowledge."""
    return [
        (cls, [(term, _words(term)) for term in cls.get("terms", [])])
        for cls in kb.data["medication_codes"]["classes"]
    ]


def _by_text(kb: KnowledgeBase, concept: object) -> list[tuple[dict[str, Any], str]]:
    """Classes named in the texts, the class with the longest matching term first."""
    texts = [_words(t) for t in _texts(concept)]
    if not texts:
        return []
    found: list[tuple[int, dict[str, Any], str]] = []
    for cls, terms in _class_terms(kb):
        hits = [t for t, words in terms if any(words in text for text in texts)]
        if hits:
            term = max(hits, key=len)
            found.append((len(term), dict(cls), f"text '{term}'"))
    found.sort(key=lambda f: -f[0])
    return [(cls, via) for _, cls, via in found]


def _local(concept: object, local_codes: Iterable[str]) -> str | None:
    wanted = set(local_codes)
    for coding in _codings(concept):
        code = coding.get("code")
        if not isinstance(code, str) or not code:
            continue
        if code in wanted or f"{coding.get('system')}|{code}" in wanted:
            return f"local code {code}"
    return None


#: distinct medication concepts remembered per knowledge base (a patient's medication history
#: names the same few again and again, in every call); the memo is emptied when full
MEMO_SIZE = 4096
_memos: dict[int, tuple[KnowledgeBase, dict[tuple[object, ...], MedicationMatch | None]]] = {}


def _concept_key(concept: object, local_codes: Iterable[str]) -> tuple[object, ...]:
    """Everything :func:`classify_medication` reads of ``concept``: the (system, code) pairs,
    the texts and the local codes."""
    pairs = tuple(
        (
            c.get("system") if isinstance(c.get("system"), str) else None,
            c.get("code") if isinstance(c.get("code"), str) else None,
        )
        for c in _codings(concept)
    )
    return (isinstance(concept, dict), pairs, tuple(_texts(concept)), tuple(local_codes))


def classify_medication(
    kb: KnowledgeBase, concept: object, local_codes: Iterable[str] = ()
) -> MedicationMatch | None:
    """The class of the medication ``concept`` names; ``None``: not an immunoglobulin.

    A specific immunoglobulin wins over everything; then codes win over words. The answer
    depends only on the concept's codes and texts, and is remembered by them.
    """
    local_codes = tuple(local_codes)
    held = _memos.get(id(kb))
    if held is None or held[0] is not kb:
        if len(_memos) >= 8:  # knowledge bases loaded one after another (tests, reloads)
            _memos.clear()
        held = _memos[id(kb)] = (kb, {})
    memo = held[1]
    key = _concept_key(concept, local_codes)
    if key not in memo:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = _classify(kb, concept, local_codes)
    return memo[key]


def _classify(
    kb: KnowledgeBase, concept: object, local_codes: Iterable[str]
) -> MedicationMatch | None:
    hits = _by_code(kb, concept)
    local = _local(concept, local_codes)
    words = _by_text(kb, concept)
    specific = [h for h in hits + words if h[0]["kind"] == SPECIFIC]
    if specific:
        hits = specific
    elif hits:
        pass
    elif local is not None:
        return MedicationMatch(NORMAL, "local", "normal immunoglobulin (local code)", None, local)
    else:
        hits = words
    if not hits:
        return _intramuscular(concept, _by_product(kb, concept))
    cls, via = min(hits, key=lambda h: _KIND_ORDER[h[0]["kind"]])  # stable: longest term first
    match = MedicationMatch(cls["kind"], cls["id"], cls["name"], cls.get("route"), via)
    return _intramuscular(concept, match)


def _intramuscular(concept: object, match: MedicationMatch | None) -> MedicationMatch | None:
    """A normal immunoglobulin whose text says it is given intramuscularly (and no other route)."""
    if match is None or not match.is_normal or not _says_intramuscular(concept):
        return match
    return MedicationMatch(
        "normal_immunoglobulin_intramuscular",
        match.class_id,
        "normal immunoglobulin given intramuscularly",
        "im",
        f"{match.via}; text says intramuscular",
    )


def _by_product(kb: KnowledgeBase, concept: object) -> MedicationMatch | None:
    """A knowledge-base product named or coded: normal immunoglobulin of the product's route.

    A brand name shared by several products ("Flebogamma": 5 % and 10 %) is normal
    immunoglobulin too; the route is the one those products share, if they share one.
    """
    if not isinstance(concept, dict):
        return None
    product_id = match_product(kb, concept)
    if product_id is not None:
        product = kb.product(product_id)
        route = _only_route([product["routes"]])
        return MedicationMatch(
            NORMAL, "product", str(product["name"]), route, f"product {product_id}"
        )
    named = _named_products(kb, concept)
    if named is None:
        return None
    term, ids = named
    products = [kb.product(i) for i in ids]
    route = _only_route([p["routes"] for p in products])
    name = " or ".join(str(p["name"]) for p in products)
    return MedicationMatch(NORMAL, "product", name, route, f"product name '{term}'")


def _only_route(route_lists: Sequence[Sequence[str]]) -> str | None:
    routes = {r for routes in route_lists for r in routes}
    if len(routes) == 1 and all(len(r) == 1 for r in route_lists):
        (route,) = routes
        return route if route in ("iv", "sc") else None
    return None


def _norm(text: str) -> str:
    from ivig.knowledge.base import normalise_term

    return normalise_term(text)


@functools.lru_cache(maxsize=8)
def _product_terms(kb: KnowledgeBase) -> list[tuple[str, tuple[str, ...]]]:
    """Each product word (id, name, synonym) with the products it names, longest first."""
    named: dict[str, list[str]] = {}
    for product in kb.data["products"]:
        for word in [product["id"], product["name"], *product.get("synonyms", [])]:
            norm = _norm(str(word))
            if norm and product["id"] not in named.setdefault(norm, []):
                named[norm].append(product["id"])
    return sorted(((t, tuple(ids)) for t, ids in named.items()), key=lambda t: -len(t[0]))


def _named_products(
    kb: KnowledgeBase, concept: Mapping[str, Any]
) -> tuple[str, tuple[str, ...]] | None:
    """The longest product word in the concept's texts and the products it names."""
    names = [f"_{_norm(t)}_" for t in _texts(concept)]
    for term, ids in _product_terms(kb):
        if any(f"_{term}_" in text for text in names):
            return term, ids
    return None


def match_product(kb: KnowledgeBase, concept: Mapping[str, Any]) -> str | None:
    """The knowledge-base product the concept codes (product codes) or names (longest name).

    A name several products share (a brand without its strength) chooses none of them.
    """
    for coding in _codings(concept):
        system, code = code_system(kb, coding.get("system")), coding.get("code")
        if system is None or not isinstance(code, str):
            continue
        for entry in kb.data["medication_codes"]["product_codes"]:
            if entry["system"] == system and _normal_code(system, code) == _normal_code(
                system, entry["code"]
            ):
                return str(entry["product"])
    named = _named_products(kb, concept)
    if named is None or len(named[1]) != 1:
        return None
    return named[1][0]


def _entry_urls(bundle_urls: Mapping[int, str], res: Mapping[str, Any]) -> set[str]:
    urls = {f"{res.get('resourceType')}/{res.get('id')}"}
    full = bundle_urls.get(id(res))
    if full:
        urls.add(full)
        tail = "/".join(full.rstrip("/").split("/")[-2:])
        urls.add(tail)
    return urls


def resolve_medication(
    order: Mapping[str, Any],
    resources: Sequence[Mapping[str, Any]],
    full_urls: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """The order's medication as a CodeableConcept (empty when it cannot be resolved).

    ``full_urls`` maps ``id(resource)`` to the ``fullUrl`` of its Bundle entry.
    """
    concept = order.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return concept
    ref = order.get("medicationReference")
    if not isinstance(ref, dict):
        return {}
    target = ref.get("reference")
    if isinstance(target, str) and target.startswith("#"):
        for res in order.get("contained", []) or []:
            if isinstance(res, dict) and res.get("id") == target[1:]:
                return _medication_code(res, ref)
    elif isinstance(target, str):
        for res in resources:
            if res.get("resourceType") == "Medication" and target in _entry_urls(
                full_urls or {}, res
            ):
                return _medication_code(res, ref)
    display = ref.get("display")
    return {"text": display} if isinstance(display, str) and display else {}


def _medication_code(medication: Mapping[str, Any], ref: Mapping[str, Any]) -> dict[str, Any]:
    """The Medication's ``code``; without one, its ingredients' codes and texts."""
    code = medication.get("code")
    concept = dict(code) if isinstance(code, dict) else _ingredients(medication)
    display = ref.get("display")
    if isinstance(display, str) and display and "text" not in concept:
        concept["text"] = display
    return concept


def _ingredients(medication: Mapping[str, Any]) -> dict[str, Any]:
    """The codings and texts of ``Medication.ingredient[].itemCodeableConcept`` as one concept."""
    coding: list[dict[str, Any]] = []
    texts: list[str] = []
    for ingredient in medication.get("ingredient") or []:
        item = ingredient.get("itemCodeableConcept") if isinstance(ingredient, dict) else None
        coding += _codings(item)
        text = item.get("text") if isinstance(item, dict) else None
        if isinstance(text, str) and text:
            texts.append(text)
    concept: dict[str, Any] = {}
    if coding or texts[1:]:
        concept["coding"] = coding + [{"display": t} for t in texts[1:]]
    if texts:
        concept["text"] = texts[0]
    return concept
