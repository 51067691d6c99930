"""Inventory over HTTP: Litestar controllers and Pydantic schemas."""
