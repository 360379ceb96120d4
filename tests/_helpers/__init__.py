"""Helpers shared by several test modules (imported as ``tests._helpers.<area>``, never from a
conftest)."""
