"""Application layer: one function per use case (issue 13; built on main)."""
