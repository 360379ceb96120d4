"""Alembic migrations of the registry (``ivig db upgrade``)."""
