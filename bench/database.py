"""The benchmark database: built by Alembic like production, reset with bulk SQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

import oms.schema
from oms.settings import PROJECT_ROOT


def migrate(url: str) -> None:
    """`alembic upgrade head`, the way production and tests/conftest.py build the schema."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def require_postgresql(url: str) -> None:
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit(f"benchmarks need PostgreSQL, got {make_url(url).get_backend_name()}")


def libpq_conninfo(url: str) -> str:
    """The SQLAlchemy URL as a libpq URI, for psycopg used directly."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def truncate_all(conn: Connection) -> None:
    """Every table of the schema emptied, ids restarted, in the caller's transaction."""
    tables = ", ".join(t.name for t in reversed(oms.schema.metadata.sorted_tables))
    conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def settle(engine: Engine, tables: list[str]) -> None:
    """Fresh statistics and a checkpoint, so every measurement starts from the same state.

    Without the checkpoint, whichever run happens to cross one pays for the full-page images.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ANALYZE {', '.join(tables)}"))
        conn.execute(text("CHECKPOINT"))


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SHOW server_version")).scalar_one())


def durability(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {
            name: str(conn.execute(text(f"SHOW {name}")).scalar_one())
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }
