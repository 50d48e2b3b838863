"""Soak: a few minutes of mixed traffic at the served app; reconcile clean, memory bounded.

    python bench/soak.py [--seconds 300] [--postgres-url URL] [--token-expiration-s N] [--kinds K,...] [--json]

Serves the backend (`reflex run --env prod --backend-only`, 127.0.0.1; SQLite in a
temporary file, or a fresh PostgreSQL schema with --postgres-url) on a database with
a live 8-racer race and a DJ, and runs at once, each at its own steady rate:
- sales, tips and full refunds (of acknowledged sales): signed Stripe webhooks;
- page views: a websocket viewer (tests/reflex_viewer.py) hydrates /, /standings,
  /lobby, /wallet or /tip as a browser does (on_load handlers run), then leaves;
- API reads: GET /api/pot, /api/standings, /api/health;
- logins: the whole Discord OAuth flow against a fake Discord on 127.0.0.1
  (tests/fake_discord.py): /auth/discord/login, the fake's authorize, the
  callback (a session cookie), then /auth/logout;
- payouts: the DJ requests one (payout threshold) and the admin pays it, through
  the services, as the pages do.
--kinds runs only some kinds of traffic (each at its own rate), to find which one grows memory.
The server's resident memory (every process of its group) is sampled every
RSS_SAMPLE_EVERY_S. At the end the inbox must have applied every event and
`python -m cozykart reconcile --json` must be clean. Prints one JSON report
(requests and errors per kind, latency p50/p99 per kind, RSS start/peak/end and
its slope in MB per minute, over the whole run and its second half, and the
samples); exits 1 when
reconcile is not clean, an event is left unapplied, or any request failed.
Loopback only; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _served
from bench.crash_drill import _wait_for_inbox
from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import CozyKartError
from cozykart.services import payouts, wallet
from cozykart.services.handlers import HANDLERS
from cozykart.settings import load_settings
from tests.fake_discord import CLIENT_ID, CLIENT_SECRET, running_fake_discord
from tests.reflex_viewer import Viewer

SECONDS_DEFAULT = 300
RSS_SAMPLE_EVERY_S = 5
REQUEST_TIMEOUT_S = 30
PAGE_VIEW_TIMEOUT_S = 30
# Steady rates per second, per kind (a busy race night for one process, on a shared 2-core box).
RATES_PER_S = {
    "sale": 8.0,
    "tip": 2.0,
    "refund": 0.5,
    "api_read": 10.0,
    "page_view": 1.0,
    "login": 0.5,
    "payout": 0.1,
}
PAGES = ("/", "/standings", "/lobby", "/wallet", "/tip")
API_READS = ("/api/pot", "/api/standings", "/api/health")
SALE_CENTS_RANGE = (500, 6000)
TIP_CENTS_RANGE = (300, 2000)
SEED = 20261121


class Soak:
    def __init__(
        self,
        server: _served.Server,
        league: _served.League,
        db_url: str,
        settings,
        discord_base: str,
        seconds: float,
        kinds: tuple[str, ...] = tuple(RATES_PER_S),
    ) -> None:
        self.kinds = kinds
        self.server, self.league, self.db_url, self.settings = server, league, db_url, settings
        self.discord_base = discord_base
        self.deadline = time.monotonic() + seconds
        self.draw = random.Random(SEED)
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()  # nothing to do yet (a payout before the DJ has the threshold)
        self.error_samples: list[str] = []
        self.latency_ms: dict[str, list[float]] = defaultdict(list)
        self.acked_sales: list[dict] = []
        self.paid_out_cents = 0
        self.rss: list[tuple[float, int]] = []  # (seconds since start, bytes)
        self.engine = create_db_engine(db_url)

    # --- bookkeeping ---------------------------------------------------------------------

    def _done(self, kind: str, started: float, ok: bool, why: str = "") -> None:
        self.requests[kind] += 1
        self.latency_ms[kind].append((time.perf_counter() - started) * 1000)
        if not ok:
            self.errors[kind] += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{kind}: {why}"[:300])

    async def _steady(self, kind: str, action) -> None:
        """Start `action` RATES_PER_S[kind] times a second until the deadline (never waiting for one to end)."""
        interval_s = 1 / RATES_PER_S[kind]
        tasks: set[asyncio.Task] = set()
        next_at = time.monotonic()
        while time.monotonic() < self.deadline:
            task = asyncio.create_task(action())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_at += interval_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S * 2)

    # --- the kinds of traffic ----------------------------------------------------------------

    async def _webhook(self, kind: str, event: dict) -> bool:
        body, headers = _served.signed(event)
        started = time.perf_counter()
        try:
            response = await self.client.post(
                f"{self.server.base_url}/api/webhooks/stripe", content=body, headers=headers
            )
            answer = response.json() if response.status_code == 200 else {}
            ok = answer.get("status") == "applied"
            self._done(kind, started, ok, f"{response.status_code} {answer or response.text[:200]}")
            return ok
        except (httpx.HTTPError, ValueError) as error:
            self._done(kind, started, False, repr(error))
            return False

    async def sale(self) -> None:
        event = _served.sale_event(self.draw.randrange(*SALE_CENTS_RANGE))
        if await self._webhook("sale", event):
            self.acked_sales.append(event)

    async def tip(self) -> None:
        await self._webhook("tip", _served.tip_event(self.draw.randrange(*TIP_CENTS_RANGE)))

    async def refund(self) -> None:
        if self.acked_sales:
            sale = self.acked_sales.pop(self.draw.randrange(len(self.acked_sales)))
            await self._webhook("refund", _served.refund_event(sale))

    async def api_read(self) -> None:
        path = self.draw.choice(API_READS)
        started = time.perf_counter()
        try:
            response = await self.client.get(f"{self.server.base_url}{path}")
            self._done("api_read", started, response.status_code == 200, f"{path} {response.status_code}")
        except httpx.HTTPError as error:
            self._done("api_read", started, False, f"{path} {error!r}")

    async def page_view(self) -> None:
        path = self.draw.choice(PAGES)
        viewer = Viewer(self.server.base_url, path)
        started = time.perf_counter()
        try:
            await asyncio.wait_for(viewer.connect(), PAGE_VIEW_TIMEOUT_S)
            await viewer.wait_for(lambda seen: seen.updates > 0, PAGE_VIEW_TIMEOUT_S)
            self._done("page_view", started, True)
        except (OSError, TimeoutError, socketio.exceptions.SocketIOError) as error:
            self._done("page_view", started, False, f"{path} {error!r}")
        finally:
            with contextlib.suppress(Exception):
                await viewer.disconnect()

    async def login(self) -> None:
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, follow_redirects=False) as browser:
            try:
                start = await browser.get(
                    f"{self.server.base_url}/auth/discord/login", params={"next": "/wallet"}
                )
                assert start.status_code == 302, f"login {start.status_code}"
                approve = await browser.get(start.headers["location"])
                assert approve.status_code == 302, f"authorize {approve.status_code}"
                back = await browser.get(approve.headers["location"])
                assert back.status_code in (302, 303) and back.headers.get("set-cookie"), (
                    f"callback {back.status_code}"
                )
                out = await browser.get(f"{self.server.base_url}/auth/logout")
                assert out.status_code in (302, 303), f"logout {out.status_code}"
                self._done("login", started, True)
            except (AssertionError, httpx.HTTPError, KeyError) as error:
                self._done("login", started, False, repr(error))

    async def payout(self) -> None:
        started = time.perf_counter()
        try:
            paid_cents = await asyncio.to_thread(self._request_and_pay)
            if paid_cents == 0:
                self.skipped["payout"] += 1
                return
            self.paid_out_cents += paid_cents
            self._done("payout", started, True)
        except CozyKartError as error:  # refused by the service: counted and shown
            self._done("payout", started, False, repr(error))

    def _request_and_pay(self) -> int:
        """The DJ asks for the threshold once it is available (before that there is nothing to ask)."""
        amount_cents = self.settings.payout_min_cents
        available_cents = wallet.wallet_summary(
            self.league.dj_id, uow=UnitOfWork(self.engine, handlers=HANDLERS, settings=self.settings)
        ).available_cents
        if available_cents < amount_cents:
            return 0
        payout_id = payouts.request_payout(
            self.league.dj_id,
            amount_cents,
            key=f"soak-{uuid.uuid4().hex}",
            uow=UnitOfWork(self.engine, handlers=HANDLERS, settings=self.settings),
        )
        payouts.pay_payout(
            self.league.admin_id,
            payout_id,
            method="paypal",
            reference=f"SOAK-{payout_id}",
            uow=UnitOfWork(self.engine, handlers=HANDLERS, settings=self.settings),
        )
        return amount_cents

    # --- memory ------------------------------------------------------------------------------

    async def sample_rss(self) -> None:
        started = time.monotonic()
        while time.monotonic() < self.deadline:
            self.rss.append((time.monotonic() - started, group_rss_bytes(self.server.process.pid)))
            await asyncio.sleep(RSS_SAMPLE_EVERY_S)
        self.rss.append((time.monotonic() - started, group_rss_bytes(self.server.process.pid)))

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as self.client:
            await asyncio.gather(
                self.sample_rss(), *(self._steady(kind, getattr(self, kind)) for kind in self.kinds)
            )


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of every process in the process group `pgid` (from /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # after the command: state, ppid, pgrp
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


def slope_mb_per_min(samples: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of RSS over time."""
    if len(samples) < 3:
        return None
    times = [t for t, _ in samples]
    megabytes = [b / 2**20 for _, b in samples]
    mean_t, mean_m = statistics.fmean(times), statistics.fmean(megabytes)
    spread = sum((t - mean_t) ** 2 for t in times)
    if spread == 0:
        return None
    per_s = sum((t - mean_t) * (m - mean_m) for t, m in zip(times, megabytes, strict=True)) / spread
    return round(per_s * 60, 3)


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {
        "p50": round(statistics.median(ordered), 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "max": round(ordered[-1], 1),
    }


def soak(
    db_url: str,
    workdir: Path,
    seconds: float,
    *,
    token_expiration_s: int | None = None,
    kinds: tuple[str, ...] = tuple(RATES_PER_S),
) -> dict:
    league = _served.prepare(db_url)
    extra = {"REFLEX_REDIS_TOKEN_EXPIRATION": str(token_expiration_s)} if token_expiration_s else {}
    with running_fake_discord() as fake:
        env = _served.server_env(
            db_url,
            workdir,
            COZYKART_HOLD_DAYS="0",
            DISCORD_CLIENT_ID=CLIENT_ID,
            DISCORD_CLIENT_SECRET=CLIENT_SECRET,
            DISCORD_API_BASE=fake.base_url,
            **extra,
        )
        settings = load_settings(env)
        server = _served.Server(env, workdir)
        try:
            server.start()
            _served.log(f"serving on {server.base_url} for {seconds:.0f} s")
            run = Soak(server, league, db_url, settings, fake.base_url, seconds, kinds)
            started = time.perf_counter()
            asyncio.run(run.run())
            wall_s = time.perf_counter() - started
            not_applied = _wait_for_inbox(db_url)
        finally:
            server.stop()
            with contextlib.suppress(NameError):
                run.engine.dispose()
    reconcile_status, reconcile_report = _served.reconcile(db_url)
    rss = run.rss
    half = [sample for sample in rss if sample[0] >= rss[-1][0] / 2]
    report = {
        "seconds": round(wall_s, 1),
        "rates_per_s": {kind: RATES_PER_S[kind] for kind in kinds},
        "requests": dict(run.requests),
        "requests_total": sum(run.requests.values()),
        "errors": dict(run.errors),
        "skipped": dict(run.skipped),
        "error_samples": run.error_samples,
        "latency_ms": {kind: _percentiles(values) for kind, values in sorted(run.latency_ms.items())},
        "paid_out_cents": run.paid_out_cents,
        "rss_mb": {
            "start": round(rss[0][1] / 2**20, 1),
            "peak": round(max(b for _, b in rss) / 2**20, 1),
            "end": round(rss[-1][1] / 2**20, 1),
            "samples": len(rss),
            "every_s": RSS_SAMPLE_EVERY_S,
            "slope_mb_per_min": slope_mb_per_min(rss),
            "slope_second_half_mb_per_min": slope_mb_per_min(half),
            "series": [round(b / 2**20, 1) for _, b in rss],
        },
        "inbox_not_applied": not_applied,
        "reconcile": {
            "exit_status": reconcile_status,
            "clean": reconcile_report.get("clean"),
            "violations": reconcile_report.get("violations"),
        },
    }
    report["ok"] = reconcile_status == 0 and not_applied == 0 and not run.errors
    return report


def _kinds(value: str) -> tuple[str, ...]:
    kinds = tuple(kind.strip() for kind in value.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in RATES_PER_S]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"kinds are some of {','.join(RATES_PER_S)}; not {unknown or value!r}"
        )
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=SECONDS_DEFAULT)
    parser.add_argument("--postgres-url", default=None, help="soak on a fresh schema of this PostgreSQL")
    parser.add_argument(
        "--token-expiration-s",
        type=int,
        default=None,
        help="how long the server keeps a visitor's state (Reflex's default: an hour)",
    )
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=tuple(RATES_PER_S),
        help=f"comma-separated kinds of traffic to run (default: all of {','.join(RATES_PER_S)})",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object, the only stdout")
    args = parser.parse_args()
    load_1, load_5, load_15 = os.getloadavg()
    report: dict = {
        "soak": "mixed traffic",
        "database": "postgresql" if args.postgres_url else "sqlite",
        "cores": os.cpu_count(),
        "load_average_at_start": [round(load_1, 2), round(load_5, 2), round(load_15, 2)],
    }
    with contextlib.redirect_stdout(sys.stderr), tempfile.TemporaryDirectory(prefix="cozykart-soak-") as tmp:
        if args.postgres_url:
            url, schema = _served.postgres_schema(args.postgres_url, "soak")
            try:
                report.update(
                    soak(
                        url,
                        Path(tmp),
                        args.seconds,
                        token_expiration_s=args.token_expiration_s,
                        kinds=args.kinds,
                    )
                )
            finally:
                _served.drop_schema(args.postgres_url, schema)
        else:
            report.update(
                soak(
                    f"sqlite:///{tmp}/soak.db",
                    Path(tmp),
                    args.seconds,
                    token_expiration_s=args.token_expiration_s,
                    kinds=args.kinds,
                )
            )
    print(json.dumps(report) if args.json else json.dumps(report, indent=2), flush=True)
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
