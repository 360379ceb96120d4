"""Several workers on one registry: the JWT replay cache, API tokens and web sessions are shared.

Real servers: ``ivig serve`` processes on loopback ports against a real PostgreSQL database
(the ``pg_engine`` fixture), and the database replay cache on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine

from ivig.registry import api
from ivig.registry.db import session_scope
from ivig.registry.users import SYSTEM_ACTOR
from ivig.service.replay import DatabaseReplayCache
from tests._helpers.web import sign_in

ISS = "https://ehr.example.org"
PUBLIC = "http://ivig.test"
KID = "ehr-es-workers"
BUNDLE = Path(__file__).parent.parent / "service" / "data" / "gbs_bundle.json"


class EhrKey:
    """An EHR's ES384 signing key and its JWK Set."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES384"}]}

    def token(self, aud: str = PUBLIC) -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": KID})


@pytest.fixture(scope="module")
def ehr() -> EhrKey:
    return EhrKey()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """An ``ivig serve`` process on a free loopback port."""

    def __init__(self, database_url: str, ehr: EhrKey, workers: int, secret: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "IVIG_DATABASE_URL": database_url,
            "IVIG_CDS_ISSUERS": json.dumps([{"iss": ISS, "jwks": ehr.jwks}]),
            "IVIG_WEB_SECRET": secret,
        }
        cmd = [sys.executable, "-m", "ivig.cli", "serve", "--port", str(self.port)]
        cmd += ["--workers", str(workers), "--public-url", PUBLIC, "--log-level", "warning"]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True
        )
        try:
            self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"ivig serve exited: {self.log.read()[-2000:]!r}")
            try:
                httpx.get(self.url + "/api/kb", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("ivig serve did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()


def _pg_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _api_token(engine: Engine) -> str:
    with session_scope(engine) as s:
        api.create_user(s, "admin", "admin", actor=SYSTEM_ACTOR)
        api.create_user(s, "cara", "clinician", actor="admin")
    with session_scope(engine) as s:
        token: str = api.issue_token(s, "cara", actor="admin")["token"]
    return token


def _hook_body() -> dict[str, Any]:
    """An order-select call for the bundled GBS patient, everything prefetched."""
    bundle = json.loads(BUNDLE.read_text())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])

    def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": r} for r in resources]}  # fmt: skip

    def observations(code: str) -> dict[str, Any]:
        found = [o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == code]
        return searchset(found)

    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/dr-1",
            "patientId": "p1",
            "selections": ["MedicationRequest/mr1"],
            "draftOrders": searchset(by_type["MedicationRequest"]),
        },
        "prefetch": {
            "patient": by_type["Patient"][0],
            "weight": observations("29463-7"),
            "height": observations("8302-2"),
            "iga": observations("2458-8"),
            "creatinine": None,
            "egfr": observations("98979-8"),
            "findings": observations("able_to_walk_unaided"),
            "conditions": searchset(by_type["Condition"]),
            "igOrders": searchset([]),
        },
    }


@pytest.fixture
def two_servers(pg_engine: Engine, ehr: EhrKey) -> Iterator[tuple[Serve, Serve]]:
    """Two single-worker servers sharing one PostgreSQL registry and one web-session key."""
    secret = uuid.uuid4().hex
    first = Serve(_pg_url(pg_engine), ehr, 1, secret)
    try:
        second = Serve(_pg_url(pg_engine), ehr, 1, secret)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_jwt_accepted_by_one_server_is_refused_by_the_other(
    two_servers: tuple[Serve, Serve], ehr: EhrKey
) -> None:
    """CDS Hooks 2.0 (jti accepted once): the replay cache lives in the shared database."""
    first, second = two_servers
    for a, b in ((first, second), (second, first)):
        token = ehr.token(PUBLIC)
        assert httpx.get(a.url + "/cds-services", headers=_bearer(token)).status_code == 200
        assert httpx.get(b.url + "/cds-services", headers=_bearer(token)).status_code == 401
        assert httpx.get(a.url + "/cds-services", headers=_bearer(token)).status_code == 401


