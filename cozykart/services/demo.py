"""Demo data: a living league for a first run (`python -m cozykart seed-demo`).

Idempotent: every row has a natural key (a racer's Discord id, a season's name,
a race's name within its season), and a second run finds each one and adds
nothing. Race order is drawn from a fixed seed, so every run builds the same
league.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import (
    DEFAULT_POINTS_TABLE,
    RACE_SIZE_MAX,
    SPLIT_POLICY_DEFAULT,
    RaceStatus,
    SeasonStatus,
)
from cozykart.services import ledger

DEMO_DISCORD_ID_PREFIX = "demo-"
DEMO_SEASON_NAME = "Cozy Cup · Autumn 2026"
DEMO_RANDOM_SEED = 20261121
DEMO_FINISHED_RACE_COUNT = 8
DEMO_LIVE_RACE_NAME = "Rainbow Road Rumble"
DEMO_LIVE_RACE_AGE = timedelta(minutes=7)
DEMO_RACE_SPACING = timedelta(hours=5)
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
DEMO_TIPS: tuple[tuple[str, str, int, str], ...] = (
    ("Coconut Mall", "Theo", 500, "For the drift kings!"),
    ("Mushroom Gorge", "Ines", 300, "Turn it up"),
)


@dataclass(frozen=True)
class SeedReport:
    racers_added: int
    seasons_added: int
    races_added: int
    payments_added: int = 0

    def describe(self) -> str:
        if not (self.racers_added or self.seasons_added or self.races_added or self.payments_added):
            return "demo data already present; nothing added"
        return (
            f"demo data loaded: {self.racers_added} racers, {self.seasons_added} season, "
            f"{self.races_added} races, {self.payments_added} sales and tips"
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
    )


def _ensure_payments(uow: UnitOfWork, season, racers: list, now: datetime) -> int:
    """Sales during the demo races and tips for the DJ, through the ledger like any webhook's.

    Each has a fixed key, so a second run is a replay that changes nothing.
    """
    races = uow.seasons.started_races(season.id)
    added = 0
    for race in races:
        for index, (item, fan_name, gross_cents, minutes) in enumerate(DEMO_SALES):
            assert race.started_at is not None, "a started race"
            sold_at = race.started_at + timedelta(minutes=minutes)
            if (race.ended_at is not None and sold_at >= race.ended_at) or sold_at > now:
                continue
            receipt = ledger.record_sale(
                key=f"demo:race:{race.id}:sale:{index}",
                gross_cents=gross_cents,
                sold_at=sold_at,
                item=item,
                provider="demo",
                fan_name=fan_name,
                uow=uow,
                now=now,
            )
            added += not receipt.replayed
    dj = next((racer for racer in racers if racer.is_dj), None)
    if dj is not None:
        for index, (song, fan_name, tip_cents, message) in enumerate(DEMO_TIPS):
            tip = ledger.record_tip(
                key=f"demo:tip:{index}",
                dj_racer_id=dj.id,
                tip_cents=tip_cents,
                tipped_at=now - timedelta(minutes=30 - 10 * index),
                song=song,
                fan_name=fan_name,
                message=message,
                provider="demo",
                uow=uow,
                now=now,
            )
            added += not tip.replayed
    return added


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


def _ensure_season(uow: UnitOfWork, now: datetime) -> tuple[object, int]:
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
