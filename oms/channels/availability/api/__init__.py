"""Channel availability over HTTP: Litestar controllers and Pydantic schemas."""
