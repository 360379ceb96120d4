"""Plain words: no rendered page shows an internal id, a research key or a file word.

Every page a user reaches (as the roles that reach it) is rendered and scanned for the
deny-list of :data:`ivig.web.glossary.DENY`, and for knowledge ids shown where a name belongs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from ivig.knowledge import KnowledgeBase
from ivig.web.glossary import DENY
from tests._helpers.web import GBS_FORM

Client = Callable[[str], TestClient]


def _visible(html: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(
        r"<svg\b.*?</svg>", lambda m: " ".join(re.findall(r">([^<]+)<", m[0])), html, flags=re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _pages(client_for: Client) -> Iterator[tuple[str, str]]:
    steward = client_for("steward")
    for path in ("/app", "/app/request/new", "/app/patients", "/app/dashboard",
                 "/app/dashboard/savings", "/app/dashboard?shortage=1", "/app/knowledge",
                 "/app/knowledge/sources", "/app/knowledge/unverified",
                 "/app/knowledge/conditions/gbs", "/app/knowledge/products/privigen",
                 "/app/requests/1", "/app/requests/1/order-sheet"):  # fmt: skip
        yield path, steward.get(path).text
    clinician = client_for("clinician")
    yield "recommendation", clinician.post("/app/request", data=GBS_FORM).text
    rows = steward.get("/app/patients").text
    for ref in sorted(set(re.findall(r'href="/app/patients/(DEMO-\d+)"', rows)))[:12]:
        yield ref, client_for("nurse").get(f"/app/patients/{ref}").text


def test_no_page_shows_an_internal_word(client_for: Client) -> None:
    found = []
    for where, html in _pages(client_for):
        text = _visible(html)
        found += [(where, word) for word in DENY if word in text]
    assert found == []


def test_no_page_shows_an_indication_or_product_id_where_a_name_belongs(
    client_for: Client, kb: KnowledgeBase
) -> None:
    """Dotted indication ids (``gbs.initial``) and product ids (``privigen-au``) never appear
    as words of a page; their names do."""
    ids = {i["id"] for c in kb.conditions() for i in c.get("indications", []) if "." in i["id"]}
    ids |= {p["id"] for p in kb.data["products"] if "-" in p["id"]}
    pattern = re.compile(
        r"(?<![\w./#-])(" + "|".join(map(re.escape, sorted(ids))) + r")(?![\w-]|\.\w)"
    )
    found = []
    for where, html in _pages(client_for):
        found += [(where, m) for m in sorted(set(pattern.findall(_visible(html))))]
    assert found == []


@pytest.mark.parametrize("word", DENY)
def test_the_deny_list_catches_its_words(word: str) -> None:
    assert word in _visible(f"<p>before {word} after</p>")
