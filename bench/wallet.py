"""Benchmark: a racer's /wallet page when their wallet holds 100,000 entries.

    python bench/wallet.py [--entries 100000] [--repeat 30] [--postgres-url URL] [--json]

Builds a fresh, migrated database (SQLite in a temporary file; PostgreSQL in a
throwaway schema when a URL is given or COZYKART_TEST_POSTGRES_URL is set) with
one racer whose wallet has `--entries` balanced postings (pool shares, some still
held, tips, refund clawbacks and payouts; the other side on the house or the
payouts-sent account; cached balances kept equal to the postings), then times what
/wallet loads: `wallet_view.wallet_page` (summary + the first page of history in
words + the racer's payouts), cold (a new unit of work each time), and the next
page by cursor. Prints one JSON object (milliseconds: median, p95, max over
`--repeat` runs); asserts nothing about time, but checks that the page's
"balance after" figures agree with the postings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text, update

from bench import _served
from cozykart.db import ledger_repo as repo
from cozykart.db.engine import create_db_engine
from cozykart.db.migrate import upgrade
from cozykart.db.tables import Racer
from cozykart.db.uow import UnitOfWork
from cozykart.domain.ledger import (
    PAYOUT_KINDS,
    TAKEN_BACK_KINDS,
    TransactionKind,
    house_code,
    payouts_sent_code,
    wallet_code,
)
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import wallet_view
from cozykart.settings import Settings

ENTRIES_DEFAULT = 100_000
REPEAT_DEFAULT = 30
INSERT_BATCH_SIZE = 5_000
GOAL_MS = 20.0
T0 = datetime(2026, 1, 1, 20, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=400)


def _entry(n: int) -> tuple[str, int, datetime | None, str]:
    """The n-th wallet line: kind, signed cents, when it becomes available, words."""
    if n % 50 == 49:
        return TransactionKind.PAYOUT, -2500, None, "Paid out by gift card"
    if n % 20 == 7:
        return TransactionKind.REFUND_CLAWBACK, -40, None, "Taken back: refund of 'Kart tee' sale ($30.00)"
    if n % 10 == 3:
        return TransactionKind.TIP, 450, None, f"Tip for 'Song {n}' from Fan {n % 97}"
    held_until = T0 + timedelta(minutes=n) + timedelta(days=7)
    return TransactionKind.POOL_DISTRIBUTION, 75 + n % 11, held_until, f"Share of race 'Cup {n // 8}' pool"


def _fill(engine, entries: int) -> int:
    """One racer, their wallet with `entries` lines; returns the racer's id."""
    account, transaction, posting = repo.account_table, repo.transaction_table, repo.posting_table
    payout = repo.payout_table
    with engine.begin() as connection:
        racer_id = connection.execute(
            insert(Racer).returning(Racer.id),
            {
                "discord_id": "bench-wallet",
                "username": "wallet",
                "display_name": "Wallet Bench",
                "avatar_url": None,
                "is_host": False,
                "is_dj": False,
                "created_at": T0,
            },
        ).scalar_one()
        codes = {
            "wallet": (wallet_code(racer_id), "wallet", racer_id),
            "house": (house_code(), "house", None),
            "sent": (payouts_sent_code(), "payouts_sent", None),
        }
        ids = {}
        for name, (code, kind, owner) in codes.items():
            existing = connection.execute(
                select(account.c.id).where(account.c.code == code)
            ).scalar_one_or_none()
            ids[name] = (
                existing
                or connection.execute(
                    insert(account).returning(account.c.id),
                    {
                        "code": code,
                        "kind": kind,
                        "racer_id": owner,
                        "race_id": None,
                        "balance_cents": 0,
                        "created_at": T0,
                    },
                ).scalar_one()
            )
        for offset in range(0, entries, INSERT_BATCH_SIZE):
            count = min(INSERT_BATCH_SIZE, entries - offset)
            rows = [_entry(offset + index) for index in range(count)]
            at = [T0 + timedelta(minutes=offset + index) for index in range(count)]
            payout_ids = {}
            paid = [index for index, row in enumerate(rows) if row[0] == TransactionKind.PAYOUT]
            if paid:
                # A direct payout: its row (paid) and its transaction naming it, as the service writes them.
                connection.execute(
                    insert(payout),
                    [
                        {
                            "key": f"bench-payout:{offset + index}",
                            "racer_id": racer_id,
                            "amount_cents": -rows[index][1],
                            "status": "paid",
                            "requested_by_racer_id": racer_id,
                            "requested_at": at[index],
                            "method": "gift_card",
                            "reference": f"GC-{offset + index}",
                            "reason": None,
                            "decided_by_racer_id": racer_id,
                            "decided_at": at[index],
                        }
                        for index in paid
                    ],
                )
                payout_ids = dict(
                    connection.execute(
                        select(payout.c.key, payout.c.id).where(payout.c.key.like("bench-payout:%"))
                    ).all()
                )
            refunded = _refunded_sales(connection, offset, rows, at)
            connection.execute(
                insert(transaction),
                [
                    {
                        "key": f"bench-wallet:{offset + index}",
                        "kind": str(kind),
                        "description": words,
                        "reference": f"bench:{offset + index}",
                        "payment_id": refunded.get(index),
                        "race_id": None,
                        "payout_id": payout_ids.get(f"bench-payout:{offset + index}"),
                        "actor_racer_id": None,
                        "occurred_at": at[index],
                        "recorded_at": at[index],
                    }
                    for index, (kind, _cents, _until, words) in enumerate(rows)
                ],
            )
            first_id = connection.execute(
                select(transaction.c.id).where(transaction.c.key == f"bench-wallet:{offset}")
            ).scalar_one()
            postings = []
            for index, (kind, cents, until, words) in enumerate(rows):
                other = ids["sent"] if kind == TransactionKind.PAYOUT else ids["house"]
                postings.append(
                    {
                        "transaction_id": first_id + index,
                        "account_id": ids["wallet"],
                        "amount_cents": cents,
                        "payment_id": None,
                        "available_at": until,
                        "description": words,
                    }
                )
                postings.append(
                    {
                        "transaction_id": first_id + index,
                        "account_id": other,
                        "amount_cents": -cents,
                        "payment_id": None,
                        "available_at": None,
                        "description": words,
                    }
                )
            connection.execute(insert(posting), postings)
        for account_id in ids.values():
            total = (
                select(func.coalesce(func.sum(posting.c.amount_cents), 0))
                .where(posting.c.account_id == account_id)
                .scalar_subquery()
            )
            connection.execute(update(account).where(account.c.id == account_id).values(balance_cents=total))
        # The refunds' wallet_taken_back rows, as their transactions would have written them.
        repo.rebuild_taken_back(connection)
    return racer_id


