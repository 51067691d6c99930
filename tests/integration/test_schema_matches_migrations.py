"""The tables the code declares (oms/**/orm.py) are the tables the migrations make: a column
or index added to one and not the other fails here, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import oms.schema


def test_the_migrated_schema_is_the_declared_one(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": False, "compare_server_default": False}
        )
        differences = compare_metadata(context, oms.schema.metadata)
    assert differences == []
