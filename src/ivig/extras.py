"""Which optional extra of the ``ivig`` distribution provides a library an adapter imports.

The core (``pip install ivig``) runs the knowledge base, the computation and the command line;
each adapter's libraries come with an extra (``pyproject.toml``). When a command needs one that is
not installed, :func:`missing_extra` turns the ``ModuleNotFoundError`` into an error that says what
to install. ``tests/knowledge/test_core_dependencies.py`` checks this table against
``pyproject.toml``.
"""

from __future__ import annotations

from ivig.errors import IvigError

__all__ = ["EXTRA_OF_MODULE", "MissingExtraError", "missing_extra"]

#: top-level import name -> the extra that installs it
EXTRA_OF_MODULE: dict[str, str] = {
    "fastapi": "service",
    "fastapi_offline": "service",
    "starlette": "service",
    "uvicorn": "service",
    "httpx": "service",
    "jwt": "service",
    "multipart": "service",
    "ucumvert": "service",
    "orjson": "service",
    "jinja2": "web",
    "sqlalchemy": "registry",
    "alembic": "registry",
    "psycopg": "registry",
    "matplotlib": "plot",
}


class MissingExtraError(IvigError):
    """A command needs a library of an extra that is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        self.module, self.extra = module, extra
        super().__init__(
            f"this command needs {module!r}, which comes with the {extra!r} extra: "
            f"pip install 'ivig[{extra}]' (or 'ivig[all]')"
        )


def missing_extra(exc: ModuleNotFoundError) -> MissingExtraError | None:
    """The clear error for ``exc`` if an extra provides the missing module, else ``None``."""
    top = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    return MissingExtraError(top, extra) if extra else None
