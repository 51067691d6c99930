"""What every part of the channels' storage shares: the session, its dialect, keyed rule rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from oms.channels.availability.repository.published_store import SqlPublished
from oms.channels.availability.repository.queue_store import SqlPublicationQueue


class SqlChannelsBase(SqlPublished, SqlPublicationQueue):
    """One session (one transaction); its parts add the tables they own."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def _upsert(self, table: Any, values: dict[str, Any], keys: list[str], changed: str) -> None:
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(table).values(**values)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=keys, set_={changed: getattr(statement.excluded, changed)}
            )
        )

    def _rule_value(self, table: Any, keys: dict[str, Any], column: str) -> Any:
        """The value of one keyed rule row, or None when the rule is not set."""
        return self.session.execute(
            select(table.c[column]).where(*(table.c[k] == v for k, v in keys.items()))
        ).scalar_one_or_none()

    def _set_rule_value(
        self, table: Any, keys: dict[str, Any], column: str, value: Any | None
    ) -> None:
        """Set one keyed rule row; None removes it."""
        if value is None:
            self.session.execute(delete(table).where(*(table.c[k] == v for k, v in keys.items())))
            return
        self._upsert(table, {**keys, column: value}, list(keys), column)
