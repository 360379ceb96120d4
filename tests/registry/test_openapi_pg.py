"""Schemathesis against the service with a PostgreSQL registry (issue 17, defect 6: NUL bytes
and ids above 2^31 gave 500 on PostgreSQL): every operation, no 5xx, responses match the schema.
The SQLite run is tests/service/test_openapi.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from ivig.knowledge import KnowledgeBase
from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.service import Settings, create_app

schemathesis = pytest.importorskip("schemathesis")


class _Server:
    def __init__(self, url_db: str, kb: KnowledgeBase) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        settings = Settings(
            public_base_url=self.url,
            knowledge=kb,
            database_url=url_db,
            cds_require_jwt=False,
            json_logs=False,
        )
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        self.app.state.ivig.registry.engine.dispose()  # close its PostgreSQL connections


@pytest.fixture
def pg_server(pg_engine: Engine, kb: KnowledgeBase) -> Iterator[tuple[_Server, dict[str, str]]]:
    with session_scope(pg_engine) as session:
        api.seed_demo(session, kb, patients=6)
    with session_scope(pg_engine) as session:
        admin = next(u for u in api.list_users(session) if u["role"] == "admin")
        token = api.issue_token(session, admin["username"], actor=admin["username"])["token"]
    server = _Server(pg_engine.url.render_as_string(hide_password=False), kb)
    yield server, {"Authorization": f"Bearer {token}"}
    server.stop()


def test_no_server_error_with_a_postgresql_registry(
    pg_server: tuple[_Server, dict[str, str]],
) -> None:
    from tests._helpers.fuzz_api import fuzz_operations

    server, headers = pg_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if "/registry/" in result.ok().path or result.ok().path.startswith("/api/audit")
    ]
    assert len(operations) >= 15
    failures, calls = fuzz_operations(operations, headers, max_examples=25)
    print(f"schemathesis on PostgreSQL: {len(operations)} operations, {calls} calls")
    assert failures == []
