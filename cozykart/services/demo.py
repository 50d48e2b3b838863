"""Demo data: a living league for a first run (`python -m cozykart seed-demo`).

Idempotent at any later time: every row has a natural key (a racer's Discord
id, a season's name, a race's name within its season, a payment's or payout's
key), and every instant is fixed relative to what the first run stored (a sale's
minutes into its race, the live race's first minutes, the payouts days after the
first race), never to the clock of the run: a second run, now or a month later,
finds each one and adds nothing. Race order is drawn from a fixed seed, so every
run builds the same league.

The whole money loop is there to try: the season's first races are more than a
week old, so their winnings are past the hold (each sale recorded when it was
made, as its webhook would have been); then, through the payout services, one
racer's payout is waiting for an admin, one was paid and one was rejected, all
decided by the demo's admin (Sam, whom `scripts/demo` names in
COZYKART_ADMIN_DISCORD_IDS), so the ledger explains each and reconciles.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import CozyKartError
from cozykart.domain.league import (
    DEFAULT_POINTS_TABLE,
    RACE_SIZE_MAX,
    SPLIT_POLICY_DEFAULT,
    RaceStatus,
    SeasonStatus,
)
from cozykart.services import ledger, payouts

DEMO_DISCORD_ID_PREFIX = "demo-"
DEMO_SEASON_NAME = "Cozy Cup · Autumn 2026"
DEMO_RANDOM_SEED = 20261121
DEMO_FINISHED_RACE_COUNT = 8
DEMO_LIVE_RACE_NAME = "Rainbow Road Rumble"
DEMO_LIVE_RACE_AGE = timedelta(minutes=7)
DEMO_RACE_SPACING = timedelta(hours=36)  # eight finished races over the last twelve days
DEMO_RACE_DURATION = timedelta(minutes=18)

# (Discord username, display name, Mario Kart Tour name); avatars in assets/avatars/.
DEMO_RACERS: tuple[tuple[str, str, str], ...] = (
    ("shyguy_drift", "Sam", "ShyGuyDrift"),
    ("koopa_kid", "Kai", "KoopaKid77"),
    ("peach_blossom", "Priya", "PeachBlossom"),
    ("toadette_turbo", "Tess", "ToadetteTurbo"),
    ("yoshi_yolo", "Yusuf", "YoshiYOLO"),
    ("bowser_jr", "Ben", "BowserJrJr"),
    ("daisy_chain", "Dana", "DaisyChain"),
    ("lakitu_lap", "Leo", "LakituLap"),
    ("wario_wins", "Wren", "WarioWins"),
    ("rosalina_rx", "Rosa", "RosalinaRx"),
    ("dry_bones", "Dmitri", "DryBonesDash"),
    ("baby_mario", "Mia", "BabyMarioBoost"),
    ("kamek_kart", "Kenji", "KamekKart"),
    ("pauline_pop", "Paula", "PaulinePop"),
    ("birdo_blast", "Bo", "BirdoBlast"),
    ("donkey_drift", "Dee", "DonkeyDrift"),
)
DEMO_HOST_USERNAMES = ("shyguy_drift", "peach_blossom")
DEMO_DJ_USERNAME = "rosalina_rx"
DEMO_TRACKS = (
    "Mario Circuit Sprint",
    "Koopa Troopa Beach Cup",
    "Shy Guy Bazaar Dash",
    "Ninja Hideaway Heat",
    "Merry Mountain Mayhem",
    "Piranha Plant Cove Classic",
    "Paris Promenade Prix",
    "Vancouver Velocity",
)


# Merch sold during each demo race, and tips for the DJ: (item, fan, cents, minutes into the race).
DEMO_SALES: tuple[tuple[str, str, int, int], ...] = (
    ("Rainbow Road hoodie", "Marisol", 4500, 3),
    ("Cozy-Kart tee", "Jun", 2500, 9),
    ("Blue shell sticker pack", "Ola", 800, 14),
)
# The sponsor's team order in each of the season's first races: what makes those pots worth cashing out.
DEMO_TEAM_ORDER: tuple[str, str, int, int] = ("Koopa Kola team jerseys", "Koopa Kola", 40000, 5)
DEMO_TEAM_ORDER_RACES = 4
DEMO_TIPS: tuple[tuple[str, str, int, str], ...] = (
    ("Coconut Mall", "Theo", 500, "For the drift kings!"),
    ("Mushroom Gorge", "Ines", 300, "Turn it up"),
)


# The demo's payouts, asked for and decided this long after the season's first race started.
DEMO_PAYOUTS_AFTER = timedelta(days=12)
DEMO_ADMIN_USERNAME = "shyguy_drift"  # Sam: the admin scripts/demo names
# (racer, amount, what the admin did: "pending", "paid" or "rejected", the reference or the reason).
DEMO_PAYOUTS: tuple[tuple[str, int, str, str], ...] = (
    ("dry_bones", 2000, "pending", ""),
    ("pauline_pop", 2500, "paid", "PP-DEMO-0001"),
    ("donkey_drift", 2000, "rejected", "That PayPal address bounced: set a new destination and ask again."),
)


@dataclass(frozen=True)
class SeedReport:
    racers_added: int
    seasons_added: int
    races_added: int
    payments_added: int = 0
    payouts_added: int = 0

    def describe(self) -> str:
        added = (
            self.racers_added,
            self.seasons_added,
            self.races_added,
            self.payments_added,
            self.payouts_added,
        )
        if not any(added):
            return "demo data already present; nothing added"
        return (
            f"demo data loaded: {self.racers_added} racers, {self.seasons_added} season, "
            f"{self.races_added} races, {self.payments_added} sales and tips, {self.payouts_added} payouts"
        )


def seed_demo(*, uow: UnitOfWork, now: datetime | None = None) -> SeedReport:
    now = now or utc_now()
    with uow:
        racers, racers_added = _ensure_racers(uow, now)
        season, seasons_added = _ensure_season(uow, now)
        races_added = _ensure_races(uow, season, racers, now)
        payments_added = _ensure_payments(uow, season, racers, now)
        uow.commit()
    return SeedReport(
        racers_added=racers_added,
        seasons_added=seasons_added,
        races_added=races_added,
        payments_added=payments_added,
        payouts_added=_ensure_payouts(uow, season.id, now),
    )


def _as_demo_admin(uow: UnitOfWork) -> UnitOfWork:
    """A unit of work on the same database whose admins include the demo's admin.

    Only the seed uses it: the operator loading demo data decides the demo's
    payouts as the demo league's admin would. The app's own admins are whoever
    its COZYKART_ADMIN_DISCORD_IDS names; this changes nothing there.
    """
    base = uow.base_settings
    admins = base.admin_discord_ids | {DEMO_DISCORD_ID_PREFIX + DEMO_ADMIN_USERNAME}
    return UnitOfWork(
        uow.engine, handlers=uow.handlers, settings=dataclasses.replace(base, admin_discord_ids=admins)
    )


def _payouts_at(uow: UnitOfWork, season_id: int, now: datetime) -> datetime | None:
    """When the demo's payouts were asked for and decided: days after the first race, never after now."""
    with uow:
        first = next((r for r in uow.seasons.started_races(season_id) if r.name == DEMO_TRACKS[0]), None)
        started_at = first.started_at if first is not None else None
    if started_at is None or started_at + DEMO_PAYOUTS_AFTER > now:
        return None
    return started_at + DEMO_PAYOUTS_AFTER


