"""Issue 17, defect 8: web sessions live in the registry, so sign-out, token revocation and
deactivation end them at once, across workers; sign-in/out refuse other origins; failed
sign-ins are throttled in the database; the cookie is Secure behind an https public URL."""

from __future__ import annotations

import re
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import make_engine, session_scope, upgrade
from ivig.service import Settings, create_app
from ivig.web import mount
from ivig.web.session import COOKIE_NAME, WebConfig
from tests._helpers.web import sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SECRET = b"s" * 32


def _registry(folder: Path) -> tuple[str, dict[str, str], int]:
    url = f"sqlite:///{folder / 'registry.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        api.create_user(s, "admin", "admin", actor="system")
        api.create_user(s, "nina", "nurse", actor="admin")
        issued = api.issue_token(s, "nina", actor="admin")
    engine.dispose()
    return url, {"admin": "", "nina": issued["token"]}, int(issued["token_id"])


Factory = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path, kb: KnowledgeBase) -> tuple[Factory, dict[str, str], int, str]:
    url, tokens, token_id = _registry(tmp_path)

    def make(base_url: str = "http://testserver", **settings: Any) -> TestClient:
        app = create_app(Settings(knowledge=kb, database_url=url, json_logs=False, **settings))
        web = mount(app, config=WebConfig(secret=SECRET))
        return TestClient(web, follow_redirects=False, base_url=base_url)

    return make, tokens, token_id, url


def _sign_in(client: TestClient, token: str) -> str:
    response = sign_in(client, {"token": token, "next": "/app"})
    assert response.status_code == 303, response.text
    return str(response.cookies[COOKIE_NAME])


def _home(client: TestClient, cookie: str) -> int:
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, cookie)
    return int(client.get("/app").status_code)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_sign_out_ends_the_session_for_every_worker(
    make_client: tuple[Factory, dict[str, str], int, str],
) -> None:
    make, tokens, _, _ = make_client
    first, second = make(), make()  # two workers: same registry, same secret
    cookie = _sign_in(first, tokens["nina"])
    assert _home(second, cookie) == 200
    html = first.get("/app").text
    out = first.post("/app/logout", data={"csrf": _csrf(html)})
    assert out.status_code == 303
    assert _home(second, cookie) == 303  # the copied cookie no longer signs in


def test_sign_out_needs_the_csrf_token_and_this_origin(
    make_client: tuple[Factory, dict[str, str], int, str],
) -> None:
    make, tokens, _, _ = make_client
    client = make()
    cookie = _sign_in(client, tokens["nina"])
    assert client.post("/app/logout", data={}).status_code == 403
    csrf = _csrf(client.get("/app").text)
    refused = client.post(
        "/app/logout", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert _home(client, cookie) == 200


def test_sign_in_from_another_origin_is_refused(
    make_client: tuple[Factory, dict[str, str], int, str],
) -> None:
    make, tokens, _, _ = make_client
    response = make().post(
        "/app/login",
        data={"token": tokens["nina"], "next": "/app"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert COOKIE_NAME not in response.cookies


def test_revoking_the_token_or_deactivating_the_user_ends_the_session(
    make_client: tuple[Factory, dict[str, str], int, str],
) -> None:
    make, tokens, token_id, url = make_client
    client = make()
    cookie = _sign_in(client, tokens["nina"])
    engine = make_engine(url)
    with session_scope(engine) as s:
        api.revoke_token(s, token_id, actor="admin")
    assert _home(client, cookie) == 303
    with session_scope(engine) as s:
        token = api.issue_token(s, "nina", actor="admin")["token"]
    cookie = _sign_in(client, token)
    assert _home(client, cookie) == 200
    with session_scope(engine) as s:
        api.set_user_active(s, "nina", False, actor="admin")
    engine.dispose()
    assert _home(client, cookie) == 303


def test_failed_sign_ins_are_throttled_in_the_database(
    make_client: tuple[Factory, dict[str, str], int, str],
) -> None:
    from ivig.registry.sessions import MAX_FAILURES

    make, tokens, _, _ = make_client
    for _ in range(MAX_FAILURES):
        assert sign_in(make(), {"token": "wrong"}).status_code == 401
    blocked = sign_in(make(), {"token": tokens["nina"], "next": "/app"})
    assert blocked.status_code == 429  # a new worker sees the same count


def test_the_cookie_is_secure_behind_an_https_public_url(
    make_client: tuple[Factory, dict[str, str], int, str],
) -> None:
    make, tokens, _, _ = make_client
    client = make("https://testserver", public_base_url="https://ivig.hospital.example")
    response = sign_in(
        client,
        {"token": tokens["nina"], "next": "/app"},
        headers={"Origin": "https://ivig.hospital.example"},
    )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_the_signing_secret_is_shared_through_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "web-secret.key"
    env = {"IVIG_WEB_SECRET_FILE": str(path)}
    assert WebConfig.from_env(env).secret == WebConfig.from_env(env).secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_demo_refuses_a_host_other_machines_reach_unless_forced() -> None:
    from ivig.errors import InputError
    from ivig.service.settings import check_demo_host

    assert check_demo_host("127.0.0.1") is None
    with pytest.raises(InputError, match="--host"):
        check_demo_host("0.0.0.0")
    warning = check_demo_host("0.0.0.0", force=True)
    assert warning is not None and warning.startswith("WARNING")
