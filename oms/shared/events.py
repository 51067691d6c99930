"""Domain events: facts written to the outbox in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """`partition_key` orders delivery: events with the same key are published in order."""

    name: str
    partition_key: str
    payload: dict[str, Any] = field(default_factory=dict)
