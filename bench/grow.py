"""Grow a database to N times a league's data, fast, without breaking a ledger invariant.

    python bench/grow.py --db-url URL --factor 10 [--json]

At factor 1 the league has 500 racers, one active season of 2,500 final
8-racer races (20,000 results) and 2,000 payments from named fans (sales
attributed to a race, tips in and between race windows) booked as about
10,000 postings; factor 100 is 50,000 racers, 2M results, 200,000 payments and
about 1M postings. `grow(db_url, factor)` is what other benchmarks call (the
webhook benchmark measures settled/s on a grown database): it adds to whatever
the database already holds, and may be called more than once.

Why bulk SQL: the services would take hours at 100x. The parents (racers,
races, payments) go in as multi-row inserts from Python, where their instants
are computed; the children (results, transactions, postings, wallets) are
`INSERT ... SELECT` from their parents, so most rows never pass through Python.
Every invariant reconcile checks still holds by construction, and the caller's
test runs reconcile on the grown database to prove it:
- a sale is one COMMISSION transaction of 10 postings (clearing pays in the
  gross, the house keeps gross - pool, the race's 8 racers share the pool, which
  is a multiple of 8 so the shares are exact); a tip is one TIP transaction of 3
  postings (clearing, the DJ's wallet, the house's fee): each sums to zero and
  each payment is brought in once;
- no pool, in-flight or costs account is touched, so none goes negative and no
  final race's pool holds money; no payout exists, so none disagrees;
- cached balances are set last from the postings' sums.
Standings are rebuilt from the results, as the admin's rebuild does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, func, insert, select, text

from cozykart.db import league_repo, ledger_repo
from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import upgrade
from cozykart.db.tables import Race, RaceEntry, Racer, Season
from cozykart.db.uow import UnitOfWork
from cozykart.domain.league import DEFAULT_POINTS_TABLE, PointsTable
from cozykart.domain.ledger import AccountKind, TransactionKind, clearing_code, house_code
from cozykart.services.handlers import HANDLERS

RACE_SIZE = 8
RACERS_PER_FACTOR = 500
RACES_PER_FACTOR = 2_500  # x 8 results = 20,000 results per factor
PAYMENTS_PER_FACTOR = 2_000
FAN_NAMES_PER_FACTOR = 200  # distinct public names; one payment in ten has none
SALE_EVERY = 10  # payments n with n % 10 < 3 are sales (30%): 10 postings; the rest tips: 3
INSERT_BATCH_SIZE = 10_000
RACE_SPACING = timedelta(minutes=20)
RACE_LENGTH = timedelta(minutes=15)
# Before any real race, and early enough that 100x (250,000 races, one every 20 minutes: 9.5
# years) ends in the past: grown races are history. A grown race that reached into the present
# held the bench's live sales, as a final race (found by bench/webhooks_wrk.py --grow 100).
T0 = datetime(2015, 1, 1, 18, 0, tzinfo=UTC)
COMMISSION_RATE_PERCENT = 20
TIP_FEE_PERCENT = 10
SQLITE_CACHE_KIB = 512 * 1024  # for the fill's connection only


def grow(db_url: str, factor: float) -> dict:
    """Add `factor` x the unit league to the (migrated) database at `db_url`; what was added."""
    if factor <= 0:
        raise ValueError("factor must be positive")
    upgrade(db_url)
    engine = create_db_engine(db_url)
    counts = {
        "racers": max(RACE_SIZE * 2, round(RACERS_PER_FACTOR * factor)),
        "races": max(1, round(RACES_PER_FACTOR * factor)),
        "payments": max(SALE_EVERY, round(PAYMENTS_PER_FACTOR * factor)),
        "fan_names": max(3, round(FAN_NAMES_PER_FACTOR * factor)),
    }
    seconds: dict[str, float] = {}
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                # 2M results land in three B-trees: with SQLite's 2 MB page cache they thrash.
                connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            tag = connection.execute(select(func.count()).select_from(Racer.__table__)).scalar_one()
            started = time.perf_counter()
            racer_ids, dj_id = _racers(connection, counts["racers"], tag)
            season_id = _season(connection)
            race_ids = _races(connection, season_id, racer_ids[0], counts["races"], tag)
            _results(connection, race_ids[0], race_ids[-1], racer_ids[0], len(racer_ids))
            seconds["league_s"] = time.perf_counter() - started
            started = time.perf_counter()
            first_payment_id = _payments(connection, race_ids, dj_id, counts, tag)
            _log(f"league and payments in ({time.perf_counter() - started:.1f} s)")
            connection.execute(text("ANALYZE"))  # the booking joins need the new tables' statistics
            _book(connection, first_payment_id, dj_id)
            _log(f"ledger booked ({time.perf_counter() - started:.1f} s)")
            seconds["ledger_s"] = time.perf_counter() - started
        started = time.perf_counter()
        with UnitOfWork(engine, handlers=HANDLERS) as uow:
            standing_rows = league_repo.rebuild_standings(uow.session, season_id)
            uow.commit()
        seconds["standings_s"] = time.perf_counter() - started
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))  # fresh statistics, as a long-lived database has
            added = _totals(connection)
    finally:
        engine.dispose()
    return {
        "factor": factor,
        **counts,
        "results": counts["races"] * RACE_SIZE,
        "standing_rows": standing_rows,
        "season_id": season_id,
        **{name: round(value, 2) for name, value in seconds.items()},
        "database_totals": added,
    }


def _log(message: str) -> None:
    print(f"grow: {message}", file=sys.stderr, flush=True)


def _batches(rows: list[dict]):
    for offset in range(0, len(rows), INSERT_BATCH_SIZE):
        yield rows[offset : offset + INSERT_BATCH_SIZE]


def _racers(connection: Connection, count: int, tag: int) -> tuple[list[int], int]:
    """`count` racers and one DJ; their ids in order, and the DJ's."""
    table = Racer.__table__
    rows = [
        {
            "discord_id": f"grow-{tag}-{index}",
            "username": f"grow{tag}_{index}",
            "display_name": f"Racer {tag}-{index}",
            "avatar_url": None,
            "is_host": index == 0,
            "is_dj": index == count,
            "created_at": T0,
        }
        for index in range(count + 1)
    ]
    for batch in _batches(rows):
        connection.execute(insert(table), batch)
    ids = list(
        connection.execute(
            select(table.c.id).where(table.c.discord_id.like(f"grow-{tag}-%")).order_by(table.c.id)
        ).scalars()
    )
    assert len(ids) == count + 1 and ids[-1] - ids[0] == count, "racer ids are one contiguous run"
    _wallets(connection, ids[0], ids[-1])
    return ids[:-1], ids[-1]


