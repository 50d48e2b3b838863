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

from bench import _served  # noqa: E402  (the same race and signed sales as bench/webhooks.py)
from bench.webhooks import _signed_sale  # noqa: E402
from cozykart.db.engine import create_db_engine  # noqa: E402
from cozykart.db.types import utc_now  # noqa: E402
from cozykart.db.uow import UnitOfWork  # noqa: E402
from cozykart.domain.payments import InboxStatus  # noqa: E402
from cozykart.integrations import stripe_payments  # noqa: E402
from cozykart.services import webhooks  # noqa: E402
from cozykart.services.handlers import HANDLERS  # noqa: E402
from cozykart.settings import Settings  # noqa: E402


def _deliveries(settings: Settings, count: int) -> list[webhooks.Delivery]:
    deliveries = []
    for _ in range(count):
        body, headers = _signed_sale()
        event = stripe_payments.parse_webhook(body, headers["Stripe-Signature"], _served.STRIPE_SECRET)
        deliveries.append(webhooks.Delivery(event, "0" * 64, utc_now()))
    return deliveries


def _run(backend: str, db_url: str, events: int, batch: int) -> dict:
    _served.prepare(db_url)
    settings = Settings(db_url=db_url, stripe_webhook_secret=_served.STRIPE_SECRET)
    engine = create_db_engine(db_url)
    try:
        webhooks.receive_batch(
            _deliveries(settings, 50), uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings)
        )  # warm up
        deliveries = _deliveries(settings, events)
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, events, batch):
            outcomes = webhooks.receive_batch(
                deliveries[start : start + batch],
                uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
            )
            assert all(getattr(o, "status", None) == InboxStatus.APPLIED for o in outcomes), outcomes[:3]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        engine.dispose()
    return {
        "database": backend,
        "events": events,
        "batch": batch,
        "events_per_s": round(events / wall, 1),
        "cpu_us_per_event": round(1e6 * cpu / events, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--json", action="store_true", help="print the report as one JSON line, the only stdout"
    )
    args = parser.parse_args()
    reports = []
    with contextlib.redirect_stdout(sys.stderr):
        with tempfile.TemporaryDirectory(prefix="cozykart-bench-db-") as tmp:
            reports.append(_run("sqlite", f"sqlite:///{tmp}/bench.db", args.events, args.batch))
        if args.postgres_url:
            url, schema = _served.postgres_schema(args.postgres_url, "writer")
            try:
                reports.append(_run("postgresql", url, args.events, args.batch))
            finally:
                _served.drop_schema(args.postgres_url, schema)
    report = {"bench": "webhook_writer", "racers": _served.RACERS_PER_RACE, "reports": reports}
    print(json.dumps(report) if args.json else json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()
