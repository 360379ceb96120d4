"""Engine, sessions and migrations of the registry database.

The URL comes from ``IVIG_DATABASE_URL``; without it the registry is a SQLite file in the user's
data directory (``${XDG_DATA_HOME:-~/.local/share}/ivig/registry.db``). PostgreSQL URLs use the
psycopg 3 driver (``postgresql://...`` is rewritten to ``postgresql+psycopg://...``).

SQLite write transactions start with ``BEGIN IMMEDIATE`` (the write lock is taken up front, so
two writers never meet half-way and the audit chain stays linear); read transactions
(:func:`read_scope`) start with a deferred ``BEGIN`` and never take the write lock, so in WAL mode
readers never block writers. ``synchronous=FULL`` means a killed process never leaves a
half-written step; ``recursive_triggers`` makes ``INSERT OR REPLACE`` fire the audit log's
delete trigger. A new SQLite file is created with mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DATABASE_URL_ENV",
    "current_revision",
    "default_database_url",
    "make_engine",
    "make_session_factory",
    "mask_url",
    "read_scope",
    "session_scope",
    "upgrade",
]

DATABASE_URL_ENV = "IVIG_DATABASE_URL"


def default_database_url() -> str:
    """``IVIG_DATABASE_URL`` or the SQLite file in the user's data directory."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'ivig' / 'registry.db'}"


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for anything printed or logged)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: hide everything after //
        head, sep, _ = url.partition("//")
        return head + sep + "***" if sep else "***"


def _normalise(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA recursive_triggers=ON")
    cur.close()


#: execution option that marks a read-only transaction (deferred BEGIN on SQLite)
READ_ONLY = "ivig_read_only"


def _sqlite_begin(conn: Any) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private(database: str) -> None:
    path = Path(database).expanduser()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default :func:`default_database_url`); creates the SQLite folder."""
    raw = _normalise(url or default_database_url())
    parsed = make_url(raw)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _create_private(database)
        engine = create_engine(raw, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(raw, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay readable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any exception."""
    with make_session_factory(engine)() as session, session.begin():
        yield session


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """One read-only transaction: never takes SQLite's write lock; always rolled back."""
    reader = engine.execution_options(**{READ_ONLY: True})
    with make_session_factory(reader)() as session:
        session.begin()
        try:
            yield session
        finally:
            session.rollback()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "ivig.registry:migrations")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision``; return the revision now current."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The migration revision of the database (``None`` before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        rev: str | None = MigrationContext.configure(conn).get_current_revision()
        return rev
