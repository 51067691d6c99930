"""HTTP edge of repairs."""