def _ensure_payouts(uow: UnitOfWork, season_id: int, now: datetime) -> int:
    """The demo's payouts, each through the payout services with a fixed key: a re-run replays them."""
    at = _payouts_at(uow, season_id, now)
    if at is None:
        return 0
    admin_uow = _as_demo_admin(uow)
    with admin_uow:
        admin = admin_uow.league.racer_by_discord_id(DEMO_DISCORD_ID_PREFIX + DEMO_ADMIN_USERNAME)
        admin_id = admin.id if admin is not None else None
        racers = {r.username: r.id for r in map(admin_uow.league.racer_by_discord_id, _demo_ids()) if r}
    if admin_id is None:
        return 0
    added = 0
    for index, (username, cents, decision, words) in enumerate(DEMO_PAYOUTS):
        key = f"demo:payout:{index}"
        try:
            with admin_uow:
                is_new = admin_uow.payouts.by_key(key) is None
            payout_id = payouts.request_payout(racers[username], cents, key=key, uow=admin_uow, now=at)
            when = at + timedelta(hours=2 + index)
            if decision == "paid":
                payouts.pay_payout(
                    admin_id, payout_id, method="paypal", reference=words, uow=admin_uow, now=when
                )
            elif decision == "rejected":
                payouts.reject_payout(admin_id, payout_id, reason=words, uow=admin_uow, now=when)
        except CozyKartError:
            continue  # settings that refuse it (a higher threshold, a longer hold): that payout is left out
        added += is_new
    return added


