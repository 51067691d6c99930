"""HTTP API of resale units and their pricing."""