def _refunded_sales(connection, offset: int, rows: list, at: list) -> dict[int, int]:
    """A sale for each refund of the batch (a clawback names the payment it takes back): row index -> id."""
    refunds = [index for index, row in enumerate(rows) if row[0] == TransactionKind.REFUND_CLAWBACK]
    if not refunds:
        return {}
    payment = repo.payment_table
    keys = {f"bench-sale:{offset + index}": index for index in refunds}
    connection.execute(
        insert(payment),
        [
            {
                "key": key,
                "kind": "sale",
                "provider": "bench",
                "gross_cents": 3000,
                "cost_cents": 0,
                "pool_cents": 0,
                "fee_cents": 0,
                "item": "Kart tee",
                "occurred_at": at[index],
                "recorded_at": at[index],
            }
            for key, index in keys.items()
        ],
    )
    found = connection.execute(select(payment.c.key, payment.c.id).where(payment.c.key.in_(list(keys))))
    return {keys[key]: payment_id for key, payment_id in found}


def _check(page, engine, racer_id: int) -> None:
    """The page's lines are the newest postings, each with the balance after it."""
    posting = repo.posting_table
    with engine.connect() as connection:
        wallet_id = repo.account_id_by_code(connection, wallet_code(racer_id))
        newest = connection.execute(
            select(posting.c.id, posting.c.amount_cents)
            .where(posting.c.account_id == wallet_id)
            .order_by(posting.c.id.desc())
            .limit(len(page.lines))
        ).all()
        balance = connection.execute(
            select(func.sum(posting.c.amount_cents)).where(posting.c.account_id == wallet_id)
        ).scalar_one()
        transaction = repo.transaction_table
        by_kind = (
            select(transaction.c.kind, transaction.c.payment_id, func.sum(posting.c.amount_cents))
            .join(transaction, transaction.c.id == posting.c.transaction_id)
            .where(posting.c.account_id == wallet_id)
            .group_by(transaction.c.kind, transaction.c.payment_id)
        )
        sums = connection.execute(by_kind).all()
    # Lifetime earnings: every wallet line but payout movements, before refunds took any back; what
    # they took back (per payment, less a dispute won back) is its own figure.
    net = sum(cents for kind, _payment, cents in sums if kind not in PAYOUT_KINDS)
    taken_back_by_payment: dict = {}
    for kind, payment_id, cents in sums:
        if kind in TAKEN_BACK_KINDS:
            taken_back_by_payment[payment_id] = taken_back_by_payment.get(payment_id, 0) + cents
    taken_back = sum(max(-cents, 0) for cents in taken_back_by_payment.values())
    summary = page.summary
    assert (summary.lifetime_earned_cents, summary.refunds_taken_back_cents) == (
        net + taken_back,
        taken_back,
    ), (summary.lifetime_earned_cents, summary.refunds_taken_back_cents, net, taken_back)
    assert [line.posting_id for line in page.lines] == [row[0] for row in newest], (
        "page is not the newest lines"
    )
    for line, (_id, cents) in zip(page.lines, newest, strict=True):
        assert line.balance_after_cents == balance, (line, balance)
        balance -= cents


