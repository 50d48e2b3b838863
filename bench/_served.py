"""What the benchmarks share. For the ones that serve the app (webhooks, crash drill, soak,
fan-out): a database with a live race and a DJ, the Reflex backend on 127.0.0.1 in its own
process group, signed Stripe events, and the ledger's own `reconcile --json` run as the operator
would. For all: a fresh PostgreSQL schema per run, and `timed` (median, p95 and max of a repeat).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cozykart.db.engine import create_db_engine  # noqa: E402
from cozykart.db.migrate import upgrade  # noqa: E402
from cozykart.db.uow import UnitOfWork  # noqa: E402
from cozykart.integrations import stripe_payments  # noqa: E402
from cozykart.services import league  # noqa: E402
from cozykart.services.handlers import HANDLERS  # noqa: E402
from cozykart.settings import Settings  # noqa: E402
from tests.served_process import stop_process_group, wait_until_ready  # noqa: E402

STRIPE_SECRET = "whsec_drill"
ADMIN_DISCORD_ID = "980000000000000001"
DJ_DISCORD_ID = "980000000000000002"
RACERS_PER_RACE = 8
SERVER_START_TIMEOUT_S = 180
SERVER_STOP_TIMEOUT_S = 20
RECONCILE_TIMEOUT_S = 120


@dataclass(frozen=True)
class League:
    admin_id: int
    dj_id: int
    race_id: int
    racer_ids: tuple[int, ...]


def log(message: str) -> None:
    print(f"{Path(sys.argv[0]).stem}: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(db_url: str) -> League:
    """A migrated database with an admin, a DJ and a live race of 8 racers started a minute ago."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    settings = Settings(db_url=db_url, admin_discord_ids=frozenset({ADMIN_DISCORD_ID}))
    try:
        admin = league.get_or_create_racer(
            ADMIN_DISCORD_ID, "drill-admin", "Drill Admin", None, uow=UnitOfWork(engine, handlers=HANDLERS)
        )
        dj = league.get_or_create_racer(
            DJ_DISCORD_ID, "drill-dj", "Drill DJ", None, uow=UnitOfWork(engine, handlers=HANDLERS)
        )
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE racer SET is_dj = :yes WHERE id = :id"), {"yes": True, "id": dj.racer_id}
            )
        start = datetime.now(UTC) - timedelta(minutes=1)
        race = league.open_lobby(
            "Drill Cup",
            actor_id=admin.racer_id,
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
            now=start - timedelta(seconds=30),
        )
        racer_ids = []
        for n in range(RACERS_PER_RACE):
            racer = league.get_or_create_racer(
                f"9800000000000{n:05d}",
                f"drill{n}",
                f"Drill {n}",
                None,
                uow=UnitOfWork(engine, handlers=HANDLERS),
            )
            league.join_lobby(
                race.race_id,
                actor_id=racer.racer_id,
                uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
                now=start - timedelta(seconds=20),
            )
            racer_ids.append(racer.racer_id)
        league.start_race(
            race.race_id,
            actor_id=admin.racer_id,
            uow=UnitOfWork(engine, handlers=HANDLERS, settings=settings),
            now=start,
        )
        return League(admin.racer_id, dj.racer_id, race.race_id, tuple(racer_ids))
    finally:
        engine.dispose()


