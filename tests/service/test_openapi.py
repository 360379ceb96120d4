"""Schemathesis against the OpenAPI document of a real server: no 5xx, and every response
matches the schema the document declares (with and without a registry)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.core.result import Ok

from ivig.knowledge import KnowledgeBase
from ivig.service import create_app
from tests._helpers.fuzz_api import fuzz_operations
from tests._helpers.service import LiveServer, Signer, auth, service_settings


def _registry_with_admin(path: Path, kb: KnowledgeBase) -> tuple[str, str]:
    from ivig.registry import api
    from ivig.registry.db import make_engine, session_scope, upgrade

    url = f"sqlite:///{path / 'registry.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        api.seed_demo(session, kb, patients=8)
    with session_scope(engine) as session:
        admin = next(u for u in api.list_users(session) if u["role"] == "admin")
        token = api.issue_token(session, admin["username"], actor=admin["username"])["token"]
    engine.dispose()
    return url, token


@pytest.fixture(scope="module", params=["no-registry", "registry"])
def open_server(
    request: pytest.FixtureRequest,
    kb: KnowledgeBase,
    es_signer: Signer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    changes: dict[str, Any] = {"knowledge": kb, "cds_require_jwt": False}
    headers = auth("admin")
    if request.param == "registry":
        import ivig.registry.api  # noqa: F401  (the registry must import)

        url, token = _registry_with_admin(tmp_path_factory.mktemp("openapi"), kb)
        changes["database_url"] = url
        headers = {"Authorization": f"Bearer {token}"}
    server = LiveServer(lambda base: create_app(service_settings(base, es_signer, None, **changes)))
    yield server, headers
    server.stop()


def test_no_server_error_and_responses_match_the_schema(
    open_server: tuple[LiveServer, dict[str, str]],
) -> None:
    """Every operation, up to 30 generated cases each (schemathesis drives hypothesis directly;
    its pytest plugin does not run under this pytest)."""
    server, headers = open_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 15
    failures, calls = fuzz_operations(operations, headers, max_examples=30)
    print(f"schemathesis: {len(operations)} operations, {calls} calls")
    assert failures == []