def test_cds_rest_and_web_sign_in_work_across_servers(
    two_servers: tuple[Serve, Serve], ehr: EhrKey, pg_engine: Engine
) -> None:
    first, second = two_servers
    for server in two_servers:
        response = httpx.post(
            server.url + "/cds-services/ivig-order",
            json=_hook_body(),
            headers=_bearer(ehr.token(PUBLIC)),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.json()["cards"]
    token = _api_token(pg_engine)
    request = {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
        "condition": "gbs",
        "phase": "induction",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
        "jurisdiction": "au",
    }
    bodies = [
        httpx.post(s.url + "/api/recommend", json=request, headers=_bearer(token), timeout=60)
        for s in two_servers
    ]
    assert [b.status_code for b in bodies] == [200, 200]
    assert bodies[0].json()["dose"]["total_g"] == bodies[1].json()["dose"]["total_g"] > 0
    with httpx.Client(base_url=first.url, timeout=60) as browser:
        signed_in = sign_in(browser, {"token": token, "next": "/app"})
    assert signed_in.status_code == 303
    cookies = dict(signed_in.cookies)
    assert cookies
    home = httpx.get(second.url + "/app", cookies=cookies, timeout=60)
    assert home.status_code == 200
    assert "cara" in home.text
    assert httpx.get(second.url + "/app", timeout=60).status_code in (303, 307)


def test_two_workers_of_one_server_share_the_replay_cache(pg_engine: Engine, ehr: EhrKey) -> None:
    """``ivig serve --workers 2``: every token is accepted once, whichever worker answers."""
    server = Serve(_pg_url(pg_engine), ehr, 2, uuid.uuid4().hex)
    try:
        tokens = [ehr.token(PUBLIC) for _ in range(40)]

        def call(token: str) -> int:
            with httpx.Client() as client:  # a new connection, so the kernel picks a worker
                return client.get(server.url + "/cds-services", headers=_bearer(token)).status_code

        with ThreadPoolExecutor(8) as pool:
            first = list(pool.map(call, tokens))
            again = list(pool.map(call, tokens))
        assert first == [200] * 40
        assert again == [401] * 40
        children = subprocess.run(
            ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 2
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_database_replay_cache_accepts_once_until_expiry(
    kind: str, request: pytest.FixtureRequest
) -> None:
    engine: Engine = request.getfixturevalue("sqlite_engine" if kind == "sqlite" else "pg_engine")
    now = [1000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    one, other = DatabaseReplayCache(engine, clock), DatabaseReplayCache(engine, clock)
    assert one.check_and_add("iss", "a", 1010)
    assert not other.check_and_add("iss", "a", 1010)
    assert other.check_and_add("other-iss", "a", 1010)
    now[0] = 1011
    assert other.check_and_add("iss", "a", 1020)
    assert not one.check_and_add("iss", "a", 1020)
    now[0] = 5000
    assert one.prune() == 2
    assert one.check_and_add("iss", "a", 6000)


def test_the_listening_socket_gives_connections_tcp_nodelay() -> None:
    """Without TCP_NODELAY a kept-alive response waits for the client's delayed ACK (~40 ms)."""
    from ivig.cli.serve import listen_socket

    sock = listen_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        with socket.create_connection(sock.getsockname()[:2]):
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def test_bad_worker_counts_and_busy_ports_name_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ivig.cli import main
    from ivig.cli.serve import listen_socket

    assert main(["serve", "--workers", "0", "--no-registry"]) == 2
    assert "--workers" in capsys.readouterr().err
    from ivig.errors import InputError

    busy = listen_socket("127.0.0.1", 0)
    try:
        with pytest.raises(InputError, match="--port"):
            listen_socket("127.0.0.1", int(busy.getsockname()[1]))
    finally:
        busy.close()
