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

from sqlmodel import Session, select

from cozykart.db.tables import Race, RaceEntry, Racer, Season
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import DEFAULT_POINTS_TABLE, RACE_SIZE_MAX, RaceStatus, SeasonStatus
from cozykart.services import ledger
from cozykart.settings import Settings, load_settings

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


def seed_demo(
    *, uow: UnitOfWork, now: datetime | None = None, settings: Settings | None = None
) -> SeedReport:
    now = now or utc_now()
    settings = settings or load_settings()
    with uow:
        session = uow.session
        racers, racers_added = _ensure_racers(session, now)
        season, seasons_added = _ensure_season(session, now)
        races_added = _ensure_races(session, season, racers, now)
        payments_added = _ensure_payments(uow, season, racers, now, settings)
        uow.commit()
    return SeedReport(
        racers_added=racers_added,
        seasons_added=seasons_added,
        races_added=races_added,
        payments_added=payments_added,
    )


def _ensure_payments(
    uow: UnitOfWork, season: Season, racers: list[Racer], now: datetime, settings: Settings
) -> int:
    """Sales during the demo races and tips for the DJ, through the ledger like any webhook's.

    Each has a fixed key, so a second run is a replay that changes nothing.
    """
    races = uow.session.exec(
        select(Race).where(Race.season_id == season.id, Race.started_at.is_not(None)).order_by(Race.id)
    ).all()
    added = 0
    for race in races:
        for index, (item, fan_name, gross_cents, minutes) in enumerate(DEMO_SALES):
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
            receipt = ledger.record_tip(
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
            added += not receipt.replayed
    return added


def _ensure_racers(session: Session, now: datetime) -> tuple[list[Racer], int]:
    racers: list[Racer] = []
    added = 0
    for index, (username, display_name, mkt_name) in enumerate(DEMO_RACERS):
        discord_id = f"{DEMO_DISCORD_ID_PREFIX}{username}"
        racer = session.exec(select(Racer).where(Racer.discord_id == discord_id)).first()
        if racer is None:
            racer = Racer(
                discord_id=discord_id,
                username=username,
                display_name=display_name,
                mkt_name=mkt_name,
                avatar_url=f"/avatars/{username}.svg",
                is_host=username in DEMO_HOST_USERNAMES,
                is_dj=username == DEMO_DJ_USERNAME,
                created_at=now - timedelta(days=60) + timedelta(minutes=index),
            )
            session.add(racer)
            added += 1
        racers.append(racer)
    session.flush()
    return racers, added


def _ensure_season(session: Session, now: datetime) -> tuple[Season, int]:
    season = session.exec(select(Season).where(Season.name == DEMO_SEASON_NAME)).first()
    if season is not None:
        return season, 0
    active = session.exec(select(Season).where(Season.status == SeasonStatus.ACTIVE)).first()
    season = Season(
        name=DEMO_SEASON_NAME,
        starts_on=date(now.year, now.month, 1),
        ends_on=date(now.year, now.month, 1) + timedelta(days=90),
        sponsor_name="Koopa Kola",
        sponsor_logo_url="/sponsor/koopa-kola.svg",
        sponsor_url="https://example.org/koopa-kola",
        points_table=json.dumps({"default": list(DEFAULT_POINTS_TABLE)}),
        split_policy="even",
        # A deployment that already runs a season keeps it; the demo one waits.
        status=SeasonStatus.UPCOMING if active is not None else SeasonStatus.ACTIVE,
        activated_at=None if active is not None else now - timedelta(days=20),
    )
    session.add(season)
    session.flush()
    return season, 1


def _points_for(position: int) -> int:
    return DEFAULT_POINTS_TABLE[position - 1] if position <= len(DEFAULT_POINTS_TABLE) else 0


def _ensure_races(session: Session, season: Season, racers: list[Racer], now: datetime) -> int:
    existing = set(session.exec(select(Race.name).where(Race.season_id == season.id)).all())
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
        race = Race(
            season_id=season.id,
            name=track,
            host_racer_id=hosts[index % len(hosts)].id,
            status=RaceStatus.FINAL,
            created_at=started_at - timedelta(minutes=10),
            started_at=started_at,
            ended_at=started_at + DEMO_RACE_DURATION,
            finalized_at=started_at + DEMO_RACE_DURATION + timedelta(minutes=4),
        )
        session.add(race)
        session.flush()
        for position, racer in enumerate(finishing_order, start=1):
            is_dnf = racer is dnf_racer
            session.add(
                RaceEntry(
                    race_id=race.id,
                    racer_id=racer.id,
                    joined_at=race.created_at + timedelta(seconds=position),
                    reported_position=None if is_dnf else position,
                    reported_at=None if is_dnf else race.ended_at + timedelta(seconds=30 + position),
                    position=None if is_dnf else position,
                    dnf=is_dnf,
                    points=0 if is_dnf else _points_for(position),
                )
            )
        added += 1

    if DEMO_LIVE_RACE_NAME not in existing and _no_live_race(session):
        started_at = now - DEMO_LIVE_RACE_AGE
        race = Race(
            season_id=season.id,
            name=DEMO_LIVE_RACE_NAME,
            host_racer_id=hosts[0].id,
            status=RaceStatus.LIVE,
            created_at=started_at - timedelta(minutes=6),
            started_at=started_at,
        )
        session.add(race)
        session.flush()
        for order, racer in enumerate(draw.sample(racers, RACE_SIZE_MAX)):
            session.add(
                RaceEntry(
                    race_id=race.id, racer_id=racer.id, joined_at=race.created_at + timedelta(seconds=order)
                )
            )
        added += 1
    return added


def _no_live_race(session: Session) -> bool:
    return session.exec(select(Race.id).where(Race.status == RaceStatus.LIVE)).first() is None
