"""The web app's comparison of jurisdictions (``ivig recommend --compare`` in the browser): from
the recommendation page, the same patient under every jurisdiction's own policy, rounding and
evidence, figures taken from ``ivig.app.compare`` and never recomputed in the page."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable
from typing import Any, cast

from starlette.testclient import TestClient

from ivig.app.compare import compare
from ivig.knowledge import KnowledgeBase
from tests._helpers.web import GBS_FORM

Client = Callable[[str], TestClient]


def _request_json(page_html: str) -> str:
    found = re.search(r'id="compare-form".*?name="request_json" value="([^"]*)"', page_html, re.S)
    assert found, "the recommendation page offers no comparison"
    return html_lib.unescape(found.group(1))


def test_the_recommendation_page_compares_every_jurisdiction(
    client_for: Client, kb: KnowledgeBase
) -> None:
    client = client_for("clinician")
    raw = _request_json(client.post("/app/request", data=GBS_FORM).text)
    response = client.post("/app/request/compare", data={"request_json": raw})
    assert response.status_code == 200, response.text
    expected = cast(Any, compare(kb, json.loads(raw)))
    assert len(expected["rows"]) > 1
    for row in expected["rows"]:
        cell = re.search(rf'<tr id="cmp-{row["jurisdiction"]}">(.*?)</tr>', response.text, re.S)
        assert cell, row["jurisdiction"]
        assert html_lib.escape(row["jurisdiction_name"]) in cell.group(1)
        if row["total_g"] is not None:
            assert f'data-total-g="{row["total_g"]}"' in cell.group(1)
            assert f"{row['dosing_weight_kg']:g} kg" in cell.group(1)


def test_a_comparison_of_a_broken_request_says_what_is_wrong(client_for: Client) -> None:
    client = client_for("clinician")
    bad = client.post("/app/request/compare", data={"request_json": "{not json"})
    assert bad.status_code == 422 and "not valid JSON" in bad.text
    wrong = client.post(
        "/app/request/compare",
        data={
            "request_json": '{"condition": "gbs", "phase": "induction", "patient": {"sex": "x"}}'
        },
    )
    assert wrong.status_code == 422
    assert "patient" in wrong.text


def test_a_signed_out_browser_cannot_compare(app: Any) -> None:
    with TestClient(app) as anonymous:
        response = anonymous.post(
            "/app/request/compare", data={"request_json": "{}"}, follow_redirects=False
        )
    assert response.status_code in (302, 303, 401, 403)
