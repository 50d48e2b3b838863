"""The money settings repository: the admins' changes to the money settings, appended, never rewritten."""

from __future__ import annotations

from sqlalchemy import and_, func, select

from cozykart.db.money_settings_tables import MoneySettingChange
from cozykart.db.repositories import Repository


def latest_changes_statement(*columns):
    """The newest change of each setting (`columns` of it, or the whole row)."""
    table = MoneySettingChange.__table__
    latest = (
        select(table.c.name, func.max(table.c.sequence).label("sequence")).group_by(table.c.name).subquery()
    )
    return select(*(columns or (table,))).join(
        latest, and_(table.c.name == latest.c.name, table.c.sequence == latest.c.sequence)
    )


# Built once: constructing the statement costs far more than running it (about 1.3 ms
# against 0.07 ms on SQLite, measured on a loaded machine), and every sale reads it.
_EFFECTIVE_VALUES = latest_changes_statement(
    MoneySettingChange.__table__.c.name, MoneySettingChange.__table__.c.new_value
)


class MoneySettingsRepository(Repository):
    def latest_values(self) -> dict[str, int]:
        """The newest value of each setting an admin changed: one query on the unique (name, sequence) index."""
        return {row.name: row.new_value for row in self.connection.execute(_EFFECTIVE_VALUES)}
