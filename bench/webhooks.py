"""Signed Stripe sales posted over HTTP to the served app, with a live 8-racer race.

    python bench/webhooks.py [--events 2000] [--rate 200] [--seconds 10] [--postgres-url URL]
                             [--json] [--profile DIR] [--workers N] [--sqlite-only]

For each database (SQLite; PostgreSQL when a URL is given or COZYKART_TEST_POSTGRES_URL
is set) it serves the Reflex backend (`reflex run --env prod --backend-only`, one
worker, 127.0.0.1), then measures:
- throughput: `--events` sales posted by `CONCURRENCY` clients as fast as the
  server acknowledges them; settled events per second = events applied (counted in
  the ledger afterwards) / wall time;
- latency: sales offered at a fixed `--rate` per second for `--seconds`;
  acknowledgement p50/p99 (from sending the request to reading the 200);
- the server's CPU time per settled event in the throughput run (its processes'
  user + system time from /proc), which a shared machine distorts less than rates.
Prints one JSON report; asserts nothing about time. With `--json` that report is
the only output on stdout, on one line (progress goes to stderr). With `--profile
DIR`, py-spy samples the served backend during the throughput run and DIR gets its
flame graph (SVG) and the top functions by own and total time (text), per database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench import _served  # noqa: E402
from cozykart.db.engine import create_db_engine  # noqa: E402
from cozykart.integrations import stripe_payments  # noqa: E402

CONCURRENCY = 16
SALE_CENTS = 3000
REQUEST_TIMEOUT_S = 30


def _signed_sale() -> tuple[bytes, dict[str, str]]:
    token = uuid.uuid4().hex
    event = stripe_payments.checkout_completed_event(
        event_id=f"evt_{token}",
        session_id=f"cs_{token}",
        payment_intent=f"pi_{token}",
        amount_cents=SALE_CENTS,
        currency="usd",
        created=int(time.time()),
        metadata={"item": "Bench tee"},
    )
    body = json.dumps(event)
    return body.encode(), {
        "Content-Type": "application/json",
        "Stripe-Signature": stripe_payments.sign(body, _served.STRIPE_SECRET),
    }


async def _post(client: httpx.AsyncClient, url: str) -> tuple[float, bool]:
    body, headers = _signed_sale()
    started = time.perf_counter()
    response = await client.post(url, content=body, headers=headers)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return elapsed_ms, response.status_code == 200 and response.json().get("status") == "applied"


async def _throughput(url: str, events: int) -> dict:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(events):
        queue.put_nowait(n)
    latencies: list[float] = []
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            elapsed_ms, ok = await _post(client, url)
            latencies.append(elapsed_ms)
            failures += not ok

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        wall_s = time.perf_counter() - started
    return {
        "events": events,
        "failures": failures,
        "wall_s": round(wall_s, 2),
        "acknowledged_per_s": round(events / wall_s, 1),
        **_percentiles(latencies),
    }


async def _fixed_rate(url: str, rate: int, seconds: int) -> dict:
    total = rate * seconds
    interval_s = 1 / rate
    tasks = []
    async with httpx.AsyncClient(
        timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=256)
    ) as client:
        started = time.perf_counter()
        for n in range(total):
            delay = started + n * interval_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_post(client, url)))
        results = await asyncio.gather(*tasks)
    latencies = [elapsed for elapsed, _ in results]
    return {
        "offered_per_s": rate,
        "events": total,
        "failures": sum(not ok for _, ok in results),
        **_percentiles(latencies),
    }


def _percentiles(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "ack_p50_ms": round(statistics.median(ordered), 1),
        "ack_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "ack_max_ms": round(ordered[-1], 1),
    }


def _settled(db_url: str) -> int:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("select count(*) from webhook_event where status = 'applied'")
            ).scalar_one()
    finally:
        engine.dispose()


def _start_profiler(process: subprocess.Popen, out: Path) -> subprocess.Popen:
    """py-spy sampling the served backend and its worker processes (threads holding the GIL: where the
    Python CPU goes), as collapsed stacks."""
    profiler = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "py-spy"),
            "record",
            "--pid",
            str(process.pid),
            "--subprocesses",
            "--gil",
            "--nonblocking",
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=sys.stderr,
        stdin=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach
    return profiler


def _stop_profiler(profiler: subprocess.Popen, raw: Path, summary: Path) -> None:
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()
    if raw.exists():
        summary.write_text(_profile_summary(raw.read_text()))


def _profile_summary(collapsed: str, top: int = 25) -> str:
    """Top functions by own samples and by total samples, from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not frames or frames[-1].startswith("thread ("):
            continue
        samples += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count
    lines = [f"{samples} samples (all threads)", "", "own %   function"]
    lines += [
        f"{100 * n / samples:5.1f}   {frame}" for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]
    ]
    lines += ["", "total % function"]
    lines += [
        f"{100 * n / samples:5.1f}   {frame}"
        for frame, n in sorted(total.items(), key=lambda kv: -kv[1])[:top]
    ]
    return "\n".join(lines) + "\n"


