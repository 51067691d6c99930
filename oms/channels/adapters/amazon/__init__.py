"""The Amazon SP-API adapter (see gateway.py)."""
