"""The group-commit writer's own ceiling: signed sales stored and applied in batches, no HTTP.

    python bench/webhook_writer.py [--events 3000] [--batch 100] [--postgres-url URL] [--json]

Verified Stripe sales (parsed once, before timing) go through
`webhooks.receive_batch` in batches of `--batch`, on a live 8-racer race, on
SQLite and on PostgreSQL (when a URL is given or COZYKART_TEST_POSTGRES_URL is
set). Prints events per second (wall) and the CPU time per event of this process
(the PostgreSQL server's own CPU is not in it). Asserts that every sale applied.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import webhooks as served_bench  # noqa: E402  (bench/webhooks.py: the same race and signed sales)
from sqlalchemy import create_engine, text  # noqa: E402

from cozykart.db.engine import create_db_engine  # noqa: E402
from cozykart.db.types import utc_now  # noqa: E402
from cozykart.db.uow import UnitOfWork  # noqa: E402
from cozykart.integrations import stripe_payments  # noqa: E402
from cozykart.services import webhooks  # noqa: E402
from cozykart.services.handlers import HANDLERS  # noqa: E402
from cozykart.settings import Settings  # noqa: E402


def _deliveries(settings: Settings, count: int) -> list[webhooks.Delivery]:
    deliveries = []
    for _ in range(count):
        body, headers = served_bench._signed_sale()
        event = stripe_payments.parse_webhook(body, headers["Stripe-Signature"], served_bench.SECRET)
        deliveries.append(webhooks.Delivery(event, "0" * 64, settings, utc_now()))
    return deliveries


def _run(backend: str, db_url: str, events: int, batch: int) -> dict:
    served_bench._prepare(db_url)
    settings = Settings(db_url=db_url, stripe_webhook_secret=served_bench.SECRET)
    engine = create_db_engine(db_url)
    try:
        webhooks.receive_batch(_deliveries(settings, 50), uow=UnitOfWork(engine, handlers=HANDLERS))  # warm up
        deliveries = _deliveries(settings, events)
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, events, batch):
            outcomes = webhooks.receive_batch(deliveries[start:start + batch], uow=UnitOfWork(engine, handlers=HANDLERS))
            assert all(getattr(o, "status", None) == webhooks.APPLIED for o in outcomes), outcomes[:3]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        engine.dispose()
    return {"database": backend, "events": events, "batch": batch, "events_per_s": round(events / wall, 1),
            "cpu_us_per_event": round(1e6 * cpu / events, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line, the only stdout")
    args = parser.parse_args()
    reports = []
    with contextlib.redirect_stdout(sys.stderr):
        with tempfile.TemporaryDirectory(prefix="cozykart-bench-db-") as tmp:
            reports.append(_run("sqlite", f"sqlite:///{tmp}/bench.db", args.events, args.batch))
        if args.postgres_url:
            url, schema = served_bench._postgres_schema_url(args.postgres_url)
            try:
                reports.append(_run("postgresql", url, args.events, args.batch))
            finally:
                engine = create_engine(args.postgres_url)
                with engine.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                engine.dispose()
    report = {"bench": "webhook_writer", "racers": served_bench.RACERS_PER_RACE, "reports": reports}
    print(json.dumps(report) if args.json else json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()
