"""CDS Hooks 2.0: discovery, the immunoglobulin order services, cards, data gathering."""

__all__: list[str] = []
