"""The registry and stewardship adapter (SQLAlchemy, Alembic; SQLite or PostgreSQL).

Public entry points: :mod:`ivig.registry.api` (workflow, queries, reports, audit),
:mod:`ivig.registry.db` (engine, sessions, migrations) and :mod:`ivig.registry.batch_audit`
(``ivig audit ORDERS.csv``; no database). ``ivig.core`` never imports this package. Importing
the package itself is cheap: submodules load the database layer only when used.
"""

__all__: list[str] = []
