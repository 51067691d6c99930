"""The Amazon SP-API emulator (see app.py)."""