def _wallets(connection: Connection, first_id: int, last_id: int) -> None:
    """Every new racer's wallet account (code `racer:<id>:wallet`, as domain/ledger.wallet_code)."""
    connection.execute(
        text(
            "INSERT INTO ledger_account (code, kind, racer_id, race_id, balance_cents, created_at) "
            "SELECT 'racer:' || CAST(id AS VARCHAR(20)) || '\\:wallet', :kind, id, NULL, 0, created_at "
            "FROM racer WHERE id BETWEEN :first AND :last"
        ),
        {"kind": str(AccountKind.WALLET), "first": first_id, "last": last_id},
    )


def _season(connection: Connection) -> int:
    """The active season (grown races join it), created when there is none."""
    season = Season.__table__
    active = connection.execute(select(season.c.id).where(season.c.status == "active")).scalar_one_or_none()
    if active is not None:
        return active
    return connection.execute(
        insert(season).returning(season.c.id),
        {
            "name": f"Grown season {datetime.now(UTC).isoformat(timespec='microseconds')}",
            "starts_on": date(2025, 1, 1),
            "ends_on": date(2030, 12, 31),
            "points_table": PointsTable().to_json(),
            "split_policy": "even",
            "winner_bonus_bps": 5000,
            "status": "active",
            "created_at": T0,
            "activated_at": T0,
        },
    ).scalar_one()


def _races(connection: Connection, season_id: int, host_id: int, count: int, tag: int) -> list[int]:
    """`count` final races, one every 20 minutes from T0; their ids in order (contiguous)."""
    table = Race.__table__
    rows = []
    last_end = T0 + RACE_SPACING * (count - 1) + RACE_LENGTH
    if last_end >= datetime.now(UTC) - timedelta(days=1):
        raise ValueError(f"{count} races from {T0:%Y-%m-%d} would reach the present (last ends {last_end})")
    for index in range(count):
        started_at = T0 + RACE_SPACING * index
        rows.append(
            {
                "season_id": season_id,
                "name": f"Grown {tag}-{index}",
                "host_racer_id": host_id,
                "status": "final",
                "disputed": False,
                "created_at": started_at,
                "started_at": started_at,
                "ended_at": started_at + RACE_LENGTH,
                "finalized_at": started_at + RACE_LENGTH,
            }
        )
    for batch in _batches(rows):
        connection.execute(insert(table), batch)
    ids = list(
        connection.execute(
            select(table.c.id).where(table.c.name.like(f"Grown {tag}-%")).order_by(table.c.id)
        ).scalars()
    )
    assert len(ids) == count and ids[-1] - ids[0] == count - 1, "race ids are one contiguous run"
    return ids


