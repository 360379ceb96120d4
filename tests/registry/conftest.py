"""Registry fixtures: a migrated SQLite file per test, and a throwaway PostgreSQL server.

The PostgreSQL server is started once per session with the Debian binaries (initdb, pg_ctl,
postgres; found on PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin) in a temporary
directory, listening on a free loopback port; as root it runs as the ``postgres`` (or
``nobody``) user. Without the binaries the PostgreSQL tests skip, unless
IVIG_REQUIRE_INTEGRATION=1, in which case they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ivig.registry.db import make_engine, upgrade

REQUIRE = os.environ.get("IVIG_REQUIRE_INTEGRATION") == "1"


def _find(name: str) -> str | None:
    found = shutil.which(name) or shutil.which(name, path="/usr/local/bin")
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@pytest.fixture(autouse=True, scope="session")
def audit_key_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A test audit key and checkpoint file (outside any test database), for the whole run."""
    folder = tmp_path_factory.mktemp("audit-key")
    saved = {k: os.environ.get(k) for k in ("IVIG_AUDIT_KEY", "IVIG_AUDIT_CHECKPOINT_FILE")}
    os.environ["IVIG_AUDIT_KEY"] = "test-audit-key-" + "k" * 32
    os.environ["IVIG_AUDIT_CHECKPOINT_FILE"] = str(folder / "checkpoints.json")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL server on loopback (the ``postgres`` database)."""
    binaries = {name: _find(name) for name in ("initdb", "pg_ctl", "postgres")}
    missing = [name for name, path in binaries.items() if path is None]
    if missing:
        message = f"PostgreSQL binaries not found: {', '.join(missing)}"
        if REQUIRE:
            pytest.fail(message + " (IVIG_REQUIRE_INTEGRATION=1)")
        pytest.skip(message)
    user = None
    if os.geteuid() == 0:
        user = next(
            (
                u
                for u in ("postgres", "nobody")
                if subprocess.run(["id", u], capture_output=True, check=False).returncode == 0
            ),
            None,
        )
    base = Path(tempfile.mkdtemp(prefix="ivig-pg-"))
    data = base / "data"
    base.chmod(0o777)
    port = _free_port()
    try:
        subprocess.run(
            _as_user(
                [
                    str(binaries["initdb"]),
                    "-D",
                    str(data),
                    "-U",
                    "ivig",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                user,
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        subprocess.run(
            _as_user(
                [
                    str(binaries["pg_ctl"]),
                    "-D",
                    str(data),
                    "-l",
                    str(base / "log"),
                    "-w",
                    "-o",
                    f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off",
                    "start",
                ],
                user,
            ),
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        pytest.fail(f"could not start PostgreSQL: {exc.stderr}\n{log}")
    try:
        yield f"postgresql+psycopg://ivig@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_user([str(binaries["pg_ctl"]), "-D", str(data), "-m", "immediate", "stop"], user),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """A new, migrated database on the session's PostgreSQL server."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same tests on both engines."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    found: Engine = request.getfixturevalue(name)
    return found
