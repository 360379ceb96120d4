"""The routers of the service; :data:`ivig.service.app.ROUTERS` lists which the app includes."""

__all__: list[str] = []
