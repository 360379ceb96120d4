"""The CDS card's link to the web form (issue 16): the form opens prefilled from the EHR data,
and the patient's values are never in the URL in clear (browser history, proxy logs and
``Referer`` headers keep URLs)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from ivig.app.form_link import PREFILL_TTL_S, PrefillError, form_params, seal, unseal
from ivig.service.cds.cards import form_url

Client = Callable[[str], TestClient]

REQUEST: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 55, "weight_kg": 74.0, "height_cm": 176.0},
    "condition": "gbs",
    "phase": "induction",
    "findings": {"days_since_onset": 6},
}


def _secret(app: Any) -> bytes:
    secret: bytes = app.state.ivig_web.secret
    return secret


def test_the_link_carries_no_patient_value_in_clear(app: Any) -> None:
    url = form_url("https://ivig.example.org", REQUEST, ["able_to_walk_unaided"], _secret(app))
    link = urlsplit(url)
    assert link.path == "/app/request/new"
    assert list(parse_qs(link.query)) == ["prefill"]
    for clear in ("74", "176", "male", "days_since_onset", "able_to_walk", "gbs"):
        assert clear not in link.query


def test_the_card_link_opens_the_form_prefilled_with_the_missing_findings_empty(
    client_for: Client, app: Any
) -> None:
    url = form_url("https://ivig.example.org", REQUEST, ["able_to_walk_unaided"], _secret(app))
    link = urlsplit(url)
    html = client_for("clinician").get(f"{link.path}?{link.query}").text
    assert re.search(r'name="patient\.weight_kg"[^>]*value="74"', html)
    assert re.search(r'name="findings\.days_since_onset"[^>]*value="6"', html)
    assert 'name="findings.able_to_walk_unaided"' in html
    assert "Filled from the EHR" in html


def test_a_signed_out_browser_following_the_link_is_asked_to_sign_in(app: Any) -> None:
    url = form_url("https://ivig.example.org", REQUEST, [], _secret(app))
    link = urlsplit(url)
    with TestClient(app) as anonymous:
        response = anonymous.get(f"{link.path}?{link.query}", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert "/app/login" in response.headers["location"]
    assert "74" not in response.text


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not-a-token", "altered or made by another server"),
        (seal(form_params(REQUEST, []), b"another server's secret"), "another server"),
        ("x" * 9000, "at most 8192"),
    ],
)
def test_a_link_that_cannot_be_opened_gives_an_empty_form_saying_why(
    client_for: Client, token: str, reason: str
) -> None:
    response = client_for("clinician").get("/app/request/new", params={"prefill": token})
    assert response.status_code == 200
    assert "could not be filled from the EHR" in response.text
    assert reason in response.text
    assert not re.search(r'name="patient\.weight_kg"[^>]*value="74"', response.text)


def test_an_expired_link_says_it_has_expired() -> None:
    secret = b"s" * 32
    token = seal(form_params(REQUEST, []), secret, now=1_000_000)
    assert unseal(token, secret, now=1_000_000 + PREFILL_TTL_S - 1)[0] == ("condition", "gbs")
    with pytest.raises(PrefillError, match="expired"):
        unseal(token, secret, now=1_000_000 + PREFILL_TTL_S + 1)


def test_an_altered_token_is_refused_not_misread() -> None:
    secret = b"s" * 32
    token = seal(form_params(REQUEST, []), secret)
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    with pytest.raises(PrefillError, match="altered"):
        unseal(flipped, secret)
