"""The `oms` command: serve, worker, database migrations, API keys, stock files, repairs, demo
data.

Every command reads `Settings()` (OMS_* environment variables, config/default.toml) and wires
the implementations itself. A refused command (a `DomainError`) prints one line naming the
field and exits with 1; a usage error exits with 2.
"""

from __future__ import annotations

# Importing the command modules registers their commands on `app`.
from oms.cli import channels, demo, operations, pii, repairs, resale, returns, rules, stock, sync
from oms.cli.common import app

__all__ = [
    "app",
    "channels",
    "demo",
    "main",
    "operations",
    "pii",
    "repairs",
    "resale",
    "returns",
    "rules",
    "stock",
    "sync",
]


def main() -> None:
    app()
