"""What ruling on a race's results will do, before it is done: a dry run of the real services.

A host (or an admin) about to confirm the reports or set the whole table sees
who has not reported, each racer's place and points, and what each racer's
wallet gets of the pot. Each preview runs the very service that acts
(`league.confirm_results`, `league.set_results`, `league.fix_results`) and the
ledger's handlers (the pool split by the season's policy, or the correction)
inside this function's own transaction, reads the cents they moved, and leaves
without committing: the transaction is rolled back, so nothing changes and the
preview cannot disagree with the real thing. The services' own checks (who may
rule, a valid table) refuse exactly as they would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cozykart.db.uow import UnitOfWork
from cozykart.services import league
from cozykart.services.ledger import distribution_key
from cozykart.services.reads.league_views import EntryView, RaceView
from cozykart.services.reads.pot import live_pot


@dataclass(frozen=True)
class PlacePreview:
    racer_id: int
    name: str
    place_words: str  # "P1" or "DNF"
    points: int
    share_cents: int  # what the racer's wallet gets (or, for a correction, gains: negative gives back)
    reported: bool


@dataclass(frozen=True)
class ResultsPreview:
    race_id: int
    race_name: str
    missing: tuple[str, ...]  # the racers who have not reported (recorded DNF on a confirmation)
    places: tuple[PlacePreview, ...]  # in finishing order, DNFs last
    pot_cents: int  # what the racers' wallets get in all (for a correction: what they hold after it)
    split_policy: str


def placing_words(entry: EntryView) -> str:
    return "DNF" if entry.dnf or entry.position is None else f"P{entry.position}"


def _places(after: RaceView, before: RaceView, cents: Mapping[int, int]) -> tuple[PlacePreview, ...]:
    places = [
        PlacePreview(
            racer_id=entry.racer.racer_id,
            name=entry.racer.name,
            place_words=placing_words(entry),
            points=entry.points or 0,
            share_cents=cents.get(entry.racer.racer_id, 0),
            reported=bool((old := before.entry_of(entry.racer.racer_id)) and old.has_reported),
        )
        for entry in after.entries
    ]
    return tuple(
        sorted(places, key=lambda place: (place.place_words == "DNF", place.place_words, place.name))
    )


def _dry_run(race_id: int, act: Callable[[], RaceView], uow: UnitOfWork) -> ResultsPreview:
    """Run `act` (a league service joining this transaction) and its ledger handlers; roll it all back."""
    with uow:
        before = league.get_race(race_id, uow=uow)
        after = act()
        uow.handle_events()  # the pool is split (or corrected) now, inside this transaction
        shares_cents = uow.ledger.wallet_cents_of_transaction(distribution_key(race_id))
        outcome = uow.league.race_outcome(race_id)
        assert outcome is not None
        preview = ResultsPreview(
            race_id=race_id,
            race_name=before.name,
            missing=tuple(entry.racer.name for entry in before.entries if not entry.has_reported),
            places=_places(after, before, shares_cents),
            pot_cents=sum(shares_cents.values()),
            split_policy=outcome.split.policy,
        )
        # Leaving the block without commit rolls everything back.
    return preview


def preview_confirm(race_id: int, *, actor_id: int, uow: UnitOfWork) -> ResultsPreview:
    """What `league.confirm_results` would make of the reports as they stand (silent racers DNF)."""
    return _dry_run(
        race_id,
        lambda: league.confirm_results(race_id, actor_id=actor_id, uow=uow, missing_acknowledged=True),
        uow,
    )


def preview_set_results(
    race_id: int, table: Mapping[int, int | str], *, actor_id: int, uow: UnitOfWork
) -> ResultsPreview:
    """What `league.set_results` would make of this whole table."""
    return _dry_run(race_id, lambda: league.set_results(race_id, table, actor_id=actor_id, uow=uow), uow)


@dataclass(frozen=True)
class EndPreview:
    race_id: int
    race_name: str
    racer_names: tuple[str, ...]
    pot_cents: int  # the Live Pot the race's sales fed so far
    becomes_final: bool  # every racer has reported a valid order: ending makes it final at once


def preview_end(race_id: int, *, actor_id: int, uow: UnitOfWork) -> EndPreview:
    """What `league.end_race` would do: its own checks, run and rolled back, and the pot so far."""
    with uow:
        pot = live_pot(uow=uow, feed_length=0)
        after = league.end_race(race_id, actor_id=actor_id, uow=uow)
        # Leaving the block without commit rolls the end back.
    pot_cents = pot.pot_cents if pot.race is not None and pot.race.race_id == race_id else 0
    return EndPreview(
        race_id=race_id,
        race_name=after.name,
        racer_names=tuple(entry.racer.name for entry in after.entries),
        pot_cents=pot_cents,
        becomes_final=after.is_final,
    )
