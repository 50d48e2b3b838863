"""Settled sales per second: the ledger's service beside the same work in raw sqlite3.

    python bench/ledger.py [--sales 2000] [--rounds 3] [--postgres-url URL] [--json]

Each sale is one durable transaction (SQLite: WAL, synchronous=FULL, BEGIN
IMMEDIATE; PostgreSQL: default durable commit) recorded for a final race of 8
racers, so it is split at once: the payment, the transaction, 10 postings
(clearing, house, 8 wallets) and 10 cached balances. A second figure records
sales during a live race (the pool accrues: 3 postings). The raw sqlite3 run does
the same statements on its own copy of the schema, with nothing between Python
and SQLite: it is the ceiling. Prints JSON (with `--json`: one object, the only
stdout, for bench/run.py); asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from bench import _served
from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import upgrade
from cozykart.db.tables import Race, RaceEntry, Racer
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import allocate, bps_part, format_cents
from cozykart.services import ledger
from cozykart.services.handlers import HANDLERS
from cozykart.settings import Settings

RACERS_PER_RACE = 8
SALES_DEFAULT = 2000
ROUNDS_DEFAULT = 3
SALE_CENTS = 3000
COMMISSION_RATE_BPS = 2000
T0 = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


def _prepare(engine, *, final: bool) -> None:
    """8 racers and one race whose window holds every sale; final or live."""
    with Session(engine) as session:
        racers = [
            Racer(discord_id=f"{500000 + n}", username=f"bench{n}", display_name=f"Bench {n}")
            for n in range(RACERS_PER_RACE)
        ]
        session.add_all(racers)
        session.flush()
        race = Race(
            name="Bench Cup",
            host_racer_id=racers[0].id,
            status="final" if final else "live",
            started_at=T0,
            ended_at=T0 + timedelta(days=1) if final else None,
        )
        session.add(race)
        session.flush()
        for position, racer in enumerate(racers, start=1):
            session.add(RaceEntry(race_id=race.id, racer_id=racer.id, position=position, points=1))
        session.commit()


def bench_service(url: str, sales: int, *, final: bool) -> float:
    upgrade(url)
    engine = create_db_engine(url)
    try:
        _prepare(engine, final=final)
        settings = Settings(db_url=url, commission_rate_bps=COMMISSION_RATE_BPS)
        ledger.record_sale(
            key="warm-up",
            gross_cents=SALE_CENTS,
            sold_at=T0 + timedelta(seconds=1),
            item="Kart tee",
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
        )
        started = time.perf_counter()
        for n in range(sales):
            receipt = ledger.record_sale(
                key=f"bench-{n}",
                gross_cents=SALE_CENTS,
                sold_at=T0 + timedelta(seconds=1 + n % 80_000),
                item="Kart tee",
                uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
            )
            assert receipt.distributed == final and not receipt.replayed
        elapsed_s = time.perf_counter() - started
    finally:
        engine.dispose()
    return sales / elapsed_s


def bench_raw_sqlite(path: str, sales: int) -> float:
    """The same settlement in raw sqlite3: the ceiling on this machine."""
    upgrade(f"sqlite:///{path}")
    engine = create_db_engine(f"sqlite:///{path}")
    _prepare(engine, final=True)
    engine.dispose()
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    codes = ["clearing", "house"] + [f"racer:{r}:wallet" for r in range(1, RACERS_PER_RACE + 1)]
    connection.execute("BEGIN IMMEDIATE")
    for code in codes:
        racer_id = int(code.split(":")[1]) if code.startswith("racer:") else None
        connection.execute(
            "INSERT INTO ledger_account (code, kind, racer_id, balance_cents, created_at) VALUES (?, ?, ?, 0, ?)",
            (code, "wallet" if racer_id else code, racer_id, now),
        )
    connection.execute("COMMIT")
    ids = dict(connection.execute("SELECT code, id FROM ledger_account").fetchall())
    started = time.perf_counter()
    for n in range(sales):
        key = f"raw-{n}"
        sold_at = (T0 + timedelta(seconds=1 + n % 80_000)).replace(tzinfo=None).isoformat(" ")
        words = f"'Kart tee' sale ({format_cents(SALE_CENTS)})"
        held_until = (datetime.now(UTC) + timedelta(days=7)).replace(tzinfo=None).isoformat(" ")
        connection.execute("BEGIN IMMEDIATE")
        race = connection.execute(
            "SELECT id, name, status FROM race WHERE started_at <= ? AND (ended_at IS NULL OR ended_at > ?) "
            "AND status != 'cancelled' ORDER BY started_at DESC LIMIT 1",
            (sold_at, sold_at),
        ).fetchone()
        racers = [
            row[0]
            for row in connection.execute(
                "SELECT racer_id FROM race_entry WHERE race_id = ? ORDER BY racer_id", (race[0],)
            )
        ]
        pool_cents = bps_part(SALE_CENTS, COMMISSION_RATE_BPS)
        shares = allocate(pool_cents, [1] * len(racers), seed=key)
        payment_id = connection.execute(
            "INSERT INTO ledger_payment (key, kind, provider, gross_cents, cost_cents, pool_cents, fee_cents, "
            "race_id, item, occurred_at, recorded_at) VALUES (?, 'sale', 'bench', ?, 0, ?, 0, ?, 'Kart tee', ?, ?) "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            (key, SALE_CENTS, pool_cents, race[0], sold_at, now),
        ).fetchone()[0]
        transaction_id = connection.execute(
            "INSERT INTO ledger_transaction (key, kind, description, reference, payment_id, race_id, "
            "occurred_at, recorded_at) VALUES (?, 'COMMISSION', ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            (
                f"payment:{key}",
                f"Merch sale: {words} during race {race[1]!r}",
                f"bench:{key}",
                payment_id,
                race[0],
                sold_at,
                now,
            ),
        ).fetchone()[0]
        # The same rows the service writes: its descriptions, and the hold on racers' shares.
        postings = [
            (ids["clearing"], -SALE_CENTS, None, f"Paid in for {words}"),
            (ids["house"], SALE_CENTS - pool_cents, None, f"House share of {words} in race {race[1]!r}"),
        ] + [
            (ids[f"racer:{racer_id}:wallet"], share, held_until, f"Share of {words} in race {race[1]!r}")
            for racer_id, share in zip(racers, shares, strict=True)
        ]
        connection.executemany(
            "INSERT INTO ledger_posting (transaction_id, account_id, amount_cents, payment_id, available_at, "
            "description) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (transaction_id, account_id, cents, payment_id, until, description)
                for account_id, cents, until, description in postings
            ],
        )
        connection.executemany(
            "UPDATE ledger_account SET balance_cents = balance_cents + ? WHERE id = ?",
            [(cents, account_id) for account_id, cents, _until, _description in sorted(postings)],
        )
        connection.execute("COMMIT")
    elapsed_s = time.perf_counter() - started
    connection.close()
    return sales / elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sales", type=int, default=SALES_DEFAULT)
    parser.add_argument("--rounds", type=int, default=ROUNDS_DEFAULT)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout (bench/run.py)")
    args = parser.parse_args()
    # Only the report goes to stdout; anything printed on the way (migrations) goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        figures = _measure(args)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2), flush=True)


def _measure(args: argparse.Namespace) -> dict:
    figures: dict[str, object] = {
        "bench": "ledger",
        "sales": args.sales,
        "racers_per_race": RACERS_PER_RACE,
        "rounds": args.rounds,
        "statistic": "median of rounds",
    }
    runs: dict[str, list[float]] = defaultdict(list)
    # Rounds alternate the runs, so load from elsewhere on the machine hits them alike.
    for _round in range(args.rounds):
        with tempfile.TemporaryDirectory() as directory:
            runs["sqlite_raw_sales_per_s"].append(bench_raw_sqlite(f"{directory}/raw.db", args.sales))
            runs["sqlite_service_final_race_sales_per_s"].append(
                bench_service(f"sqlite:///{directory}/final.db", args.sales, final=True)
            )
            runs["sqlite_service_live_race_sales_per_s"].append(
                bench_service(f"sqlite:///{directory}/live.db", args.sales, final=False)
            )
        if args.postgres_url:
            for label, final in (("final_race", True), ("live_race", False)):
                url, schema = _served.postgres_schema(args.postgres_url, "bench")
                try:
                    runs[f"postgresql_service_{label}_sales_per_s"].append(
                        bench_service(url, args.sales, final=final)
                    )
                finally:
                    _served.drop_schema(args.postgres_url, schema)
    for name, values in runs.items():
        figures[name] = round(statistics.median(values), 1)
    figures["sqlite_service_share_of_raw_ceiling"] = round(
        figures["sqlite_service_final_race_sales_per_s"] / figures["sqlite_raw_sales_per_s"], 3
    )
    return figures


if __name__ == "__main__":
    main()
