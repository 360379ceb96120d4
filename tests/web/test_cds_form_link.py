"""The CDS card's link to the web form (issue 16): the form opens prefilled from the EHR data."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from ivig.service.cds.cards import form_url

Client = Callable[[str], TestClient]


def test_the_card_link_opens_the_form_prefilled_with_the_missing_findings_empty(
    client_for: Client,
) -> None:
    request = {
        "patient": {"sex": "male", "age_years": 55, "weight_kg": 74.0, "height_cm": 176.0},
        "condition": "gbs",
        "phase": "induction",
        "findings": {"days_since_onset": 6},
    }
    link = urlsplit(form_url("https://ivig.example.org", request, ["able_to_walk_unaided"]))
    assert link.path == "/app/request/new"
    html = client_for("clinician").get(f"{link.path}?{link.query}").text
    assert re.search(r'name="patient\.weight_kg"[^>]*value="74"', html)
    assert re.search(r'name="findings\.days_since_onset"[^>]*value="6"', html)
    assert 'name="findings.able_to_walk_unaided"' in html
