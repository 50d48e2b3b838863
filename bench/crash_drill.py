"""Crash drill: SIGKILL the served app mid-load, restart it, retry like a provider, prove the ledger.

    python bench/crash_drill.py [--events 400] [--kills 3] [--kill-after 0.2] [--postgres-url URL] [--json]

For SQLite (a file) and, when a URL is given or COZYKART_TEST_POSTGRES_URL is set,
PostgreSQL (a fresh schema):
1. prepares a database with a live 8-racer race and a DJ, and serves the backend
   (`reflex run --env prod --backend-only`, 127.0.0.1, its own process group);
2. drives signed Stripe deliveries at it from CONCURRENCY clients: sales during the
   live race, tips to the DJ, and full refunds of sales already acknowledged;
3. once `--kill-after` of them more are acknowledged, sends SIGKILL to the server's
   process group while requests are in flight (no handler runs, nothing flushed),
   restarts it on the same database and goes on, sending first what was not
   acknowledged (in flight, refused, or never sent) as a provider retries, signed
   again; `--kills` times;
4. after the last restart re-sends every delivery still unacknowledged, up to
   RETRY_ATTEMPTS_MAX times each, then DUPLICATE_SHARE of the acknowledged ones
   (a provider's duplicate deliveries);
5. waits for the inbox to settle, stops the server, runs
   `python -m cozykart reconcile --json`, and compares the database with what the
   deliveries must have produced: the clearing, house, race pool and DJ wallet
   balances, one payment per sale and tip (the same keys), one transaction per
   sale, tip and refund and no other, one inbox row per distinct event, all
   applied, and no other account holding money.

Prints one JSON report (with `--json`: one object, the only stdout); exits 1 when a
check fails on any database. Bounded: every request, start and wait has a limit
(about a minute per database on an idle machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench import _served
from cozykart.db import ledger_repo as repo
from cozykart.db.engine import create_db_engine
from cozykart.db.inbox_tables import WebhookEvent
from cozykart.db.uow import UnitOfWork
from cozykart.domain.ledger import TransactionKind, clearing_code, house_code, pool_code, wallet_code
from cozykart.domain.money import bps_part
from cozykart.integrations import stripe_payments
from cozykart.services import webhooks
from cozykart.services.handlers import HANDLERS
from cozykart.settings import load_settings

EVENTS_DEFAULT = 400
KILL_AFTER_DEFAULT = 0.2  # share of the deliveries acknowledged between two SIGKILLs
KILLS_DEFAULT = 3
CONCURRENCY = 16
REQUEST_TIMEOUT_S = 20
RETRY_ATTEMPTS_MAX = 5
RETRY_PAUSE_S = 0.5
DUPLICATE_SHARE = 0.1
REFUND_EVERY_NTH_SALE = 5
TIP_SHARE = 0.2
INBOX_SETTLE_TIMEOUT_S = 30
SEED = 20261121


@dataclass
class Delivery:
    kind: str  # sale | tip | refund
    cents: int
    event: dict
    refund_of: str | None = None  # the refunded sale's payment key
    number: int = -1  # its place in the plan (refunds: -1)
    acked: bool = False
    attempts: int = 0
    statuses: list[str] = field(default_factory=list)

    @property
    def event_id(self) -> str:
        return self.event["id"]

    @property
    def payment_key(self) -> str:
        return f"stripe:{self.event['data']['object']['payment_intent']}"


@dataclass(frozen=True)
class Expected:
    """What the deliveries must have done to the ledger, each exactly once."""

    balances: dict[str, int]  # account code -> cents
    payment_keys: frozenset[str]
    transactions: dict[str, int]  # kind -> count
    event_ids: frozenset[str]


def expected_of(
    deliveries: list[Delivery], *, commission_bps: int, tip_fee_bps: int, race_id: int, dj_id: int
) -> Expected:
    refunded = {delivery.refund_of for delivery in deliveries if delivery.kind == "refund"}
    clearing = house = pool = dj = 0
    for delivery in deliveries:
        if delivery.kind == "sale" and delivery.payment_key not in refunded:
            pool_cents = bps_part(delivery.cents, commission_bps)
            clearing -= delivery.cents
            pool += pool_cents
            house += delivery.cents - pool_cents
        elif delivery.kind == "tip":
            fee_cents = bps_part(delivery.cents, tip_fee_bps)
            clearing -= delivery.cents
            house += fee_cents
            dj += delivery.cents - fee_cents
    kinds = Counter(delivery.kind for delivery in deliveries)
    return Expected(
        balances={
            clearing_code(): clearing,
            house_code(): house,
            pool_code(race_id): pool,
            wallet_code(dj_id): dj,
        },
        payment_keys=frozenset(delivery.payment_key for delivery in deliveries if delivery.kind != "refund"),
        transactions={
            str(TransactionKind.COMMISSION): kinds["sale"],
            str(TransactionKind.TIP): kinds["tip"],
            str(TransactionKind.REFUND_CLAWBACK): kinds["refund"],
        },
        event_ids=frozenset(delivery.event_id for delivery in deliveries),
    )


def observe(db_url: str) -> dict:
    """What the database holds: balances, payments, transactions by kind, inbox rows."""
    account, payment, transaction = repo.account_table, repo.payment_table, repo.transaction_table
    inbox = WebhookEvent.__table__
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            return {
                "balances": dict(connection.execute(select(account.c.code, account.c.balance_cents)).all()),
                "payment_keys": [row[0] for row in connection.execute(select(payment.c.key))],
                "transactions": dict(
                    connection.execute(
                        select(transaction.c.kind, func.count()).group_by(transaction.c.kind)
                    ).all()
                ),
                "inbox": [tuple(row) for row in connection.execute(select(inbox.c.event_id, inbox.c.status))],
            }
    finally:
        engine.dispose()


def check(expected: Expected, observed: dict) -> list[str]:
    """Every way the database differs from exactly-once application of the deliveries."""
    problems = []
    balances = observed["balances"]
    for code, cents in expected.balances.items():
        if balances.get(code, 0) != cents:
            problems.append(f"{code} holds {balances.get(code, 0)} cents, expected {cents}")
    for code, cents in balances.items():
        if code not in expected.balances and cents != 0:
            problems.append(f"{code} holds {cents} cents, expected nothing")
    keys = Counter(observed["payment_keys"])
    if set(keys) != expected.payment_keys:
        missing, extra = expected.payment_keys - set(keys), set(keys) - expected.payment_keys
        problems.append(
            f"payments: {len(missing)} missing {sorted(missing)[:3]}, {len(extra)} unexpected "
            f"{sorted(extra)[:3]}"
        )
    if any(count > 1 for count in keys.values()):
        problems.append(f"payments recorded more than once: {[key for key, n in keys.items() if n > 1][:3]}")
    kinds = dict(observed["transactions"])
    for kind, count in expected.transactions.items():
        if kinds.pop(kind, 0) != count:
            problems.append(f"{observed['transactions'].get(kind, 0)} {kind} transactions, expected {count}")
    if kinds:
        problems.append(f"unexpected transactions: {kinds}")
    events = Counter(event_id for event_id, _status in observed["inbox"])
    if set(events) != expected.event_ids:
        missing, extra = expected.event_ids - set(events), set(events) - expected.event_ids
        problems.append(f"inbox: {len(missing)} events missing, {len(extra)} unexpected")
    if any(count > 1 for count in events.values()):
        problems.append("an event is in the inbox more than once")
    not_applied = Counter(status for _event_id, status in observed["inbox"] if status != "applied")
    if not_applied:
        problems.append(f"inbox rows not applied: {dict(not_applied)}")
    return problems


# --- driving the served app ----------------------------------------------------------------


@dataclass
class Verdict:
    """What a drill's database came to: the ledger against the deliveries, and reconcile."""

    expected: Expected
    observed: dict
    problems: list[str]  # the checker's, and reconcile's when it was not clean
    reconcile: dict  # {"exit_status", "clean", "violations"}