def bench(url: str, entries: int, repeat: int) -> dict:
    upgrade(url)
    engine = create_db_engine(url)
    settings = Settings(db_url=url)
    try:
        started = time.perf_counter()
        racer_id = _fill(engine, entries)
        fill_s = time.perf_counter() - started
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("ANALYZE"))
                connection.commit()

        def first_page():
            return wallet_view.wallet_page(
                racer_id, uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings), now=NOW
            )

        page = first_page()
        _check(page, engine, racer_id)
        cursor = page.lines[-1].posting_id
        older = wallet_view.wallet_page(
            racer_id,
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
            now=NOW,
            before_posting_id=cursor,
        )
        assert older.lines and older.lines[0].posting_id < cursor
        assert (
            older.lines[0].balance_after_cents
            == page.lines[-1].balance_after_cents - page.lines[-1].amount_cents
        )
        return {
            "entries": entries,
            "fill_s": round(fill_s, 1),
            "page_lines": len(page.lines),
            "first_page_ms": _served.timed(first_page, repeat),
            "next_page_ms": _served.timed(
                lambda: wallet_view.wallet_page(
                    racer_id,
                    uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
                    now=NOW,
                    before_posting_id=cursor,
                ),
                repeat,
            ),
        }
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=ENTRIES_DEFAULT)
    parser.add_argument("--repeat", type=int, default=REPEAT_DEFAULT)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--json", action="store_true", help="one compact JSON object on stdout (for bench/run.py)"
    )
    args = parser.parse_args()

    figures: dict = {"bench": "wallet", "goal_ms": GOAL_MS, "statistic": "median, p95, max over repeat"}
    # Only the report goes to stdout; anything printed on the way (migrations) goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        with tempfile.TemporaryDirectory(prefix="cozykart-bench-") as directory:
            figures["sqlite"] = bench(f"sqlite:///{directory}/wallet.db", args.entries, args.repeat)
        if args.postgres_url:
            url, schema = _served.postgres_schema(args.postgres_url, "bench")
            try:
                figures["postgresql"] = bench(url, args.entries, args.repeat)
            finally:
                _served.drop_schema(args.postgres_url, schema)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2), flush=True)


if __name__ == "__main__":
    main()
