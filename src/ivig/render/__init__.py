"""Renderers of the recommendation: terminal report, JSON, printable HTML order sheet.

Renderers only format the one result object; none recomputes anything.
"""