def judge(db_url: str, deliveries: list[Delivery], settings, league: _served.League) -> Verdict:
    """Every drill's last step: run `python -m cozykart reconcile --json` and compare the database
    with what the deliveries must have produced, each exactly once (`expected_of`, `check`)."""
    reconcile_status, reconcile_report = _served.reconcile(db_url)
    expected = expected_of(
        deliveries,
        commission_bps=settings.commission_rate_bps,
        tip_fee_bps=settings.tip_fee_bps,
        race_id=league.race_id,
        dj_id=league.dj_id,
    )
    observed = observe(db_url)
    problems = check(expected, observed)
    if reconcile_status != 0:
        problems.append(f"reconcile exited {reconcile_status}: {reconcile_report.get('violations')}")
    reconcile = {
        "exit_status": reconcile_status,
        "clean": reconcile_report.get("clean"),
        "violations": reconcile_report.get("violations"),
    }
    return Verdict(expected, observed, problems, reconcile)


def apply_in_process(engine, settings, delivery: Delivery) -> None:
    """Sign `delivery` and apply it through the webhook service in this process (a checker's test
    builds its database this way, without a server)."""
    body, headers = _served.signed(delivery.event)
    event = stripe_payments.parse_webhook(body, headers["Stripe-Signature"], _served.STRIPE_SECRET)
    receipt = webhooks.receive(
        event,
        body_sha256=hashlib.sha256(body).hexdigest(),
        uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
    )
    assert receipt.status == "applied", receipt


