"""Backup drill: `python -m cozykart backup` while the served app takes webhooks, then restore and prove it.

    python bench/backup_drill.py [--events 240] [--postgres-url URL] [--json]

For SQLite (a file) and, when a URL is given or COZYKART_TEST_POSTGRES_URL is set,
PostgreSQL (fresh schemas):
1. prepares a database with a live 8-racer race and a DJ and serves the backend
   (bench/_served.Server, as the crash drill does);
2. drives signed Stripe sales, tips and full refunds of acknowledged sales at it from
   a background thread (bench/crash_drill.plan), CONCURRENCY at a time;
3. once a third of the planned events are acknowledged, runs
   `python -m cozykart backup --to FILE --json` as an operator would, while the load
   goes on: free-running before and after it, a steady trickle while the command runs
   (whenever its copy's instant falls, deliveries are arriving), a quarter of the plan
   kept for after it;
4. retries what was not acknowledged and sends duplicates (crash_drill's provider),
   waits for the inbox, stops the server and proves the source exact (crash_drill.check,
   reconcile);
5. restores FILE into a fresh database (`python -m cozykart restore --from FILE --json`),
   runs reconcile there, and checks the copy is the source at one instant: its ledger
   transactions are a prefix of the source's (same ids, same keys, same postings), every
   account's balance equals the sum of the source's postings of exactly those
   transactions, the inbox rows restored are exactly the events whose transactions are
   in it, all applied (no half-applied event), every event acknowledged before the backup
   began is in it and none first sent after it ended.

Prints one JSON report (with `--json`: one object, the only stdout); exits 1 when a check
fails on any database. Bounded: every request, wait and command has a limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from bench import _served, crash_drill
from cozykart.db import ledger_repo as repo
from cozykart.db.inbox_tables import WebhookEvent
from cozykart.settings import load_settings

EVENTS_DEFAULT = 240
CONCURRENCY = 8
BACKUP_AFTER_SHARE = 1 / 3  # of the planned events acknowledged before the backup starts
DURING_PER_S = 10  # deliveries started per second while the backup command runs
RESERVE_SHARE = 1 / 4  # of the plan, kept for after the backup
COMMAND_TIMEOUT_S = 300
LOAD_TIMEOUT_S = 300
POLL_S = 0.05
SEED = 20261203


@dataclass
class Load:
    """The background deliveries: what was sent and acknowledged, and when (monotonic seconds).

    Free-running before the backup and after it; while the backup command runs, a steady
    trickle (DURING_PER_S) so deliveries arrive across the whole command, whenever its copy's
    instant falls, with RESERVE_SHARE of the plan kept for after it.
    """

    url: str
    deliveries: list[crash_drill.Delivery]
    backup_started: threading.Event = field(default_factory=threading.Event)
    backup_done: threading.Event = field(default_factory=threading.Event)
    first_sent: dict[str, float] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._drive())
        except BaseException as error:  # noqa: BLE001 - handed to the drill, which reports it
            self.error = error

    async def _drive(self) -> None:
        pending = list(reversed(self.deliveries))
        reserve = int(len(self.deliveries) * RESERVE_SHARE)
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        next_slot = 0.0
        in_flight = 0

        def next_delivery() -> crash_drill.Delivery | None:
            nonlocal next_slot
            if not pending:
                return None
            if self.backup_started.is_set() and not self.backup_done.is_set():
                now = time.monotonic()
                if len(pending) <= reserve or now < next_slot:
                    return None
                next_slot = now + 1 / DURING_PER_S
            return pending.pop()

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal in_flight
            while (pending or in_flight) and time.monotonic() < deadline:
                delivery = next_delivery()
                if delivery is None:
                    await asyncio.sleep(POLL_S)
                    continue
                in_flight += 1
                self.first_sent.setdefault(delivery.event_id, time.monotonic())
                try:
                    if not await crash_drill._deliver(client, self.url, delivery):
                        continue
                finally:
                    in_flight -= 1
                self.acked_at[delivery.event_id] = time.monotonic()
                if crash_drill._refund_due(delivery):
                    refund = crash_drill._refund_for(delivery)
                    self.deliveries.append(refund)
                    pending.insert(0, refund)

        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(timeout=crash_drill.REQUEST_TIMEOUT_S, limits=limits) as client:
            await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))


def _cli(db_url: str, *args: str) -> tuple[dict, float]:
    """`python -m cozykart ARGS --json` on `db_url`: its JSON and the command's wall seconds."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "cozykart", *args, "--json"],
        cwd=_served.ROOT,
        env=dict(os.environ, REFLEX_DB_URL=db_url),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {completed.returncode}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout), round(seconds, 3)


