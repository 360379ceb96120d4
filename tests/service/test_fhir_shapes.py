"""FHIR input of the wrong JSON type (issue 17's "fixed at each nested type"): an element ivig
reads sent as another JSON type is refused with a 422 naming the resource and the element, never
a 500; resources ivig does not read are passed over whatever they hold."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests._helpers.service import auth, gbs_bundle

ROUTES = ("/api/fhir/request", "/api/fhir/recommend")


def _mutated(entry: int, path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    bundle = gbs_bundle()
    node: Any = bundle["entry"][entry]["resource"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return bundle


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("entry", "path", "value", "field"),
    [
        (1, ("status",), [], "Observation/w1.status"),  # was a 500 (unhashable in a set test)
        (2, ("status",), {"a": 1}, "Observation/w0.status"),
        (8, ("reasonReference",), 1, "MedicationRequest/mr1.reasonReference"),  # was a 500
        (1, ("valueQuantity",), "85 kg", "Observation/w1.valueQuantity"),
        (7, ("clinicalStatus",), "active", "Condition/c1.clinicalStatus"),
        (1, ("code", "coding"), {"system": "http://loinc.org"}, "Observation/w1.code.coding"),
        (0, ("gender",), None, "Patient/p1.gender"),
    ],
)
def test_a_wrong_json_type_is_a_422_naming_the_element(
    client: TestClient, route: str, entry: int, path: tuple[str, ...], value: object, field: str
) -> None:
    response = client.post(route, json=_mutated(entry, path, value), headers=auth("clinician"))
    assert response.status_code == 422, response.text
    outcome = response.json()  # FHIR endpoints answer with an OperationOutcome
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["expression"] == [field]
    assert "FHIR R4" in issue["diagnostics"]


def test_a_resource_ivig_does_not_read_is_passed_over(client: TestClient) -> None:
    bundle = gbs_bundle()
    bundle["entry"].append({"resource": {"resourceType": "Encounter", "status": [], "period": 1}})
    response = client.post("/api/fhir/request", json=bundle, headers=auth("clinician"))
    assert response.status_code == 200, response.text


def test_random_wrong_types_anywhere_never_give_a_server_error(client: TestClient) -> None:
    """Every element of the GBS bundle, each replaced by values of other JSON types (a seeded
    sample): only 200 or 422 answers."""
    base = gbs_bundle()
    paths: list[tuple[str | int, ...]] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            paths.append((*path, key))
            if isinstance(value, dict | list):
                walk(value, (*path, key))

    walk(base, ())
    wrong: list[object] = [None, 0, -1.5, "", "x", [], {}, [1], {"a": 1}, True]
    rng = random.Random(20261201)
    seen: dict[int, int] = {}
    for path in rng.sample(paths, min(len(paths), 60)):
        bundle = copy.deepcopy(base)
        node: Any = bundle
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = rng.choice(wrong)
        for route in ROUTES:
            status = client.post(route, json=bundle, headers=auth("clinician")).status_code
            seen[status] = seen.get(status, 0) + 1
    assert set(seen) <= {200, 422}, seen
    assert seen.get(422, 0) > 0 and seen.get(200, 0) > 0