def plan(events: int, draw: random.Random) -> list[Delivery]:
    """Sales and tips in a shuffled order (refunds are added as their sales are acknowledged)."""
    deliveries = []
    for n in range(events):
        if draw.random() < TIP_SHARE:
            cents = draw.randrange(300, 2001)
            deliveries.append(Delivery("tip", cents, _served.tip_event(cents, song=f"Song {n}"), number=n))
        else:
            cents = draw.randrange(500, 6001)
            deliveries.append(Delivery("sale", cents, _served.sale_event(cents, item=f"Tee {n}"), number=n))
    return deliveries


async def _deliver(client: httpx.AsyncClient, url: str, delivery: Delivery) -> bool:
    """One attempt; acknowledged means 200 with `received` (what a provider takes as done)."""
    body, headers = _served.signed(delivery.event)
    delivery.attempts += 1
    try:
        response = await client.post(url, content=body, headers=headers)
        answer = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError) as error:
        delivery.statuses.append(type(error).__name__)
        return False
    delivery.statuses.append(
        f"{response.status_code} {answer.get('status', '')}{' duplicate' if answer.get('duplicate') else ''}".strip()
    )
    delivery.acked = delivery.acked or bool(answer.get("received"))
    return bool(answer.get("received"))


def _refund_for(sale: Delivery) -> Delivery:
    return Delivery("refund", sale.cents, _served.refund_event(sale.event), refund_of=sale.payment_key)


def _refund_due(sale: Delivery) -> bool:
    return sale.kind == "sale" and sale.number % REFUND_EVERY_NTH_SALE == 0


async def under_load_then_kill(
    url: str, deliveries: list[Delivery], server: _served.Server, kill_after: int
) -> dict:
    """Send every unacknowledged delivery (a retry, or its first time) until `kill_after` more are
    acknowledged, then SIGKILL the server with requests in flight."""
    queue: list[Delivery] = [delivery for delivery in deliveries if not delivery.acked]
    queue.reverse()
    killed = threading.Event()
    acked = 0
    in_flight_at_kill = 0
    in_flight = 0
    kill_task: asyncio.Future | None = None

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acked, in_flight, in_flight_at_kill, kill_task
        while queue and not killed.is_set():
            delivery = queue.pop()
            in_flight += 1
            ok = await _deliver(client, url, delivery)
            in_flight -= 1
            if not ok:
                continue
            acked += 1
            if _refund_due(delivery):
                refund = _refund_for(delivery)
                deliveries.append(refund)
                queue.insert(max(0, len(queue) - CONCURRENCY), refund)
            if acked >= kill_after and kill_task is None:
                in_flight_at_kill = in_flight
                kill_task = asyncio.get_running_loop().run_in_executor(None, _kill, server, killed)

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    if kill_task is not None:
        await kill_task
    return {
        "acknowledged_before_kill": acked,
        "in_flight_at_kill": in_flight_at_kill,
        "killed": killed.is_set(),
        "never_sent": len(queue),
    }


def _kill(server: _served.Server, killed: threading.Event) -> None:
    killed.set()  # workers stop taking new deliveries; the ones in flight meet the SIGKILL
    server.kill()


