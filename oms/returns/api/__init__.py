"""HTTP edge of returns: routes and their Pydantic bodies."""