def _results(connection: Connection, first_race: int, last_race: int, first_racer: int, racers: int) -> None:
    """8 results per race: slot s of race r is racer (37 r + s (racers // 8)) mod racers (8 distinct).

    One race in ten has a DNF in last place (no position, no points).
    """
    points = " ".join(f"WHEN {slot} THEN {value}" for slot, value in enumerate(DEFAULT_POINTS_TABLE))
    slots = " UNION ALL ".join(f"SELECT {slot} AS s" for slot in range(RACE_SIZE))
    dnf = f"(slots.s = {RACE_SIZE - 1} AND (race.id - :first_race) % 10 = 0)"
    connection.execute(
        text(
            "INSERT INTO race_entry (race_id, racer_id, joined_at, reported_position, reported_dnf, "
            "reported_at, position, dnf, points) "
            f"SELECT race.id, :first_racer + ((race.id - :first_race) * 37 + slots.s * :stride) % :racers, "
            f"race.created_at, CASE WHEN {dnf} THEN NULL ELSE slots.s + 1 END, {dnf}, race.ended_at, "
            f"CASE WHEN {dnf} THEN NULL ELSE slots.s + 1 END, {dnf}, "
            f"CASE WHEN {dnf} THEN 0 ELSE CASE slots.s {points} END END "
            f"FROM race CROSS JOIN ({slots}) AS slots WHERE race.id BETWEEN :first_race AND :last_race"
        ),
        {
            "first_race": first_race,
            "last_race": last_race,
            "first_racer": first_racer,
            "stride": racers // RACE_SIZE,
            "racers": racers,
        },
    )


def _payment_row(n: int, race_ids: list[int], dj_id: int, counts: dict, tag: int) -> dict:
    """The n-th payment: a sale in a race (30%), else a tip in or between race windows."""
    race_index = (n * 7) % len(race_ids)
    started_at = T0 + RACE_SPACING * race_index
    fan = None if n % 10 == 9 else f"Fan {(n * 31) % counts['fan_names']}"
    if n % SALE_EVERY < 3:
        gross_cents = 1000 * (1 + n % 5)  # pool = 20%: a multiple of 8 cents, shared exactly
        return {
            "key": f"grow:{tag}:{n}",
            "kind": "sale",
            "provider": "grow",
            "gross_cents": gross_cents,
            "cost_cents": 0,
            "pool_cents": gross_cents * COMMISSION_RATE_PERCENT // 100,
            "fee_cents": 0,
            "race_id": race_ids[race_index],
            "dj_racer_id": None,
            "item": "Kart tee",
            "fan_name": fan,
            "message": None,
            "occurred_at": started_at + timedelta(seconds=n % 900),
            "recorded_at": started_at + timedelta(seconds=n % 900),
        }
    gross_cents = 100 * (1 + n % 20)
    # Two tips in three fall in a race's window; the rest between race nights' races.
    at = started_at + timedelta(seconds=n % 900 if n % 3 else 900 + n % 300)
    return {
        "key": f"grow:{tag}:{n}",
        "kind": "tip",
        "provider": "grow",
        "gross_cents": gross_cents,
        "cost_cents": 0,
        "pool_cents": 0,
        "fee_cents": gross_cents * TIP_FEE_PERCENT // 100,
        "race_id": None,
        "dj_racer_id": dj_id,
        "item": f"Song {n % 500}",
        "fan_name": fan,
        "message": None,
        "occurred_at": at,
        "recorded_at": at,
    }


def _payments(connection: Connection, race_ids: list[int], dj_id: int, counts: dict, tag: int) -> int:
    """The payments; the first one's id (they are one contiguous run)."""
    payment = ledger_repo.payment_table
    rows = [_payment_row(n, race_ids, dj_id, counts, tag) for n in range(counts["payments"])]
    for batch in _batches(rows):
        connection.execute(insert(payment), batch)
    first, last = connection.execute(
        select(func.min(payment.c.id), func.max(payment.c.id)).where(payment.c.key.like(f"grow:{tag}:%"))
    ).one()
    assert last - first == counts["payments"] - 1, "payment ids are one contiguous run"
    return first