def _wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def ledger_of(db_url: str) -> dict:
    """The ledger and inbox of a database: transactions, their postings by account code, balances."""
    account, transaction, posting = repo.account_table, repo.transaction_table, repo.posting_table
    inbox = WebhookEvent.__table__
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            postings: dict[int, list[tuple[str, int]]] = defaultdict(list)
            for transaction_id, code, cents in connection.execute(
                select(posting.c.transaction_id, account.c.code, posting.c.amount_cents).join(
                    account, account.c.id == posting.c.account_id
                )
            ):
                postings[transaction_id].append((code, cents))
            return {
                "transactions": {
                    row.id: (row.key, row.kind, sorted(postings[row.id]))
                    for row in connection.execute(
                        select(transaction.c.id, transaction.c.key, transaction.c.kind)
                    )
                },
                "balances": dict(connection.execute(select(account.c.code, account.c.balance_cents)).all()),
                "inbox": dict(connection.execute(select(inbox.c.event_id, inbox.c.status)).all()),
            }
    finally:
        engine.dispose()


def transaction_key(delivery: crash_drill.Delivery) -> str:
    """The ledger transaction a delivery's event makes (services/ledger.py's keys)."""
    if delivery.kind == "refund":
        charge = delivery.event["data"]["object"]
        return f"refund:stripe:{charge['id']}:refunded:{charge['amount_refunded']}"
    return f"payment:{delivery.payment_key}"


def events_in(copy: dict, deliveries: list[crash_drill.Delivery]) -> set[str]:
    """The events whose transactions the copy holds."""
    keys = {key for key, _kind, _postings in copy["transactions"].values()}
    return {delivery.event_id for delivery in deliveries if transaction_key(delivery) in keys}


def compare(source: dict, copy: dict, deliveries: list[crash_drill.Delivery], instants: dict) -> list[str]:
    """Every way the copy differs from the source at one instant (see the module's step 5)."""
    problems = []
    ids = set(copy["transactions"])
    strangers = ids - set(source["transactions"])
    if strangers:
        problems.append(
            f"{len(strangers)} transactions in the copy are not in the source: {sorted(strangers)[:3]}"
        )
    changed = [i for i in ids - strangers if copy["transactions"][i] != source["transactions"][i]]
    if changed:
        problems.append(
            f"{len(changed)} transactions differ from the source's (key or postings): {changed[:3]}"
        )
    last = max(ids, default=0)
    gaps = sorted(i for i in source["transactions"] if i <= last and i not in ids)
    if gaps:
        problems.append(
            f"not a prefix: the copy lacks {len(gaps)} source transactions before #{last}: {gaps[:3]}"
        )
    expected: dict[str, int] = defaultdict(int)
    for code in source["balances"]:
        expected[code] = 0
    for i in ids - strangers:
        for code, cents in source["transactions"][i][2]:
            expected[code] += cents
    for code in set(expected) | set(copy["balances"]):
        if copy["balances"].get(code, 0) != expected.get(code, 0):
            problems.append(
                f"{code} holds {copy['balances'].get(code, 0)} in the copy, expected {expected[code]}"
            )
    in_copy = events_in(copy, deliveries)
    if set(copy["inbox"]) != in_copy:
        problems.append(
            f"inbox rows {len(set(copy['inbox']) - in_copy)} without their transaction, "
            f"{len(in_copy - set(copy['inbox']))} transactions without their inbox row"
        )
    not_applied = {status for status in copy["inbox"].values() if status != "applied"}
    if not_applied:
        problems.append(f"inbox rows in the copy not applied: {sorted(not_applied)}")
    early = {e for e, at in instants["acked_at"].items() if at < instants["backup_started"]}
    if early - in_copy:
        problems.append(f"{len(early - in_copy)} events acknowledged before the backup began are not in it")
    late = {e for e, at in instants["first_sent"].items() if at > instants["backup_ended"]}
    if late & in_copy:
        problems.append(f"{len(late & in_copy)} events first sent after the backup ended are in it")
    return problems


def _phases(load: Load, started: float, ended: float) -> dict:
    acked = load.acked_at.values()
    return {
        "before": sum(at < started for at in acked),
        "during": sum(started <= at <= ended for at in acked),
        "after": sum(at > ended for at in acked),
    }


def _during_split(load: Load, instants: dict, in_copy: set[str]) -> dict:
    """The deliveries acknowledged while the command ran: in the copy (before its instant) or not."""
    during = {
        e for e, at in load.acked_at.items() if instants["backup_started"] <= at <= instants["backup_ended"]
    }
    return {"in_copy": len(during & in_copy), "not_in_copy": len(during - in_copy)}


