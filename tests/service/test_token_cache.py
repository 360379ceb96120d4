"""Registry API-token lookups reused for a few seconds (issue 20): the REST path skips the
database for a token this process has just looked up, and still refuses a token revoked
elsewhere once the documented window (``IVIG_TOKEN_CACHE_S``) has passed, and at once when
the revocation goes through this process."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import make_engine, session_scope, upgrade
from ivig.service import Settings, create_app
from ivig.service.state import ServiceState, TokenCache

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

BODY = {
    "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    "jurisdiction": "au",
}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


class Site:
    """A migrated SQLite registry with an admin and a clinician, and ways to change them as
    another worker or the command line would (straight in the database)."""

    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'registry.db'}"
        engine = make_engine(self.url)
        upgrade(engine)
        with session_scope(engine) as s:
            api.create_user(s, "admin", "admin", actor="system")
            api.create_user(s, "doc", "clinician", actor="admin")
            self.admin = api.issue_token(s, "admin", actor="admin")["token"]
        engine.dispose()

    def issue(self) -> tuple[str, int]:
        engine = make_engine(self.url)
        with session_scope(engine) as s:
            issued = api.issue_token(s, "doc", actor="admin", label="cache test")
        engine.dispose()
        return str(issued["token"]), int(issued["token_id"])

    def revoke_elsewhere(self, token_id: int) -> None:
        engine = make_engine(self.url)
        with session_scope(engine) as s:
            api.revoke_token(s, token_id, actor="admin")
        engine.dispose()

    def set_active_elsewhere(self, active: bool) -> None:
        engine = make_engine(self.url)
        with session_scope(engine) as s:
            api.set_user_active(s, "doc", active, actor="admin")
        engine.dispose()


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(site: Site, kb: KnowledgeBase, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(knowledge=kb, database_url=site.url, json_logs=False)
    assert settings.api_token_cache_s == 5.0  # the documented default
    app = create_app(settings)
    state: ServiceState = app.state.ivig
    assert state.registry is not None
    state.registry.tokens = TokenCache(settings.api_token_cache_s, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


def _recommend(client: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    status: int = client.post("/api/recommend", json=BODY, headers=headers).status_code
    return status


def test_a_token_revoked_elsewhere_is_refused_once_the_window_has_passed(
    client: TestClient, site: Site, clock: Clock
) -> None:
    token, token_id = site.issue()
    assert _recommend(client, token) == 200
    site.revoke_elsewhere(token_id)
    clock.now_s += 4.9  # within the documented window, this worker has not looked again
    assert _recommend(client, token) == 200
    clock.now_s += 0.2  # 5.1 s after the lookup: the database is asked and says revoked
    assert _recommend(client, token) == 401
    clock.now_s += 100  # and it stays refused: a refusal is never remembered as a success
    assert _recommend(client, token) == 401


def test_a_revocation_through_this_worker_takes_effect_at_once(
    client: TestClient, site: Site
) -> None:
    token, token_id = site.issue()
    assert _recommend(client, token) == 200
    admin = {"Authorization": f"Bearer {site.admin}"}
    assert client.post(f"/api/registry/tokens/{token_id}/revoke", headers=admin).status_code == 200
    assert _recommend(client, token) == 401


def test_a_user_deactivated_elsewhere_is_refused_after_the_window(
    client: TestClient, site: Site, clock: Clock
) -> None:
    token, _ = site.issue()
    assert _recommend(client, token) == 200
    site.set_active_elsewhere(False)
    clock.now_s += 5.0
    assert _recommend(client, token) == 401
    site.set_active_elsewhere(True)
    assert _recommend(client, token) == 200


def test_an_unknown_token_is_never_remembered(client: TestClient, site: Site, clock: Clock) -> None:
    app_state: ServiceState = client.app.state.ivig  # type: ignore[attr-defined]
    assert app_state.registry is not None
    assert _recommend(client, "ivig_not-a-token") == 401
    assert len(app_state.registry.tokens) == 0
    token, _ = site.issue()
    assert _recommend(client, token) == 200
    assert len(app_state.registry.tokens) == 1


def test_zero_seconds_looks_every_request_up(site: Site, kb: KnowledgeBase) -> None:
    settings = Settings.from_env(
        {"IVIG_TOKEN_CACHE_S": "0"}, knowledge=kb, database_url=site.url, json_logs=False
    )
    assert settings.api_token_cache_s == 0
    token, token_id = site.issue()
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        assert _recommend(tc, token) == 200
        site.revoke_elsewhere(token_id)
        assert _recommend(tc, token) == 401


@pytest.mark.parametrize("text", ["-1", "301", "abc", "nan", "inf"])
def test_the_window_setting_refuses_what_it_cannot_use(text: str) -> None:
    with pytest.raises(InputError) as raised:
        Settings.from_env({"IVIG_TOKEN_CACHE_S": text})
    assert "IVIG_TOKEN_CACHE_S" in str(raised.value) and "0 to 300" in str(raised.value)


def test_the_cache_forgets_by_age_when_cleared_and_when_full(clock: Clock) -> None:
    cache = TokenCache(5.0, clock=clock, max_entries=2)
    user = {"username": "doc", "role": "clinician"}
    cache.put("a", user, clock())
    assert cache.get("a") == user
    clock.now_s += 5.0
    assert cache.get("a") is None and len(cache) == 0
    cache.put("a", user, clock())
    cache.put("b", user, clock())
    cache.put("c", user, clock())  # full: starts again rather than grow
    assert len(cache) == 1 and cache.get("c") == user
    cache.clear()
    assert cache.get("c") is None
    off = TokenCache(0.0, clock=clock)
    off.put("a", user, clock())
    assert off.get("a") is None