def _demo_ids() -> list[str]:
    return [DEMO_DISCORD_ID_PREFIX + username for username, _, _ in DEMO_RACERS]


def _ensure_payments(uow: UnitOfWork, season, racers: list, now: datetime) -> int:
    """Sales during the demo races and tips for the DJ, through the ledger like any webhook's.

    Each has a fixed key, so a second run is a replay that changes nothing.
    """
    races = uow.seasons.started_races(season.id)
    added = 0
    team_order_races = set(DEMO_TRACKS[:DEMO_TEAM_ORDER_RACES])
    for race in races:
        sales = [*DEMO_SALES, DEMO_TEAM_ORDER] if race.name in team_order_races else list(DEMO_SALES)
        for index, (item, fan_name, gross_cents, minutes) in enumerate(sales):
            assert race.started_at is not None, "a started race"
            sold_at = race.started_at + timedelta(minutes=minutes)
            if not _sold_in_demo(race, sold_at, now):
                continue
            receipt = ledger.record_sale(
                key=f"demo:race:{race.id}:sale:{index}",
                gross_cents=gross_cents,
                sold_at=sold_at,
                item=item,
                provider="demo",
                fan_name=fan_name,
                uow=uow,
                now=sold_at,  # recorded when it sold, as its webhook would have been: the hold runs from then
            )
            added += not receipt.replayed
    dj = next((racer for racer in racers if racer.is_dj), None)
    live = next((race for race in races if race.name == DEMO_LIVE_RACE_NAME), None)
    tips_base = live.started_at if live is not None and live.started_at is not None else now
    if dj is not None:
        for index, (song, fan_name, tip_cents, message) in enumerate(DEMO_TIPS):
            tipped_at = min(tips_base - timedelta(minutes=23 - 10 * index), now)
            tip = ledger.record_tip(
                key=f"demo:tip:{index}",
                dj_racer_id=dj.id,
                tip_cents=tip_cents,
                tipped_at=tipped_at,
                song=song,
                fan_name=fan_name,
                message=message,
                provider="demo",
                uow=uow,
                now=tipped_at,
            )
            added += not tip.replayed
    return added


def _sold_in_demo(race, sold_at: datetime, now: datetime) -> bool:
    """Whether a demo sale belongs to the demo: within its race and, in the live race, its first minutes.

    The live race's sales stop where the demo began it (DEMO_LIVE_RACE_AGE in), whatever
    the time of a later run: a re-run never adds a sale "made" while no one watched.
    """
    live_demo_race = race.name == DEMO_LIVE_RACE_NAME and race.started_at is not None
    if live_demo_race and sold_at > race.started_at + DEMO_LIVE_RACE_AGE:
        return False
    return (race.ended_at is None or sold_at < race.ended_at) and sold_at <= now


def _ensure_racers(uow: UnitOfWork, now: datetime) -> tuple[list, int]:
    racers = []
    added = 0
    for index, (username, display_name, mkt_name) in enumerate(DEMO_RACERS):
        discord_id = f"{DEMO_DISCORD_ID_PREFIX}{username}"
        racer = uow.league.racer_by_discord_id(discord_id)
        if racer is None:
            racer = uow.seasons.add_demo_racer(
                discord_id=discord_id,
                username=username,
                display_name=display_name,
                mkt_name=mkt_name,
                avatar_url=f"/avatars/{username}.svg",
                is_host=username in DEMO_HOST_USERNAMES,
                is_dj=username == DEMO_DJ_USERNAME,
                created_at=now - timedelta(days=60) + timedelta(minutes=index),
            )
            added += 1
        racers.append(racer)
    uow.seasons.flush()
    return racers, added


