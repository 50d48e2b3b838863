"""Announcements: what the league and the ledger tell Discord, queued in their own transaction.

Each handler here is an in-transaction event handler (`services/handlers.py`):
it runs inside the transaction that made the change (after the ledger's own
handlers), gathers names and amounts, and records one message in the outbox. If
the change rolls back, so does its announcement.
"""

from __future__ import annotations

from collections.abc import Iterable

from cozykart.db.uow import UnitOfWork
from cozykart.domain import discord_messages as say
from cozykart.domain.events import RaceFinalized, RaceStarted, ResultsCorrected, SeasonCompleted
from cozykart.domain.ledger import PayoutPaid, TipRecorded
from cozykart.domain.pot_goal import PotGoalReached
from cozykart.services import outbox
from cozykart.services.ledger import distribution_key


def _people(uow: UnitOfWork, racer_ids: Iterable[int]) -> dict[int, say.Person]:
    rows = uow.league.racers(racer_ids)
    return {racer.id: say.Person(racer.mkt_name or racer.display_name, racer.discord_id) for racer in rows}


def _person(uow: UnitOfWork, racer_id: int) -> say.Person:
    person = _people(uow, [racer_id]).get(racer_id)
    assert person is not None, f"racer {racer_id} of an event exists"
    return person


def on_race_started(event: RaceStarted, uow: UnitOfWork) -> None:
    race = uow.league.race(event.race_id)
    assert race is not None
    season = uow.seasons.season(event.season_id) if event.season_id else None
    people = _people(uow, [*event.racer_ids, race.host_racer_id])
    message = say.race_started(
        race_name=event.name,
        season_name=season.name if season else None,
        host=people[race.host_racer_id],
        roster=[people[racer_id] for racer_id in event.racer_ids],
        watch_url=uow.base_settings.stream_embed_url,
    )
    outbox.record(uow, dedupe_key=f"race:{event.race_id}:started", kind="race_started", message=message)


def _shares_cents(uow: UnitOfWork, race_id: int) -> dict[int, int]:
    """What each racer's wallet got from the race's pool distribution (none when the pot was empty)."""
    return uow.ledger.wallet_cents_of_transaction(distribution_key(race_id))


# The race's public receipt, the page `ui/routes.race_path` names (a unit test holds them equal).
RACE_RECEIPT_PATH = "/races/{race_id}"


def race_receipt_url(site_url: str | None, race_id: int) -> str | None:
    """The receipt's absolute address, when the site's address is set (COZYKART_SITE_URL)."""
    return f"{site_url}{RACE_RECEIPT_PATH.format(race_id=race_id)}" if site_url else None


def on_race_finalized(event: RaceFinalized, uow: UnitOfWork) -> None:
    outcome = event.outcome
    season = uow.seasons.season(outcome.season_id) if outcome.season_id else None
    people = _people(uow, [result.racer_id for result in outcome.results])
    shares_cents = _shares_cents(uow, outcome.race_id)
    finishes = [
        say.Finish(
            people[result.racer_id],
            None if result.dnf else result.position,
            result.points,
            shares_cents.get(result.racer_id, 0),
        )
        for result in outcome.results
    ]
    message = say.race_results(
        race_name=outcome.name,
        season_name=season.name if season else None,
        finishes=finishes,
        pot_cents=sum(shares_cents.values()),
        currency=uow.base_settings.currency,
        receipt_url=race_receipt_url(uow.base_settings.site_url, outcome.race_id),
    )
    outbox.record(uow, dedupe_key=f"race:{outcome.race_id}:results", kind="race_results", message=message)


def on_results_corrected(event: ResultsCorrected, uow: UnitOfWork) -> None:
    """An admin set a final race's results again: the corrected table and what each racer now holds.

    Runs after the ledger's correction in the same transaction, so the shares are the corrected ones.
    """
    outcome = event.outcome
    season = uow.seasons.season(outcome.season_id) if outcome.season_id else None
    people = _people(uow, [result.racer_id for result in outcome.results])
    held_cents: dict[int, int] = {}
    for row in uow.ledger.race_wallet_holdings(outcome.race_id):
        held_cents[row.racer_id] = held_cents.get(row.racer_id, 0) + row.net_cents
    finishes = [
        say.Finish(
            people[result.racer_id],
            None if result.dnf else result.position,
            result.points,
            held_cents.get(result.racer_id, 0),
        )
        for result in outcome.results
    ]
    message = say.race_results_corrected(
        race_name=outcome.name,
        season_name=season.name if season else None,
        finishes=finishes,
        pot_cents=sum(held_cents.values()),
        reason=event.reason,
        currency=uow.base_settings.currency,
    )
    fix_words = "-".join(str(fix_id) for fix_id in sorted(event.fix_ids)) or event.corrected_at.isoformat()
    outbox.record(
        uow,
        dedupe_key=f"race:{outcome.race_id}:correction:{fix_words}",
        kind="race_results_corrected",
        message=message,
    )


def on_tip_recorded(event: TipRecorded, uow: UnitOfWork) -> None:
    message = say.dj_tip(
        dj=_person(uow, event.dj_racer_id),
        fan_name=event.fan_name,
        tip_cents=event.tip_cents,
        dj_cents=event.dj_cents,
        song=event.song,
        note=event.message,
        currency=uow.base_settings.currency,
    )
    outbox.record(uow, dedupe_key=f"tip:{event.payment_id}", kind="dj_tip", message=message)


def on_pot_goal_reached(event: PotGoalReached, uow: UnitOfWork) -> None:
    message = say.pot_goal_reached(
        race_name=event.race_name,
        goal_cents=event.goal_cents,
        pool_cents=event.pool_cents,
        currency=uow.base_settings.currency,
    )
    outbox.record(uow, dedupe_key=f"race:{event.race_id}:pot_goal", kind="pot_goal", message=message)


def on_payout_paid(event: PayoutPaid, uow: UnitOfWork) -> None:
    message = say.cash_out(
        racer=_person(uow, event.racer_id),
        amount_cents=event.amount_cents,
        currency=uow.base_settings.currency,
    )
    outbox.record(uow, dedupe_key=f"payout:{event.payout_id}:paid", kind="cash_out", message=message)


def on_season_completed(event: SeasonCompleted, uow: UnitOfWork) -> None:
    season = uow.seasons.season(event.season_id)
    assert season is not None
    champion = _person(uow, event.champion_racer_id) if event.champion_racer_id else None
    standing = None
    if event.champion_racer_id:
        standing = uow.seasons.standing(event.season_id, event.champion_racer_id)
    message = say.season_champion(
        season_name=event.name,
        champion=champion,
        points=standing.points if standing else None,
        wins=standing.wins if standing else None,
        sponsor_name=season.sponsor_name,
        sponsor_url=season.sponsor_url,
    )
    outbox.record(
        uow, dedupe_key=f"season:{event.season_id}:champion", kind="season_champion", message=message
    )
