"""``ivig serve``: the REST API, CDS Hooks services and FHIR endpoints over HTTP (uvicorn).

The registry is the database of ``IVIG_DATABASE_URL`` (default: the SQLite file in the user's
data directory). ``--demo`` runs on a fresh embedded SQLite registry filled with demonstration
data, prints one API token per role and, unless CDS issuers are configured, accepts CDS Hooks
calls without a JWT: for a loopback demonstration only.

``--workers N`` runs N worker processes on one listening socket (uvicorn's supervisor, which
restarts a worker that dies). Workers are stateless: the JWT replay cache, web sessions and
feedback live in the registry database, so any worker may answer any request. See
docs/deployment.md.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    import socket

    from ivig.service.settings import Settings, StaticToken

__all__ = [
    "WORKER_ENV",
    "add_parsers",
    "build_app",
    "build_settings",
    "demo_tokens",
    "listen_socket",
    "worker_app",
]

#: environment variable carrying the parent's settings to the workers (JSON)
WORKER_ENV = "IVIG_SERVE_WORKER"


def demo_tokens(database_url: str, knowledge: Any) -> dict[str, StaticToken]:
    """Seed demonstration data into the registry and issue one API token per role."""
    from ivig.permissions import ROLES
    from ivig.registry import api
    from ivig.registry.db import make_engine, session_scope, upgrade
    from ivig.service.settings import StaticToken

    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        if not api.list_users(session):
            api.seed_demo(session, knowledge)
    tokens: dict[str, StaticToken] = {}
    with session_scope(engine) as session:
        users = [u for u in api.list_users(session) if u.get("active", True)]
        admins = [u for u in users if u["role"] == "admin"]
        if not admins:
            return tokens
        for role in ROLES:
            user = next((u for u in users if u["role"] == role), None)
            if user is None:
                continue
            issued = api.issue_token(
                session, user["username"], actor=admins[0]["username"], label="ivig serve --demo"
            )
            tokens[issued["token"]] = StaticToken(user["username"], role)
    engine.dispose()
    return tokens


def build_settings(args: argparse.Namespace) -> tuple[Settings, dict[str, StaticToken]]:
    """Settings for the command-line options (and the demonstration tokens, if any)."""
    from ivig.service.settings import Settings

    public = args.public_url or f"http://{args.host}:{args.port}"
    overrides: dict[str, Any] = {"public_base_url": public}
    tokens: dict[str, StaticToken] = {}
    if args.no_registry:
        overrides["database_url"] = None
    elif args.demo:
        import tempfile
        from pathlib import Path

        from ivig.cli._common import kb

        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='ivig-demo-')) / 'registry.db'}"
        overrides["database_url"] = url
        tokens = demo_tokens(url, kb())
    else:
        from ivig.registry.db import default_database_url

        overrides["database_url"] = default_database_url()
    settings = Settings.from_env(**overrides)
    if args.demo and not settings.cds_issuers:
        from dataclasses import replace

        settings = replace(settings, cds_require_jwt=False)
    return settings, tokens


def listen_socket(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket created with ``IPPROTO_TCP`` and ``TCP_NODELAY``.

    asyncio sets ``TCP_NODELAY`` on an accepted connection only when the listening socket's
    ``proto`` is ``IPPROTO_TCP``; uvicorn creates its socket with ``proto=0``, so keep-alive
    responses otherwise wait for the peer's delayed ACK (about 40 ms) under Nagle's algorithm.
    """
    import socket as _socket

    infos = _socket.getaddrinfo(
        host, port, type=_socket.SOCK_STREAM, proto=_socket.IPPROTO_TCP, flags=_socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = _socket.socket(family, kind, proto)
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        from ivig.errors import InputError

        raise InputError("--port", port, "a free port on " + host, detail=exc.strerror) from None
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def build_app(settings: Settings, *, demo: bool = False) -> Any:
    """The service with the web application mounted (what every worker runs)."""
    from dataclasses import replace

    from ivig.service import create_app
    from ivig.web import mount
    from ivig.web.session import WebConfig

    app = create_app(settings)
    # the web application shares the process, the registry and the roles of the API
    mount(app, settings, config=replace(WebConfig.from_env(), demo_login=demo))
    return app


def worker_app() -> Any:
    """The app of one worker of ``ivig serve --workers N`` (settings from :data:`WORKER_ENV`)."""
    import json
    import os
    from dataclasses import replace

    from ivig.service.settings import Settings

    spec = json.loads(os.environ[WORKER_ENV])
    settings = Settings.from_env(
        public_base_url=spec["public_base_url"], database_url=spec["database_url"]
    )
    if not spec["cds_require_jwt"]:
        settings = replace(settings, cds_require_jwt=False)
    app = build_app(settings, demo=bool(spec["demo"]))
    _freeze_heap()
    return app


def _freeze_heap() -> None:
    from ivig.service import freeze_startup_heap

    freeze_startup_heap()


def _share_with_workers(settings: Settings, demo: bool) -> None:
    """Put what every worker must agree on into the environment the workers inherit."""
    import json
    import os
    import secrets

    os.environ[WORKER_ENV] = json.dumps(
        {
            "public_base_url": settings.public_base_url,
            "database_url": settings.database_url,
            "cds_require_jwt": settings.cds_require_jwt,
            "demo": demo,
        }
    )
    # one web-session key for all workers (a cookie signed by one is valid on the others)
    os.environ.setdefault("IVIG_WEB_SECRET", secrets.token_urlsafe(32))


def _banner(settings: Settings, tokens: dict[str, StaticToken], workers: int) -> None:
    from ivig.cli._common import kb

    knowledge = settings.knowledge or kb()
    out = sys.stderr
    print(f"ivig service on {settings.public_base_url} ({workers} worker(s))", file=out)
    print(f"  web application: {settings.public_base_url}/app", file=out)
    print(f"  OpenAPI: {settings.public_base_url}/docs", file=out)
    print(f"  CDS Hooks discovery: {settings.public_base_url}/cds-services", file=out)
    from ivig.registry.db import mask_url

    print(
        f"  registry: {mask_url(settings.database_url) if settings.database_url else 'none'}",
        file=out,
    )
    if workers > 1 and not settings.database_url:
        print("  WARNING: no registry: each worker keeps its own JWT replay cache", file=out)
    if not settings.cds_require_jwt:
        print("  WARNING: CDS Hooks calls are accepted without a JWT (demonstration)", file=out)
    for token, user in tokens.items():
        print(f"  demo token ({user.role}, {user.username}): {token}", file=out)
    print(f"knowledge {knowledge.version}", file=out)
    print(knowledge.disclaimer, file=out)


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    workers = int(args.workers)
    if workers < 1:
        from ivig.errors import InputError

        raise InputError("--workers", workers, "a whole number of at least 1")
    settings, tokens = build_settings(args)
    sock = listen_socket(args.host, args.port)
    _banner(settings, tokens, workers)
    common: dict[str, Any] = {
        "log_level": args.log_level,
        "access_log": bool(args.access_log),
        "timeout_keep_alive": 30,
    }
    if workers == 1:
        app = build_app(settings, demo=bool(args.demo))
        _freeze_heap()
        config = uvicorn.Config(app, **common)
        uvicorn.Server(config).run(sockets=[sock])
        return 0
    from uvicorn.supervisors import Multiprocess

    _share_with_workers(settings, bool(args.demo))
    config = uvicorn.Config("ivig.cli.serve:worker_app", factory=True, workers=workers, **common)
    Multiprocess(config, sockets=[sock]).run()
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the REST API, CDS Hooks and FHIR service")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (shared state lives in the registry database)",
    )
    p.add_argument("--public-url", help="URL clients use (the JWT audience); default from host")
    p.add_argument("--demo", action="store_true", help="fresh SQLite registry with demo data")
    p.add_argument("--no-registry", action="store_true", help="run without registry endpoints")
    p.add_argument("--log-level", default="info", choices=["warning", "info", "debug"])
    p.add_argument(
        "--access-log", action="store_true", help="uvicorn's access log (off by default)"
    )
    p.set_defaults(func=_run)