def _cpu_s(root_pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    family = {root_pid}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in family)


def _run(backend: str, db_url: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="cozykart-bench-") as tmp:
        _served.prepare(db_url)
        workers = {"GRANIAN_WORKERS": str(args.workers)} if args.workers > 1 else {}
        # Several worker processes (each with its own webhook writer) share state through Redis.
        redis_url = (args.redis_url or "redis://127.0.0.1:6379") if args.workers > 1 else None
        server = _served.Server(
            _served.server_env(db_url, Path(tmp), redis_url=redis_url, **workers), Path(tmp)
        )
        server.start()
        process = server.process
        url = f"{server.base_url}/api/webhooks/stripe"
        profiler = None
        try:
            _log(f"{backend}: warming up")
            asyncio.run(_throughput(url, 50))  # warm up
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                profiler = _start_profiler(process, args.profile / f"{backend}.raw.txt")
            before = _settled(db_url)
            _log(f"{backend}: {args.events} events at concurrency {CONCURRENCY}")
            started = time.perf_counter()
            cpu_before = _cpu_s(process.pid)
            throughput = asyncio.run(_throughput(url, args.events))
            cpu_used = _cpu_s(process.pid) - cpu_before
            settled = _settled(db_url) - before
            throughput["settled_per_s"] = round(settled / (time.perf_counter() - started), 1)
            # The server's own CPU per settled event (all its processes and threads): a figure a busy
            # machine changes far less than the rates, and 1,000 / it is what one free core could settle.
            throughput["server_cpu_ms_per_event"] = round(1000 * cpu_used / max(settled, 1), 3)
            if profiler is not None:
                _stop_profiler(
                    profiler, args.profile / f"{backend}.raw.txt", args.profile / f"{backend}.top.txt"
                )
                profiler = None
            _log(f"{backend}: {args.rate}/s for {args.seconds} s")
            before = _settled(db_url)
            latency = asyncio.run(_fixed_rate(url, args.rate, args.seconds))
            latency["settled"] = _settled(db_url) - before
        finally:
            if profiler is not None:
                profiler.kill()
            server.stop()
    return {"database": backend, "workers": args.workers, "throughput": throughput, "fixed_rate": latency}


def _log(message: str) -> None:
    print(f"bench/webhooks: {message}", file=sys.stderr, flush=True)


def _measure(args: argparse.Namespace) -> list[dict]:
    reports = []
    with tempfile.TemporaryDirectory(prefix="cozykart-bench-db-") as tmp:
        reports.append(_run("sqlite", f"sqlite:///{tmp}/bench.db", args))
    if args.postgres_url and not args.sqlite_only:
        url, schema = _served.postgres_schema(args.postgres_url, "bench")
        try:
            reports.append(_run("postgresql", url, args))
        finally:
            _served.drop_schema(args.postgres_url, schema)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--postgres-url", default=os.environ.get("COZYKART_TEST_POSTGRES_URL"))
    parser.add_argument("--workers", type=int, default=1, help="backend worker processes (2+ use Redis)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REFLEX_REDIS_URL"),
        help="Redis for --workers 2+ (default: the local one)",
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even when a URL is set")
    parser.add_argument(
        "--json", action="store_true", help="print the report as one JSON line, the only stdout"
    )
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of the throughput run here")
    args = parser.parse_args()
    # Only the report goes to stdout (bench/run.py reads it); anything printed on the way goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        reports = _measure(args)
    report = {
        "bench": "webhooks",
        "concurrency": CONCURRENCY,
        "racers": _served.RACERS_PER_RACE,
        "reports": reports,
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()