async def retry_like_a_provider(url: str, deliveries: list[Delivery], draw: random.Random) -> dict:
    """Every unacknowledged delivery until acknowledged (sales and tips first, then refunds), then duplicates."""
    refunded = {delivery.refund_of for delivery in deliveries if delivery.kind == "refund"}
    for delivery in list(deliveries):
        if _refund_due(delivery) and delivery.payment_key not in refunded:
            deliveries.append(_refund_for(delivery))
    retried = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        for wave in (("sale", "tip"), ("refund",)):
            pending = [delivery for delivery in deliveries if delivery.kind in wave and not delivery.acked]
            retried += len(pending)
            for _attempt in range(RETRY_ATTEMPTS_MAX):
                if not pending:
                    break
                outcomes = await _bounded(client, url, pending)
                pending = [delivery for delivery, ok in zip(pending, outcomes, strict=True) if not ok]
                if pending:
                    await asyncio.sleep(RETRY_PAUSE_S)
        # In flight at the kill, applied and committed, but the answer never arrived: the retry finds it.
        already_applied = sum(
            delivery.attempts > 1 and delivery.statuses[-1].endswith("duplicate") for delivery in deliveries
        )
        acked = [delivery for delivery in deliveries if delivery.acked]
        duplicates = draw.sample(acked, max(1, int(len(acked) * DUPLICATE_SHARE)))
        duplicate_outcomes = await _bounded(client, url, duplicates)
    return {
        "retried": retried,
        "retried_found_already_applied": already_applied,
        "duplicates_sent": len(duplicates),
        "duplicates_acknowledged": sum(duplicate_outcomes),
        "never_acknowledged": sum(not delivery.acked for delivery in deliveries),
    }


async def _bounded(client: httpx.AsyncClient, url: str, deliveries: list[Delivery]) -> list[bool]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(delivery: Delivery) -> bool:
        async with gate:
            return await _deliver(client, url, delivery)

    return list(await asyncio.gather(*(one(delivery) for delivery in deliveries)))


def _wait_for_inbox(db_url: str) -> int:
    """Seconds-bounded wait until no inbox row is still to be applied; returns how many remain."""
    inbox = WebhookEvent.__table__
    engine = create_db_engine(db_url)
    try:
        deadline = time.monotonic() + INBOX_SETTLE_TIMEOUT_S
        while True:
            with engine.connect() as connection:
                remaining = connection.execute(
                    select(func.count()).select_from(inbox).where(inbox.c.status != "applied")
                ).scalar_one()
            if remaining == 0 or time.monotonic() > deadline:
                return remaining
            time.sleep(0.5)
    finally:
        engine.dispose()


def drill(
    db_url: str,
    workdir: Path,
    *,
    events: int = EVENTS_DEFAULT,
    kill_after: float = KILL_AFTER_DEFAULT,
    kills: int = KILLS_DEFAULT,
    seed: int = SEED,
) -> dict:
    """One drill on one database; `ok` is true when reconcile is clean and every check holds."""
    started = time.perf_counter()
    draw = random.Random(seed)
    league = _served.prepare(db_url)
    env = _served.server_env(db_url, workdir)
    settings = load_settings(env)
    server = _served.Server(env, workdir)
    deliveries = plan(events, draw)
    url = f"{server.base_url}/api/webhooks/stripe"
    report: dict = {"deliveries_planned": events}
    try:
        _served.log(f"serving on {server.base_url}")
        report["kills"] = []
        for _kill in range(kills):
            server.start()
            cycle = asyncio.run(
                under_load_then_kill(url, deliveries, server, max(1, int(events * kill_after)))
            )
            _served.log(f"killed: {cycle}")
            report["kills"].append(cycle)
        server.start()
        report["retry"] = asyncio.run(retry_like_a_provider(url, deliveries, draw))
        report["inbox_not_applied_after_wait"] = _wait_for_inbox(db_url)
    finally:
        server.stop()
    verdict = judge(db_url, deliveries, settings, league)
    kinds = Counter(delivery.kind for delivery in deliveries)
    report.update(
        {
            "deliveries": dict(kinds),
            "distinct_events": len(verdict.expected.event_ids),
            "expected_balances": verdict.expected.balances,
            "reconcile": verdict.reconcile,
            "problems": verdict.problems,
            "ok": not verdict.problems
            and len(report["kills"]) == kills
            and all(cycle["killed"] for cycle in report["kills"]),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS_DEFAULT, help="sales and tips to deliver")
    parser.add_argument(
        "--kill-after",
        type=float,
        default=KILL_AFTER_DEFAULT,
        help="share of them acknowledged between two SIGKILLs",
    )
    parser.add_argument(
        "--kills", type=int, default=KILLS_DEFAULT, help="SIGKILL and restart this many times"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    options = {"events": args.events, "kill_after": args.kill_after, "kills": args.kills, "seed": args.seed}
    with contextlib.redirect_stdout(sys.stderr):
        runs = _served.on_each_database(
            lambda url, workdir: drill(url, workdir, **options), name="drill", postgres_url=args.postgres_url
        )
    _served.finish_drill("crash", runs, as_json=args.json)


if __name__ == "__main__":
    main()
