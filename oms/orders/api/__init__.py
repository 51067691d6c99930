"""Orders over HTTP: Litestar controllers, Pydantic schemas and the ship-instruction renderers."""