def _account(connection: Connection, code: str, kind: AccountKind) -> int:
    account = ledger_repo.account_table
    existing = connection.execute(select(account.c.id).where(account.c.code == code)).scalar_one_or_none()
    if existing is not None:
        return existing
    return connection.execute(
        insert(account).returning(account.c.id),
        {
            "code": code,
            "kind": str(kind),
            "racer_id": None,
            "race_id": None,
            "balance_cents": 0,
            "created_at": T0,
        },
    ).scalar_one()


def _book(connection: Connection, first_payment_id: int, dj_id: int) -> None:
    """Each new payment's transaction and postings, then every touched account's cached balance."""
    ids = {
        "clearing": _account(connection, clearing_code(), AccountKind.CLEARING),
        "house": _account(connection, house_code(), AccountKind.HOUSE),
        "first": first_payment_id,
        "dj": dj_id,
        "sale_kind": str(TransactionKind.COMMISSION),
        "tip_kind": str(TransactionKind.TIP),
        "wallet": str(AccountKind.WALLET),
    }
    connection.execute(
        text(
            "INSERT INTO ledger_transaction (key, kind, description, reference, payment_id, race_id, "
            "payout_id, actor_racer_id, occurred_at, recorded_at) "
            "SELECT 'payment:' || key, CASE kind WHEN 'sale' THEN :sale_kind ELSE :tip_kind END, "
            "'Grown ' || kind || ' ' || item, key, id, race_id, NULL, NULL, occurred_at, recorded_at "
            "FROM ledger_payment WHERE id >= :first"
        ),
        ids,
    )
    new = "FROM ledger_transaction t JOIN ledger_payment p ON p.id = t.payment_id WHERE p.id >= :first"
    into = "INSERT INTO ledger_posting (transaction_id, account_id, amount_cents, payment_id, available_at, description) "
    connection.execute(
        text(f"{into} SELECT t.id, :clearing, -p.gross_cents, p.id, NULL, 'Paid in' {new}"), ids
    )
    connection.execute(
        text(
            f"{into} SELECT t.id, :house, CASE p.kind WHEN 'sale' THEN p.gross_cents - p.pool_cents "
            f"ELSE p.fee_cents END, p.id, NULL, 'House share' {new}"
        ),
        ids,
    )
    connection.execute(
        text(
            f"{into} SELECT t.id, :dj_wallet, p.gross_cents - p.fee_cents, p.id, NULL, 'Tip' {new} "
            "AND p.kind = 'tip'"
        ),
        {**ids, "dj_wallet": _wallet_id(connection, dj_id)},
    )
    connection.execute(
        text(
            f"{into} SELECT t.id, a.id, p.pool_cents / {RACE_SIZE}, p.id, NULL, 'Share of the pool' "
            "FROM ledger_transaction t JOIN ledger_payment p ON p.id = t.payment_id "
            "JOIN race_entry e ON e.race_id = p.race_id "
            "JOIN ledger_account a ON a.racer_id = e.racer_id AND a.kind = :wallet "
            "WHERE p.id >= :first AND p.kind = 'sale'"
        ),
        ids,
    )
    connection.execute(
        text(
            "UPDATE ledger_account SET balance_cents = (SELECT COALESCE(SUM(amount_cents), 0) "
            "FROM ledger_posting WHERE ledger_posting.account_id = ledger_account.id) "
            "WHERE id IN (SELECT DISTINCT account_id FROM ledger_posting WHERE payment_id >= :first)"
        ),
        ids,
    )


def _wallet_id(connection: Connection, racer_id: int) -> int:
    account = ledger_repo.account_table
    return connection.execute(
        select(account.c.id).where(account.c.racer_id == racer_id, account.c.kind == str(AccountKind.WALLET))
    ).scalar_one()


def _totals(connection: Connection) -> dict:
    """What the whole database now holds (the curves' x axis)."""

    def count(table) -> int:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    return {
        "racers": count(Racer.__table__),
        "races": count(Race.__table__),
        "results": count(RaceEntry.__table__),
        "payments": count(ledger_repo.payment_table),
        "transactions": count(ledger_repo.transaction_table),
        "postings": count(ledger_repo.posting_table),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    with contextlib.redirect_stdout(sys.stderr):
        figures = grow(args.db_url, args.factor)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2), flush=True)


if __name__ == "__main__":
    main()
