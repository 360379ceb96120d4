"""Fixtures of the web tests: a temporary SQLite registry seeded with the demonstration data,
the service app with the web pages mounted, and a signed-in test client per role (helpers in
``tests._helpers.web``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from tests._helpers.web import build_app, seed_registry, sign_in

with warnings.catch_warnings():  # starlette warns that its test client wraps httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Path:
    """A seeded registry file, built once and copied for each test module."""
    path = tmp_path_factory.mktemp("web-registry") / "template.db"
    seed_registry(f"sqlite:///{path}", kb)
    return path


@pytest.fixture(scope="module")
def registry_url(registry_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("web-db") / "registry.db"
    path.write_bytes(registry_template.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def app(registry_url: str, kb: KnowledgeBase) -> Any:
    return build_app(registry_url, kb, demo_login=True)


@pytest.fixture(scope="module")
def client_for(app: Any) -> Iterator[Callable[[str], TestClient]]:
    """A test client signed in with the token of ``role`` (one per role, reused)."""
    clients: dict[str, TestClient] = {}

    def make(role: str) -> TestClient:
        if role not in clients:
            client = TestClient(app)
            response = sign_in(client, {"token": f"tok-{role}", "next": "/app"})
            assert response.status_code == 200, response.text
            clients[role] = client
        return clients[role]

    yield make
    for client in clients.values():
        client.close()
