"""API keys and roles. Keys are shown once and stored as SHA-256 hashes.

The keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force
the way there is with a password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Integer, String, Table, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from oms.db import UtcDateTime, metadata
from oms.shared.clock import utcnow
from oms.shared.errors import InvalidInput
from oms.sqlite import reading

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

KEY_PREFIX = "oms_"


class Role(StrEnum):
    ADMIN = "admin"
    WAREHOUSE = "warehouse"
    CHANNEL_SYNC = "channel_sync"
    CUSTOMER_SERVICE = "customer_service"


INVENTORY_WRITERS = frozenset({Role.ADMIN, Role.WAREHOUSE})
ALL_ROLES = frozenset(Role)


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    key_id: int | None = None  # None: the bootstrap admin key

    @property
    def client(self) -> str:
        """Who sent the request, unique per API key (names need not be): what idempotency
        records are bound to."""
        return "bootstrap-admin" if self.key_id is None else f"api-key:{self.key_id}"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: int
    name: str
    role: Role
    key: str  # shown once, never stored
    created_at: datetime


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"role must be one of {roles}, got {value!r}", field="role") from None


def create_api_key(factory: sessionmaker[Session], name: str, role: str) -> IssuedKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name must be 1-100 characters", field="name")
    parsed = parse_role(role)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    with factory.begin() as session:
        new_id = session.execute(
            insert(api_keys)
            .values(
                name=name,
                role=parsed.value,
                prefix=key[:10],
                key_hash=hash_key(key),
                created_at=now,
            )
            .returning(api_keys.c.id)
        ).scalar_one()
    return IssuedKey(new_id, name, parsed, key, now)


def revoke_api_key(factory: sessionmaker[Session], key_id: int) -> bool:
    with factory.begin() as session:
        result = session.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def bootstrap_admin(presented: str, bootstrap_admin_key: str) -> Principal | None:
    """The bootstrap admin, if that is its key: no database needed to tell."""
    if bootstrap_admin_key and hmac.compare_digest(presented, bootstrap_admin_key):
        return Principal("bootstrap-admin", Role.ADMIN)
    return None


def authenticate(
    factory: sessionmaker[Session], presented: str, bootstrap_admin_key: str
) -> Principal | None:
    if (admin := bootstrap_admin(presented, bootstrap_admin_key)) is not None:
        return admin
    if not presented.startswith(KEY_PREFIX):
        return None
    # Every request looks its key up: it must never wait for a writer (SQLite).
    with reading(), factory() as session:
        row = session.execute(
            select(api_keys.c.id, api_keys.c.name, api_keys.c.role).where(
                api_keys.c.key_hash == hash_key(presented), api_keys.c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        return None
    return Principal(row.name, Role(row.role), row.id)