def _ensure_season(uow: UnitOfWork, now: datetime) -> tuple[Any, int]:
    season = uow.seasons.season_named(DEMO_SEASON_NAME)
    if season is not None:
        return season, 0
    active = uow.seasons.active_season()
    season = uow.seasons.add_demo_season(
        name=DEMO_SEASON_NAME,
        starts_on=date(now.year, now.month, 1),
        ends_on=date(now.year, now.month, 1) + timedelta(days=90),
        sponsor_name="Koopa Kola",
        sponsor_logo_url="/sponsor/koopa-kola.svg",
        sponsor_url="https://example.org/koopa-kola",
        points_table=json.dumps({"default": list(DEFAULT_POINTS_TABLE)}),
        split_policy=SPLIT_POLICY_DEFAULT,
        # A deployment that already runs a season keeps it; the demo one waits.
        status=SeasonStatus.UPCOMING if active is not None else SeasonStatus.ACTIVE,
        activated_at=None if active is not None else now - timedelta(days=20),
    )
    return season, 1


def _points_for(position: int) -> int:
    return DEFAULT_POINTS_TABLE[position - 1] if position <= len(DEFAULT_POINTS_TABLE) else 0


def _ensure_races(uow: UnitOfWork, season, racers: list, now: datetime) -> int:
    existing = uow.seasons.race_names(season.id)
    draw = random.Random(DEMO_RANDOM_SEED)
    hosts = [racer for racer in racers if racer.is_host]
    added = 0
    first_start = now - DEMO_RACE_SPACING * (DEMO_FINISHED_RACE_COUNT + 1)
    for index, track in enumerate(DEMO_TRACKS[:DEMO_FINISHED_RACE_COUNT]):
        field = draw.sample(racers, RACE_SIZE_MAX)
        finishing_order = draw.sample(field, len(field))
        dnf_racer = finishing_order[-1] if draw.random() < 0.25 else None
        if track in existing:
            continue
        started_at = first_start + DEMO_RACE_SPACING * index
        race = uow.seasons.add_demo_race(
            season_id=season.id,
            name=track,
            host_racer_id=hosts[index % len(hosts)].id,
            status=RaceStatus.FINAL,
            created_at=started_at - timedelta(minutes=10),
            started_at=started_at,
            ended_at=started_at + DEMO_RACE_DURATION,
            finalized_at=started_at + DEMO_RACE_DURATION + timedelta(minutes=4),
        )
        for position, racer in enumerate(finishing_order, start=1):
            is_dnf = racer is dnf_racer
            uow.seasons.add_demo_entry(
                race_id=race.id,
                racer_id=racer.id,
                joined_at=race.created_at + timedelta(seconds=position),
                reported_position=None if is_dnf else position,
                reported_at=None
                if is_dnf
                else started_at + DEMO_RACE_DURATION + timedelta(seconds=30 + position),
                position=None if is_dnf else position,
                dnf=is_dnf,
                points=0 if is_dnf else _points_for(position),
            )
        added += 1

    if DEMO_LIVE_RACE_NAME not in existing and uow.seasons.no_live_race():
        started_at = now - DEMO_LIVE_RACE_AGE
        race = uow.seasons.add_demo_race(
            season_id=season.id,
            name=DEMO_LIVE_RACE_NAME,
            host_racer_id=hosts[0].id,
            status=RaceStatus.LIVE,
            created_at=started_at - timedelta(minutes=6),
            started_at=started_at,
        )
        for order, racer in enumerate(draw.sample(racers, RACE_SIZE_MAX)):
            uow.seasons.add_demo_entry(
                race_id=race.id, racer_id=racer.id, joined_at=race.created_at + timedelta(seconds=order)
            )
        added += 1
    return added
