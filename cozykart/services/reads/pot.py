"""The Live Pot: the live race's prize pool, and the feed of recent sales and tips.

Read by the Watch dashboard, the OBS overlays and `GET /api/pot`. The pool is
the live race's pool account in the ledger (commissions in, refunds out), read
with its cached balance asserted against the postings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlmodel import col

from cozykart.db import ledger_repo
from cozykart.db.tables import Race, RaceEntry, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import RaceStatus
from cozykart.domain.ledger import TransactionKind, pool_code
from cozykart.domain.pot_goal import GoalProgress
from cozykart.services.reads.supporters import SupportersBoard, board_in
from cozykart.services.reads.watch import racer_avatar, racer_name

FEED_LENGTH_MAX = 12
REFUNDED, DISPUTED = "refunded", "disputed"
ANONYMOUS_FAN = (
    "A fan"  # a fan who chose no public name, asked to stay private, or whose payment was reversed
)
_REVERSAL_KINDS = (
    TransactionKind.REFUND_CLAWBACK,
    TransactionKind.DISPUTE_CLAWBACK,
    TransactionKind.DISPUTE_REINSTATED,
)


@dataclass(frozen=True)
class PotRacer:
    racer_id: int
    name: str
    avatar_url: str


@dataclass(frozen=True)
class PotRace:
    race_id: int
    name: str
    status: str
    started_at: datetime | None
    racers: tuple[PotRacer, ...]


@dataclass(frozen=True)
class FeedLine:
    payment_id: int
    kind: str  # sale | tip
    fan_name: str
    what: str  # the item, or the song
    message: str | None
    amount_cents: int
    pool_cents: int
    occurred_at: datetime
    # REFUNDED when a refund took some of it back, DISPUTED while a chargeback is open; else "".
    reversal: str = ""


@dataclass(frozen=True)
class LivePot:
    race: PotRace | None
    pot_cents: int
    currency: str
    feed: tuple[FeedLine, ...]
    # The top supporters of the race and the season (services/reads/supporters.py); not in `to_json`.
    supporters: SupportersBoard = field(default_factory=SupportersBoard)
    goal: GoalProgress | None = None  # the live race's pot goal, when it has one (its own or its season's)

    def to_json(self) -> dict:
        """The public shape of `GET /api/pot`: a fixed interface, field for field as below."""
        race = self.race
        return {
            "race": None
            if race is None
            else {
                "id": race.race_id,
                "name": race.name,
                "status": race.status,
                "started_at": race.started_at.isoformat() if race.started_at else None,
                "racers": [
                    {"id": racer.racer_id, "name": racer.name, "avatar_url": racer.avatar_url}
                    for racer in race.racers
                ],
            },
            "pot_cents": self.pot_cents,
            "currency": self.currency,
        }


def live_pot(*, uow: UnitOfWork, feed_length: int = FEED_LENGTH_MAX) -> LivePot:
    with uow:
        session = uow.session
        connection = session.connection()
        race = session.execute(select(Race).where(col(Race.status) == RaceStatus.LIVE)).scalars().first()
        pot_cents = 0
        pot_race = None
        if race is not None:
            # The cached balance: read on every push to every viewer, so not re-summed
            # here (reconciliation proves cached balances equal their postings).
            account = ledger_repo.account_table
            pot_cents = (
                connection.execute(
                    select(account.c.balance_cents).where(account.c.code == pool_code(race.id))
                ).scalar_one_or_none()
                or 0
            )
            racers = (
                session.execute(
                    select(Racer)
                    .join(RaceEntry, RaceEntry.racer_id == Racer.id)
                    .where(RaceEntry.race_id == race.id)
                    .order_by(RaceEntry.joined_at, RaceEntry.id)
                )
                .scalars()
                .all()
            )
            pot_race = PotRace(
                race_id=race.id,
                name=race.name,
                status=race.status,
                started_at=race.started_at,
                racers=tuple(PotRacer(r.id, racer_name(r), racer_avatar(r)) for r in racers),
            )
        payment = ledger_repo.payment_table
        rows = connection.execute(
            select(payment).order_by(payment.c.occurred_at.desc(), payment.c.id.desc()).limit(feed_length)
        ).all()
        reversals = payment_reversals(connection, [row.id for row in rows])
        feed = tuple(
            FeedLine(
                payment_id=row.id,
                kind=row.kind,
                # A refunded or disputed payment is never shown beside the fan who made it.
                fan_name=(None if row.id in reversals else row.fan_name) or ANONYMOUS_FAN,
                what=row.item,
                message=None if row.id in reversals else row.message,
                amount_cents=row.gross_cents,
                pool_cents=row.pool_cents,
                occurred_at=row.occurred_at,
                reversal=reversals.get(row.id, ""),
            )
            for row in rows
        )
        assert pot_cents >= 0, "a race pool never goes below zero"
        return LivePot(
            race=pot_race,
            pot_cents=pot_cents,
            currency=uow.base_settings.currency,
            feed=feed,
            supporters=board_in(uow, race),
            goal=goal_progress(uow, race, pot_cents) if race is not None else None,
        )


def goal_progress(uow: UnitOfWork, race: Race, pool_cents: int) -> GoalProgress | None:
    """The race's goal (its own, else its season's default) and whether it was reached; None without one.

    The rule is the repository's (`effective_goal_cents`, as the sale that reaches
    the goal uses); a goal cleared after it was reached is still shown, celebrated.
    """
    goals = uow.pot_goals
    goal_cents = goals.effective_goal_cents(race.id, race.season_id)
    reached = goals.reached(race.id)
    if goal_cents is None and reached is not None:
        goal_cents = reached[0]
    if goal_cents is None:
        return None
    reached_at = reached[1] if reached is not None else None
    return GoalProgress(race_id=race.id, goal_cents=goal_cents, pool_cents=pool_cents, reached_at=reached_at)


def payment_reversals(connection: Connection, payment_ids: Sequence[int]) -> dict[int, str]:
    """Which of these payments a refund took money back from, or an open chargeback holds."""
    if not payment_ids:
        return {}
    transaction = ledger_repo.transaction_table
    counts: dict[int, Counter] = defaultdict(Counter)
    rows: list[Any] = list(
        connection.execute(
            select(transaction.c.payment_id, transaction.c.kind, func.count())
            .where(transaction.c.payment_id.in_(payment_ids), transaction.c.kind.in_(_REVERSAL_KINDS))
            .group_by(transaction.c.payment_id, transaction.c.kind)
        )
    )
    for payment_id, kind, count in rows:
        counts[payment_id][kind] = count
    reversals = {}
    for payment_id, kinds in counts.items():
        if kinds[TransactionKind.REFUND_CLAWBACK]:
            reversals[payment_id] = REFUNDED
        elif kinds[TransactionKind.DISPUTE_CLAWBACK] > kinds[TransactionKind.DISPUTE_REINSTATED]:
            reversals[payment_id] = DISPUTED
    return reversals