def _serve_and_back_up(db_url: str, workdir: Path, events: int, draw: random.Random) -> tuple[dict, Load]:
    """Steps 1 to 4: the load, the backup in its middle, the provider's retries; the report so far."""
    league = _served.prepare(db_url)
    env = _served.server_env(db_url, workdir)
    settings = load_settings(env)
    server = _served.Server(env, workdir)
    url = f"{server.base_url}/api/webhooks/stripe"
    load = Load(url, crash_drill.plan(events, draw))
    file = workdir / "backups" / "league.backup"
    report: dict = {"deliveries_planned": events, "backup_file": str(file)}
    try:
        server.start()
        _served.log(f"serving on {server.base_url}")
        thread = threading.Thread(target=load.run, name="backup-drill-load", daemon=True)
        thread.start()
        report["load_reached_backup_point"] = _wait_for(
            lambda: len(load.acked_at) >= int(events * BACKUP_AFTER_SHARE) or not thread.is_alive(),
            LOAD_TIMEOUT_S,
        )
        backup_started = time.monotonic()
        load.backup_started.set()
        try:
            report["backup"], report["backup_command_seconds"] = _cli(db_url, "backup", "--to", str(file))
        finally:
            backup_ended = time.monotonic()
            load.backup_done.set()
        thread.join(LOAD_TIMEOUT_S)
        report["load_finished"] = not thread.is_alive() and load.error is None
        report["acknowledged"] = _phases(load, backup_started, backup_ended)
        report["retry"] = asyncio.run(crash_drill.retry_like_a_provider(url, load.deliveries, draw))
        report["inbox_not_applied_after_wait"] = crash_drill._wait_for_inbox(db_url)
    finally:
        server.stop()
    expected = crash_drill.expected_of(
        load.deliveries,
        commission_bps=settings.commission_rate_bps,
        tip_fee_bps=settings.tip_fee_bps,
        race_id=league.race_id,
        dj_id=league.dj_id,
    )
    report["source_problems"] = crash_drill.check(expected, crash_drill.observe(db_url))
    report["instants"] = {"backup_started": backup_started, "backup_ended": backup_ended}
    return report, load


def drill(
    db_url: str, restore_url: str, workdir: Path, *, events: int = EVENTS_DEFAULT, seed: int = SEED
) -> dict:
    """One drill: `db_url` serves and is backed up under load, `restore_url` (empty) gets the copy."""
    started = time.perf_counter()
    report, load = _serve_and_back_up(db_url, workdir, events, random.Random(seed))
    source_status, source_reconcile = _served.reconcile(db_url)
    report["restore"], report["restore_command_seconds"] = _cli(
        restore_url, "restore", "--from", report["backup_file"]
    )
    status, restored = _served.reconcile(restore_url)
    instants = {**report.pop("instants"), "acked_at": load.acked_at, "first_sent": load.first_sent}
    source, copy = ledger_of(db_url), ledger_of(restore_url)
    problems = [f"source: {problem}" for problem in report["source_problems"]]
    problems += compare(source, copy, load.deliveries, instants)
    if len(copy["transactions"]) != report["backup"]["contents"]["transactions"]:
        problems.append(
            f"the backup said {report['backup']['contents']['transactions']} transactions, "
            f"the copy holds {len(copy['transactions'])}"
        )
    if source_status != 0:
        problems.append(
            f"reconcile of the source exited {source_status}: {source_reconcile.get('violations')}"
        )
    if status != 0:
        problems.append(f"reconcile of the restored copy exited {status}: {restored.get('violations')}")
    if load.error is not None:
        problems.append(f"the load failed: {load.error!r}")
    report.update(
        {
            "deliveries": len(load.deliveries),
            "source_transactions": len(source["transactions"]),
            "transactions_in_copy": len(copy["transactions"]),
            "inbox_events_in_copy": len(copy["inbox"]),
            "acknowledged_during": _during_split(load, instants, events_in(copy, load.deliveries)),
            "reconcile": {
                "source_clean": source_reconcile.get("clean"),
                "restored_clean": restored.get("clean"),
            },
            "problems": problems,
            "ok": not problems and report["load_finished"] and report["load_reached_backup_point"],
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS_DEFAULT, help="sales and tips to deliver")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    runs = {}
    with contextlib.redirect_stdout(sys.stderr):
        with tempfile.TemporaryDirectory(prefix="cozykart-backup-drill-") as tmp:
            runs["sqlite"] = drill(
                f"sqlite:///{tmp}/source.db",
                f"sqlite:///{tmp}/restored.db",
                Path(tmp),
                events=args.events,
                seed=args.seed,
            )
        if args.postgres_url:
            source_url, source_schema = _served.postgres_schema(args.postgres_url, "backup_source")
            restore_url, restore_schema = _served.postgres_schema(args.postgres_url, "backup_restored")
            try:
                with tempfile.TemporaryDirectory(prefix="cozykart-backup-drill-") as tmp:
                    runs["postgresql"] = drill(
                        source_url, restore_url, Path(tmp), events=args.events, seed=args.seed
                    )
            finally:
                _served.drop_schema(args.postgres_url, source_schema)
                _served.drop_schema(args.postgres_url, restore_schema)
    _served.finish_drill("backup", runs, as_json=args.json)


if __name__ == "__main__":
    main()
