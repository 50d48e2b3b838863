"""The Live Pot: the live race's prize pool, and the feed of recent sales and tips.

Read by the Watch dashboard, the OBS overlays and `GET /api/pot`. The pool is
the live race's pool account in the ledger (commissions in, refunds out), read
with its cached balance asserted against the postings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from cozykart.db import ledger_repo
from cozykart.db.tables import Race, RaceEntry, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.domain.ledger import pool_code
from cozykart.services.watch import racer_avatar, racer_name
from cozykart.settings import Settings, load_settings

FEED_LENGTH_MAX = 12


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


@dataclass(frozen=True)
class LivePot:
    race: PotRace | None
    pot_cents: int
    currency: str
    feed: tuple[FeedLine, ...]

    def to_json(self) -> dict:
        """The public shape of `GET /api/pot` (shared/SPEC.md)."""
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


def live_pot(*, uow: UnitOfWork, settings: Settings | None = None, feed_length: int = FEED_LENGTH_MAX) -> LivePot:
    settings = settings or load_settings()
    with uow:
        session = uow.session
        connection = session.connection()
        race = session.execute(select(Race).where(Race.status == "live")).scalars().first()
        pot_cents = 0
        pot_race = None
        if race is not None:
            # The cached balance: read on every push to every viewer, so not re-summed
            # here (reconciliation proves cached balances equal their postings).
            account = ledger_repo.account_table
            pot_cents = connection.execute(
                select(account.c.balance_cents).where(account.c.code == pool_code(race.id))
            ).scalar_one_or_none() or 0
            racers = session.execute(
                select(Racer)
                .join(RaceEntry, RaceEntry.racer_id == Racer.id)
                .where(RaceEntry.race_id == race.id)
                .order_by(RaceEntry.joined_at, RaceEntry.id)
            ).scalars().all()
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
        feed = tuple(
            FeedLine(
                payment_id=row.id,
                kind=row.kind,
                fan_name=row.fan_name or "A fan",
                what=row.item,
                message=row.message,
                amount_cents=row.gross_cents,
                pool_cents=row.pool_cents,
                occurred_at=row.occurred_at,
            )
            for row in rows
        )
        assert pot_cents >= 0, "a race pool never goes below zero"
        return LivePot(race=pot_race, pot_cents=pot_cents, currency=settings.currency, feed=feed)
