"""``ivig serve``: the REST API, CDS Hooks services and FHIR endpoints over HTTP (uvicorn).

The registry is the database of ``IVIG_DATABASE_URL`` (default: the SQLite file in the user's
data directory). ``--demo`` runs on a fresh embedded SQLite registry filled with demonstration
data, prints one API token per role and, unless CDS issuers are configured, accepts CDS Hooks
calls without a JWT: for a loopback demonstration only.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from ivig.service.settings import Settings, StaticToken

__all__ = ["add_parsers", "build_settings", "demo_tokens"]


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


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from ivig.service import create_app

    settings, tokens = build_settings(args)
    app = create_app(settings)
    from dataclasses import replace as _replace

    from ivig.web import mount
    from ivig.web.session import WebConfig

    # the web application shares the process, the registry and the roles of the API
    mount(app, settings, config=_replace(WebConfig.from_env(), demo_login=bool(args.demo)))
    knowledge = app.state.ivig.kb
    out = sys.stderr
    print(f"ivig service on {settings.public_base_url}", file=out)
    print(f"  web application: {settings.public_base_url}/app", file=out)
    print(f"  OpenAPI: {settings.public_base_url}/docs", file=out)
    print(f"  CDS Hooks discovery: {settings.public_base_url}/cds-services", file=out)
    print(f"  registry: {settings.database_url or 'none'}", file=out)
    if not settings.cds_require_jwt:
        print("  WARNING: CDS Hooks calls are accepted without a JWT (demonstration)", file=out)
    for token, user in tokens.items():
        print(f"  demo token ({user.role}, {user.username}): {token}", file=out)
    print(f"knowledge {knowledge.version}", file=out)
    print(knowledge.disclaimer, file=out)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the REST API, CDS Hooks and FHIR service")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--public-url", help="URL clients use (the JWT audience); default from host")
    p.add_argument("--demo", action="store_true", help="fresh SQLite registry with demo data")
    p.add_argument("--no-registry", action="store_true", help="run without registry endpoints")
    p.add_argument("--log-level", default="info", choices=["warning", "info", "debug"])
    p.set_defaults(func=_run)
