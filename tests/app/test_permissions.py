"""One permission table (``ivig.permissions``), the same answer from the registry, the REST
service and the web application for every action and every role."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ivig.errors import IvigError
from ivig.knowledge import KnowledgeBase
from ivig.permissions import ACTIONS, PERMISSIONS, ROLES, Action, allowed, roles_for
from ivig.registry import api
from ivig.registry.users import RoleError
from ivig.service import Settings, create_app
from ivig.web.access import ACTIONS as WEB_ACTIONS
from ivig.web.access import PAGES
from ivig.web.access import allowed as web_allowed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TODAY = dt.date(2026, 6, 1)


def test_every_action_has_roles_and_admin_may_do_everything() -> None:
    assert set(PERMISSIONS) == set(ACTIONS)
    for action in ACTIONS:
        assert PERMISSIONS[action], action
        assert "admin" in roles_for(action)


def test_a_pharmacist_may_create_a_request_but_not_authorise_it() -> None:
    """The decision taken for issue 13: pharmacists enter requests; only stewards authorise."""
    assert allowed("pharmacist", "create_request")
    assert not allowed("pharmacist", "authorise")
    assert not allowed("clinician", "authorise")
    assert not allowed("nurse", "create_request")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[Any]:
    from ivig.registry.db import make_engine, session_scope, upgrade

    url = f"sqlite:///{Path(tmp_path_factory.mktemp('perm')) / 'r.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        api.seed_demo(session, kb, patients=4, today=TODAY)
    with session_scope(engine) as session:
        users = {u["role"]: u["username"] for u in api.list_users(session)}
        admin = users["admin"]
        tokens = {r: api.issue_token(session, users[r], actor=admin)["token"] for r in ROLES}
    yield engine, users, tokens, url
    engine.dispose()


#: action -> a registry call by ``actor`` (ids that may not exist: the role gate comes first)
RegistryCall = Callable[[Session, str, KnowledgeBase], object]
REGISTRY_CALLS: dict[Action, RegistryCall] = {
    "create_request": lambda s, a, kb: api.create_request(
        s,
        {
            "patient": {"sex": "male", "age_years": 60, "weight_kg": 80, "height_cm": 175},
            "condition": "gbs",
            "phase": "induction",
        },
        patient_ref="PERM-1",
        actor=a,
        knowledge=kb,
    ),
    "authorise": lambda s, a, kb: api.authorise(s, 10**6, outcome="approve", reason="r", actor=a),
    "start_course": lambda s, a, kb: api.start_course(s, 10**6, start_date=TODAY, actor=a),
    "stop_course": lambda s, a, kb: api.stop_course(s, 10**6, date=TODAY, reason="x", actor=a),
    "record_infusion": lambda s, a, kb: api.record_infusion(
        s, 10**6, actor=a, date=TODAY, product="privigen", lot_number="L", grams=1
    ),
    "record_adverse_event": lambda s, a, kb: api.record_adverse_event(
        s,
        patient_ref="PERM-1",
        actor=a,
        date=TODAY,
        event_type="headache",
        severity="mild",
        outcome="resolved",
    ),
    "record_outcome": lambda s, a, kb: api.record_outcome(
        s, 10**6, actor=a, knowledge=kb, score_id="mrs", date=TODAY, value=1
    ),
    "review_course": lambda s, a, kb: api.review_course(
        s, 10**6, actor=a, knowledge=kb, action="continue", reason="r", date=TODAY
    ),
    "trial_off": lambda s, a, kb: api.start_trial_off(s, 10**6, actor=a, start_date=TODAY),
    "manage_users": lambda s, a, kb: api.create_user(s, "perm-new", "nurse", actor=a),
    "record_igg_level": lambda s, a, kb: api.record_igg_level(
        s, 10**6, date=TODAY, kind="trough", igg_g_per_l=9.5, actor=a, knowledge=kb
    ),
}


@pytest.mark.parametrize("action", sorted(REGISTRY_CALLS))
@pytest.mark.parametrize("role", ROLES)
def test_the_registry_enforces_the_table(
    registry: Any, kb: KnowledgeBase, action: Action, role: str
) -> None:
    from ivig.registry.db import session_scope

    engine, users, _, _ = registry
    refused = False
    try:
        with session_scope(engine) as session:
            REGISTRY_CALLS[action](session, users[role], kb)
            session.rollback()
    except RoleError:
        refused = True
    except IvigError:  # a missing id or a bad value: the call passed the role gate
        refused = False
    assert refused is not allowed(role, action)


#: action -> (method, path) of the REST endpoint that does it
REST_CALLS: dict[Action, tuple[str, str]] = {
    "create_request": ("POST", "/api/registry/requests"),
    "authorise": ("POST", "/api/registry/requests/1/authorise"),
    "start_course": ("POST", "/api/registry/requests/1/courses"),
    "stop_course": ("POST", "/api/registry/courses/1/stop"),
    "record_infusion": ("POST", "/api/registry/courses/1/infusions"),
    "record_adverse_event": ("POST", "/api/registry/adverse-events"),
    "record_outcome": ("POST", "/api/registry/courses/1/outcomes"),
    "record_igg_level": ("POST", "/api/registry/courses/1/igg-levels"),
    "review_course": ("POST", "/api/registry/courses/1/review"),
    "read_reports": ("GET", "/api/registry/reports/usage"),
    "shortage": ("GET", "/api/registry/reports/shortage"),
    "read_audit_log": ("GET", "/api/registry/audit-log"),
    "manage_users": ("GET", "/api/registry/users"),
    "read_registry": ("GET", "/api/registry/requests"),
    "compute": ("POST", "/api/dose"),
}


@pytest.fixture(scope="module")
def rest(registry: Any, kb: KnowledgeBase) -> Iterator[TestClient]:
    _, _, _, url = registry
    settings = Settings(database_url=url, knowledge=kb, cds_require_jwt=False, today=lambda: TODAY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("action", sorted(REST_CALLS))
@pytest.mark.parametrize("role", ROLES)
def test_the_rest_service_agrees(
    registry: Any, rest: TestClient, action: Action, role: str
) -> None:
    _, _, tokens, _ = registry
    method, path = REST_CALLS[action]
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    body: dict[str, object] | None = None if method == "GET" else {}
    response = rest.request(method, path, json=body, headers=headers)
    assert (response.status_code == 403) is not allowed(role, action), response.text


def test_every_web_page_and_action_is_an_action_of_the_table() -> None:
    for what, action in {**PAGES, **WEB_ACTIONS}.items():
        assert action in PERMISSIONS, what
        for role in ROLES:
            assert web_allowed(role, what) is allowed(role, action)
    assert not web_allowed("admin", "no-such-page")