def server_env(db_url: str, workdir: Path, *, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """The served app's environment: this project's tools first, `db_url`, the drill's Stripe secret
    and admin, no telemetry; Redis only when `redis_url` is given (several workers)."""
    env = dict(os.environ)
    env.pop("DISCORD_ANNOUNCE_WEBHOOK_URL", None)  # a benchmark never announces to a real channel
    env.update(
        {
            "PATH": os.pathsep.join(
                [
                    str(ROOT / ".venv" / "bin"),
                    str(ROOT / ".tools" / "node_modules" / ".bin"),
                    env.get("PATH", ""),
                ]
            ),
            "REFLEX_DB_URL": db_url,
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            "COZYKART_ADMIN_DISCORD_IDS": ADMIN_DISCORD_ID,
            "REFLEX_USE_SYSTEM_BUN": "1",
            "REFLEX_TELEMETRY_ENABLED": "0",
            "REFLEX_CHECK_LATEST_VERSION": "0",
            "REFLEX_WEB_WORKDIR": str(workdir / "web"),
            "REFLEX_STATES_WORKDIR": str(workdir / "states"),
            **extra,
        }
    )
    env.pop("REFLEX_REDIS_URL", None)
    if redis_url:
        env["REFLEX_REDIS_URL"] = redis_url
    return env


class Server:
    """`reflex run --env prod --backend-only` on 127.0.0.1, in its own process group."""

    def __init__(self, env: dict[str, str], workdir: Path, port: int | None = None) -> None:
        self.env, self.workdir = env, workdir
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log_path = self.workdir / f"server-{self.starts}.log"
        self.process = subprocess.Popen(
            [
                "reflex",
                "run",
                "--env",
                "prod",
                "--backend-only",
                "--backend-port",
                str(self.port),
                "--backend-host",
                "127.0.0.1",
                "--loglevel",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until_ready(
            self.process,
            log_path,
            lambda: httpx.get(f"{self.base_url}/api/health", timeout=2).status_code == 200,
            timeout_s=SERVER_START_TIMEOUT_S,
            poll_s=0.3,
        )

    def kill(self) -> None:
        """SIGKILL to the whole process group: no handler runs, nothing is flushed."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        self._wait_port_free()

    def terminate(
        self, timeout_s: float = SERVER_STOP_TIMEOUT_S, *, whole_group: bool = True
    ) -> tuple[float, bool]:
        """SIGTERM to the whole process group (systemd's default KillMode=control-group), or with
        `whole_group=False` to the main process only (`docker stop` on PID 1, KillMode=mixed), then wait.

        Returns the seconds from the signal until every process of the group is gone and the
        port is free, and whether it stopped by itself; after `timeout_s` it is SIGKILLed
        (as systemd's TimeoutStopSec would) and the second value is False.
        """
        assert self.process is not None
        signalled = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            if whole_group:
                os.killpg(self.process.pid, signal.SIGTERM)
            else:
                os.kill(self.process.pid, signal.SIGTERM)
        graceful = True
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            graceful = False
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        self._wait_port_free()
        return time.monotonic() - signalled, graceful

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process, timeout_s=SERVER_STOP_TIMEOUT_S)

    def _wait_port_free(self) -> None:
        """Every process of the group gone, and nothing listening on the port any more."""
        assert self.process is not None
        deadline = time.monotonic() + SERVER_STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"processes of group {self.process.pid} outlived SIGKILL")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"something still listens on port {self.port} after SIGKILL")


def signed(event: dict) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a Stripe delivery, signed now (a retry is signed again, as Stripe does)."""
    body = json.dumps(event)
    return body.encode(), {
        "Content-Type": "application/json",
        "Stripe-Signature": stripe_payments.sign(body, STRIPE_SECRET),
    }


def sale_event(cents: int, *, item: str = "Drill tee") -> dict:
    token = uuid.uuid4().hex
    return stripe_payments.checkout_completed_event(
        event_id=f"evt_{token}",
        session_id=f"cs_{token}",
        payment_intent=f"pi_{token}",
        amount_cents=cents,
        currency="usd",
        created=int(time.time()),
        metadata={"item": item},
    )


def tip_event(cents: int, *, song: str = "Rainbow Road") -> dict:
    token = uuid.uuid4().hex
    return stripe_payments.checkout_completed_event(
        event_id=f"evt_{token}",
        session_id=f"cs_{token}",
        payment_intent=f"pi_{token}",
        amount_cents=cents,
        currency="usd",
        created=int(time.time()),
        metadata={"kind": "tip", "dj": DJ_DISCORD_ID, "song": song, "fan_name": "Drill Fan"},
    )


def refund_event(sale: dict) -> dict:
    """A full refund of `sale` (a checkout.session.completed event)."""
    session = sale["data"]["object"]
    token = uuid.uuid4().hex
    return stripe_payments.charge_refunded_event(
        event_id=f"evt_{token}",
        charge_id=f"ch_{token}",
        payment_intent=session["payment_intent"],
        amount_cents=session["amount_total"],
        amount_refunded_cents=session["amount_total"],
        currency="usd",
        created=int(time.time()),
    )


def run_cli(
    db_url: str, *args: str, timeout_s: float, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m cozykart ARGS` as an operator runs it, on `db_url` (and `path` as PATH when given)."""
    env = dict(os.environ, REFLEX_DB_URL=db_url)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "cozykart", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


def reconcile(db_url: str) -> tuple[int, dict]:
    """`python -m cozykart reconcile --json` against `db_url`: its exit status and report."""
    completed = run_cli(db_url, "reconcile", "--json", timeout_s=RECONCILE_TIMEOUT_S)
    try:
        return completed.returncode, json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise RuntimeError(
            f"reconcile printed no JSON ({error}): {completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        ) from error


def postgres_schema(base: str, prefix: str) -> tuple[str, str]:
    """A fresh schema on `base`; the URL that uses it, and its name (drop_schema removes it)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def timed(action, repeat: int) -> dict:
    """Runs `action` `repeat` times; its median, p95 and max in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median": round(statistics.median(samples), 2),
        "p95": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2),
        "max": round(samples[-1], 2),
        "runs": repeat,
    }


def connections_by_process(pgid: int, port: int) -> dict[int, int]:
    """How many established TCP connections to `port` each process of group `pgid` holds (Linux /proc).

    Granian's workers share one listening port; this is how a drill knows which
    worker took a client's connection (a client connects, and the count of one
    worker goes up)."""
    inodes = _established_inodes(port)
    held: dict[int, int] = {}
    for pid in _process_group(pgid):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        count = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes)
        if count:
            held[pid] = count
    return held


def _process_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            pids.append(int(entry.name))
    return pids


def _established_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local_port = int(parts[1].rsplit(":", 1)[1], 16)
            if local_port == port and parts[3] == "01":  # 01: ESTABLISHED
                inodes.add(parts[9])
    return inodes


def processes_cpu_times(pids) -> dict[int, tuple[float, float]]:
    """CPU seconds (user, system) each of `pids` has used so far, from /proc/<pid>/stat; a pid
    that has exited (or that /proc does not show) is left out."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, tuple[float, float]] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) / ticks, int(fields[12]) / ticks)  # utime, stime (fields 14, 15)
    return used


def processes_cpu_s(pids) -> dict[int, float]:
    """CPU seconds (user + system) each of `pids` has used so far (`processes_cpu_times`)."""
    return {pid: user_s + system_s for pid, (user_s, system_s) in processes_cpu_times(pids).items()}


def process_group_cpu_s(pgid: int) -> float:
    """CPU seconds used so far by the live processes of group `pgid` (the served app: reflex and
    its Granian workers, every thread)."""
    return sum(processes_cpu_s(_process_group(pgid)).values())


def process_group_system_cpu_s(pgid: int) -> float:
    """The part of `process_group_cpu_s` spent in the kernel (system time: I/O, page faults, sockets)."""
    return sum(system_s for _user_s, system_s in processes_cpu_times(_process_group(pgid)).values())


def with_application_name(db_url: str, name: str) -> str:
    """`db_url` with libpq's `application_name` set, so its sessions can be told apart in
    `pg_stat_activity` (engine.py keeps a name the URL sets)."""
    return (
        make_url(db_url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)
    )


def postgres_backend_pids(db_url: str, application_name: str) -> set[int]:
    """The pids of the PostgreSQL backends serving sessions named `application_name` (on a local
    server these are processes this machine's /proc shows)."""
    engine = create_engine(with_application_name(db_url, "cozykart-bench-probe"))  # not counted itself
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name},
            )
            return {int(row[0]) for row in rows}
    finally:
        engine.dispose()


def on_each_database(
    run: Callable[[str, Path], dict], *, name: str, postgres_url: str | None
) -> dict[str, dict]:
    """A drill's `run(db_url, workdir)` on a fresh SQLite file and, given `postgres_url`, a fresh
    PostgreSQL schema (dropped after), each in its own temporary directory; the reports by database."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix=f"cozykart-{name}-") as tmp:
        runs["sqlite"] = run(f"sqlite:///{tmp}/drill.db", Path(tmp))
    if postgres_url:
        url, schema = postgres_schema(postgres_url, name.replace("-", "_"))
        try:
            with tempfile.TemporaryDirectory(prefix=f"cozykart-{name}-") as tmp:
                runs["postgresql"] = run(url, Path(tmp))
        finally:
            drop_schema(postgres_url, schema)
    return runs


def finish_drill(name: str, runs: dict[str, dict], *, as_json: bool) -> None:
    """Print a drill's one JSON report (`ok` when every run is) and exit 0, or 1 when a check failed."""
    report = {"drill": name, "ok": all(run["ok"] for run in runs.values()), "runs": runs}
    print(json.dumps(report) if as_json else json.dumps(report, indent=2), flush=True)
    sys.exit(0 if report["ok"] else 1)
