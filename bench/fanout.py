"""Live fan-out: from a signed Stripe sale posted to the served app to the new pot at N viewers.

    python bench/fanout.py [--viewers 250,500,1000] [--rounds 5] [--workers 1[,2]]
                           [--redis-url URL] [--client-processes 2] [--profile]
                           [--postgres-url URL] [--json]

For each worker count it serves the real app (`reflex run --env prod
--backend-only` on 127.0.0.1, a fresh database migrated and loaded with the demo
data, so a race is live) and posts one warm-up sale with nobody watching. Then
it grows the audience step by step (0, then each count of `--viewers`): real
websocket viewers of `/` (Socket.IO clients speaking Reflex's protocol,
tests/reflex_viewer.py: each hydrates the page and runs its on_load handlers
like a browser, and is seeded with the pot). At every step, once the viewers
are idle, it records the server's memory (RSS of its process group); then, after
one warm-up round reported apart, `--rounds` times it posts one signed sale and
times, for every viewer, the moment the delta that shows the higher pot arrives,
from just before the POST: p50/p99/max over all viewers and rounds (and each
round's p99). A viewer that never sees it within `ROUND_TIMEOUT_S` counts as
missed. Memory per idle viewer is the least-squares slope of RSS over viewers.

Client and server cost are kept apart: the viewers live in `--client-processes`
processes of their own (this file run with `--viewer-process`, driven over a
pipe), which do nothing between rounds but answer Socket.IO pings. Each round
reads the user + system CPU time of the server's process group (/proc, every
thread, exited ones too, in clock ticks of 10 ms) and of the viewers' processes
(each reports its own `process_time`), from just before the POST to the last
viewer's receipt, and the same over the idle pause before it
(per second, so what the idle sockets cost is seen apart): the server's CPU per
round is its own work, the clients' is reported beside it (on two cores they
still compete for the same cores, which a loaded machine makes worse).
PostgreSQL's and Redis's own processes are not counted.

`--workers 2` runs two Granian workers with Redis: `--redis-url`, or else a
redis-server of the bench's own on a free port (removed afterwards); viewers
spread over the workers as the kernel hands out connections (counted per worker
from /proc). `--profile` records the worker(s) with py-spy during the rounds of
the largest step and reports the functions where the time went.
`--postgres-url` serves on a fresh schema of that PostgreSQL instead of a SQLite
file. `--json` prints one JSON object and nothing else on stdout (progress goes
to stderr). Asserts nothing about time: the goal (p99 <= 250 ms at 1,000
viewers) is read off the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench import _served  # noqa: E402
from cozykart.integrations import stripe_payments  # noqa: E402
from tests.reflex_viewer import Viewer  # noqa: E402

SALE_CENTS = 2500
CONNECT_CONCURRENCY = 25  # per viewer process
SEED_TIMEOUT_S = 120
ROUND_TIMEOUT_S = 30
ROUND_PAUSE_S = 1.0
IDLE_SETTLE_S = 3.0  # after a step's viewers joined, before its memory is read
STEP_TIMEOUT_S = 900  # one command to the viewer processes (a step's connects are the longest)
REPLY_SLACK_S = 30
CLIENT_PROCESSES = 2
GOAL_P99_MS = 250
GOAL_VIEWERS = 1000
PROFILE_RATE_HZ = 200
PROFILE_TOP = 15
IDLE_FRAME = "EpollSelector.select "  # the event loop waiting for sockets
# Whose functions are shown with their callees: the push, from the webhook to the sockets.
PUSH_PATH_PACKAGES = frozenset(
    {"cozykart", "reflex", "socketio", "engineio", "starlette", "sqlalchemy", "psycopg"}
)
REDIS_START_TIMEOUT_S = 20
POT_STATE = "live_pot_state"
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare_database(env: dict[str, str]) -> None:
    for command in ("migrate", "seed-demo"):
        subprocess.run(
            [sys.executable, "-m", "cozykart", command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=180,
        )


def signed_sale(
    secret: str, amount_cents: int = SALE_CENTS, fan_name: str = "Bench Fan", item: str = "Bench tee"
) -> tuple[str, dict[str, str]]:
    token = uuid.uuid4().hex
    event = stripe_payments.checkout_completed_event(
        event_id=f"evt_{token}",
        session_id=f"cs_{token}",
        payment_intent=f"pi_{token}",
        amount_cents=amount_cents,
        currency="usd",
        created=int(time.time()),
        metadata={"item": item},
        customer_name=fan_name,
    )
    body = json.dumps(event)
    return body, {"Content-Type": "application/json", "Stripe-Signature": stripe_payments.sign(body, secret)}


def pot_cents(viewer: Viewer) -> int | None:
    return viewer.var(POT_STATE, "pot_cents")


def seeded(viewer: Viewer) -> bool:
    """The viewer has the pot from the database: a delta of the pot state came after the hydrate's."""
    return viewer.deltas_for(POT_STATE) >= 2


# --- the viewers' side: a process of its own, driven over its stdin/stdout ------


class _ViewerSide:
    """The viewers of one client process and the watches of the round being measured."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.viewers: list[Viewer] = []
        self.watches: list[asyncio.Future] = []

    async def connect(self, count: int) -> dict:
        started = time.perf_counter()
        fresh = [Viewer(self.base_url, "/") for _ in range(count)]
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(viewer: Viewer) -> None:
            async with gate:
                await viewer.connect()
                await viewer.wait_for(seeded, SEED_TIMEOUT_S)

        await asyncio.gather(*(one(viewer) for viewer in fresh))
        self.viewers.extend(fresh)
        return {"viewers": len(self.viewers), "seconds": round(time.perf_counter() - started, 2)}

    def arm(self) -> dict:
        """Watch every viewer for a pot above the one it shows now (before the POST)."""
        self.watches = []
        for viewer in self.viewers:
            self.watches.append(viewer.watch(_pot_above(pot_cents(viewer) or 0)))
        return {"armed": len(self.watches)}

    async def collect(self, timeout_s: float) -> dict:
        """The arrival times (perf_counter, CLOCK_MONOTONIC: one clock for every process) of the round."""
        if not self.watches:
            return {"arrivals": [], "missed": 0}
        done, pending = await asyncio.wait(self.watches, timeout=timeout_s)
        for future in pending:
            future.cancel()
        self.watches = []
        return {"arrivals": [future.result() for future in done], "missed": len(pending)}

    async def close(self) -> None:
        await asyncio.gather(*(viewer.disconnect() for viewer in self.viewers), return_exceptions=True)


def _pot_above(before_cents: int) -> Callable[[Viewer], bool]:
    return lambda viewer: (pot_cents(viewer) or 0) > before_cents


async def _viewer_process(base_url: str) -> None:
    """Answer one JSON line on stdout per JSON command line on stdin, until "quit" or end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    side = _ViewerSide(base_url)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            kind = command["cmd"]
            if kind == "quit":
                break
            try:
                if kind == "connect":
                    reply = await side.connect(int(command["count"]))
                elif kind == "arm":
                    reply = side.arm()
                elif kind == "collect":
                    reply = await side.collect(float(command["timeout_s"]))
                elif kind == "cpu":  # this process's CPU so far, every thread, to the nanosecond
                    reply = {"cpu_s": time.process_time()}
                else:
                    reply = {"error": f"unknown command {kind!r}"}
            except Exception as error:  # noqa: BLE001 - the coordinator reports it
                reply = {"error": f"{type(error).__name__}: {error}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        await side.close()


class ViewerProcesses:
    """The client processes that hold the viewers, each answering one command at a time."""

    def __init__(self, base_url: str, count: int) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--viewer-process", base_url],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
            for _ in range(count)
        ]

    def ask(self, commands: list[dict], timeout_s: float) -> list[dict]:
        """Send each process its command (all at once), then wait for every reply, bounded."""
        for process, command in zip(self.processes, commands, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
        deadline = time.monotonic() + timeout_s
        replies = []
        for process in self.processes:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = process.stdout.readline() if ready else ""
            if not line:
                raise RuntimeError(f"viewer process {process.pid} gave no answer to {commands[0]['cmd']}")
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"viewer process {process.pid}: {reply['error']}")
            replies.append(reply)
        return replies

    def ask_all(self, command: dict, timeout_s: float) -> list[dict]:
        return self.ask([command] * len(self.processes), timeout_s)

    def connect(self, count: int) -> list[dict]:
        """`count` more viewers, spread evenly over the processes."""
        share, extra = divmod(count, len(self.processes))
        counts = [share + (1 if index < extra else 0) for index in range(len(self.processes))]
        return self.ask([{"cmd": "connect", "count": n} for n in counts], STEP_TIMEOUT_S)

    def cpu_s(self) -> float:
        """The CPU seconds the viewer processes used so far (each reports its own process_time)."""
        return sum(reply["cpu_s"] for reply in self.ask_all({"cmd": "cpu"}, REPLY_SLACK_S))

    def close(self) -> None:
        for process in self.processes:
            with contextlib.suppress(OSError, ValueError):
                assert process.stdin is not None
                process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=REPLY_SLACK_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=REPLY_SLACK_S)


# --- what /proc says about a process group ---------------------------------------


def cpu_ns(pids: list[int]) -> int:
    """User + system CPU of `pids` in nanoseconds (/proc/PID/stat, every thread, exited ones too).

    Clock ticks (10 ms each at the usual USER_HZ of 100): a round's figure is good to about
    ten milliseconds. Per-thread schedstat would be finer but loses the time of threads that
    exited (Granian's blocking threads end when idle), which undercounts a round.
    """
    total_ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total_ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total_ticks * 1_000_000_000 // CLOCK_TICKS_PER_S


def rss_bytes(pids: list[int]) -> dict[int, int]:
    """Resident memory of each process (VmRSS of /proc/PID/status)."""
    sizes = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = int(line.split()[1]) * 1024
    return sizes


def server_pids(server: _served.Server) -> list[int]:
    assert server.process is not None
    return _served._process_group(server.process.pid)


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# --- the measurement --------------------------------------------------------------


def post_sale(client: httpx.Client, base_url: str) -> float:
    """Post one signed sale; the perf_counter just before the POST (a round's zero)."""
    body, headers = signed_sale(_served.STRIPE_SECRET)
    started = time.perf_counter()
    response = client.post(f"{base_url}/api/webhooks/stripe", content=body, headers=headers)
    if response.status_code != 200 or response.json().get("status") != "applied":
        raise RuntimeError(f"the sale was not applied: {response.status_code} {response.text}")
    return started


def one_round(server: _served.Server, pool: ViewerProcesses, client: httpx.Client) -> dict:
    """Post one sale; each viewer's latency (ms), the misses, and the CPU of server and clients."""
    pool.ask_all({"cmd": "arm"}, REPLY_SLACK_S)
    pids = server_pids(server)
    idle_server, idle_clients = cpu_ns(pids), pool.cpu_s()
    time.sleep(ROUND_PAUSE_S)  # idle, measured just before the round
    idle_server, idle_clients = cpu_ns(pids) - idle_server, pool.cpu_s() - idle_clients
    server_before, clients_before = cpu_ns(pids), pool.cpu_s()
    started = post_sale(client, server.base_url)
    acked = time.perf_counter()
    replies = pool.ask_all({"cmd": "collect", "timeout_s": ROUND_TIMEOUT_S}, ROUND_TIMEOUT_S + REPLY_SLACK_S)
    ended = time.perf_counter()
    server_ns, clients_s = cpu_ns(pids) - server_before, pool.cpu_s() - clients_before
    latencies = [(arrived - started) * 1000 for reply in replies for arrived in reply["arrivals"]]
    return {
        "latencies_ms": latencies,
        "missed": sum(reply["missed"] for reply in replies),
        "ack_ms": (acked - started) * 1000,
        "round_ms": (ended - started) * 1000,
        "server_cpu_ms": server_ns / 1e6,
        "clients_cpu_ms": clients_s * 1000,
        "server_idle_cpu_ms_per_s": idle_server / 1e6 / ROUND_PAUSE_S,
        "clients_idle_cpu_ms_per_s": idle_clients * 1000 / ROUND_PAUSE_S,
        "load_average": _load(),
    }


def rounds_at(server: _served.Server, pool: ViewerProcesses, client: httpx.Client, rounds: int) -> dict:
    """One warm-up round (reported apart), then `rounds` rounds; their figures over every viewer."""
    warmup = one_round(server, pool, client)
    log(f"  warm-up round: p99 {_p99(warmup['latencies_ms']):.0f} ms, missed {warmup['missed']}")
    measured = []
    for number in range(rounds):
        result = one_round(server, pool, client)
        measured.append(result)
        ordered = sorted(result["latencies_ms"]) or [float("nan")]
        log(
            f"  round {number + 1}: p50 {statistics.median(ordered):.0f} ms, p99 {_p99(ordered):.0f} ms, "
            f"max {ordered[-1]:.0f} ms, missed {result['missed']}, server CPU {result['server_cpu_ms']:.0f} ms, "
            f"clients CPU {result['clients_cpu_ms']:.0f} ms, load {result['load_average']}"
        )
    latencies = sorted(value for result in measured for value in result["latencies_ms"]) or [float("nan")]

    def median_of(key: str) -> float:
        return round(statistics.median(result[key] for result in measured), 1)

    return {
        "rounds": rounds,
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_p99(latencies), 1),
        "max_ms": round(latencies[-1], 1),
        "round_p99_ms": [round(_p99(result["latencies_ms"]), 1) for result in measured],
        "missed": sum(result["missed"] for result in measured),
        "ack_ms_median": median_of("ack_ms"),
        "server_cpu_ms_per_round_median": median_of("server_cpu_ms"),
        "server_cpu_ms_all_rounds": round(sum(result["server_cpu_ms"] for result in measured), 1),
        "clients_cpu_ms_per_round_median": median_of("clients_cpu_ms"),
        "server_idle_cpu_ms_per_s_median": median_of("server_idle_cpu_ms_per_s"),
        "clients_idle_cpu_ms_per_s_median": median_of("clients_idle_cpu_ms_per_s"),
        "load_average_per_round": [result["load_average"] for result in measured],
        "warmup_p99_ms": round(_p99(warmup["latencies_ms"]), 1),
        "warmup_missed": warmup["missed"],
    }


def _p99(values: list[float]) -> float:
    return _percentile(sorted(values), 0.99) if values else float("nan")


def memory_point(server: _served.Server, viewers: int) -> dict:
    """The server's memory with `viewers` idle viewers connected, after they settled."""
    time.sleep(IDLE_SETTLE_S)
    sizes = rss_bytes(server_pids(server))
    return {
        "viewers": viewers,
        "rss_mb": round(sum(sizes.values()) / 2**20, 1),
        "rss_mb_per_process": {str(pid): round(size / 2**20, 1) for pid, size in sizes.items()},
        "load_average": _load(),
    }


def per_viewer_kb(points: list[dict]) -> float | None:
    """The least-squares slope of the server's RSS over idle viewers, in KB per viewer."""
    if len({point["viewers"] for point in points}) < 2:
        return None
    slope, _ = statistics.linear_regression(
        [point["viewers"] for point in points], [point["rss_mb"] * 1024 for point in points]
    )
    return round(slope, 1)


def cpu_fit(steps: list[dict]) -> dict | None:
    """The server's CPU per round as a fixed part plus a part per viewer (least squares over the steps)."""
    if len({step["viewers"] for step in steps}) < 2:
        return None
    slope, intercept = statistics.linear_regression(
        [step["viewers"] for step in steps], [step["server_cpu_ms_per_round_median"] for step in steps]
    )
    return {"fixed_ms": round(intercept, 1), "per_viewer_us": round(slope * 1000, 1)}


def viewers_per_worker(server: _served.Server) -> dict[str, int]:
    assert server.process is not None
    held = _served.connections_by_process(server.process.pid, server.port)
    return {str(pid): count for pid, count in sorted(held.items())}


# --- py-spy during a step's rounds --------------------------------------------------


class Profile:
    """py-spy recording each worker (the processes that hold viewers) until `stop`."""

    def __init__(self, pids: list[int], workdir: Path) -> None:
        self.outputs = {pid: workdir / f"py-spy-{pid}.txt" for pid in pids}
        spy = ROOT / ".venv" / "bin" / "py-spy"
        self.processes = [
            subprocess.Popen(
                [
                    *(str(spy), "record", "--pid", str(pid), "--rate", str(PROFILE_RATE_HZ)),
                    *("--format", "raw", "--nonblocking", "--output", str(path)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid, path in self.outputs.items()
        ]
        time.sleep(1.0)  # py-spy attaches before the first round

    def stop(self) -> dict:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        for process in self.processes:
            try:
                process.wait(timeout=REPLY_SLACK_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=REPLY_SLACK_S)
        return {str(pid): summarize_profile(path) for pid, path in self.outputs.items()}


def summarize_profile(path: Path) -> dict:
    """Where the worker's samples were: waiting in the event loop's select (idle), and of the rest
    the share per function it ran itself (leaf), per package (leaf), and per function of the
    packages on the push's path with what they called (inclusive)."""
    if not path.exists():
        return {"error": "py-spy wrote nothing"}
    leaf: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    idle = busy = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [_short_frame(frame) for frame in stack.split(";")[1:]]  # [0] names the thread
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        if frames[-1].startswith(IDLE_FRAME):
            idle += count
            continue
        busy += count
        leaf[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if _package(frame) in PUSH_PATH_PACKAGES:
                inclusive[frame] += count

    def top(counter: Counter[str]) -> list[list]:
        return [[name, round(100 * n / max(busy, 1), 1)] for name, n in counter.most_common(PROFILE_TOP)]

    return {
        "samples": idle + busy,
        "idle_percent": round(100 * idle / max(idle + busy, 1), 1),
        "busy_leaf_percent": top(leaf),
        "busy_leaf_percent_by_package": top(packages),
        "busy_inclusive_percent": top(inclusive),
    }


def _package(frame: str) -> str:
    """'send (engineio/async_socket.py)' -> 'engineio'."""
    where = frame.partition(" (")[2].rstrip(")")
    return where.split("/", 1)[0].removesuffix(".py") if where else "?"


def _short_frame(frame: str) -> str:
    """'send (engineio/async_socket.py:12)' without the site-packages prefix and line number."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", f"{ROOT}/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})" if where else name


# --- one served app, its audience grown step by step --------------------------------


@contextlib.contextmanager
def own_redis(workdir: Path):
    """A redis-server of this run's own on a free port (no persistence); its URL."""
    port = _served.free_port()
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"redis-server on port {port} did not answer")
            time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=REPLY_SLACK_S)


def audience(server: _served.Server, workdir: Path, counts: list[int], args: argparse.Namespace) -> dict:
    """Memory at 0 viewers, then per step: connect, memory when idle, rounds (profiled at the last)."""
    with httpx.Client(timeout=30) as client:
        post_sale(client, server.base_url)  # the webhook path's first run, before any memory is read
        memory = [memory_point(server, 0)]
        steps = []
        pool = ViewerProcesses(server.base_url, args.client_processes)
        try:
            connected = 0
            for count in counts:
                started = time.perf_counter()
                pool.connect(count - connected)
                connected = count
                connect_s = round(time.perf_counter() - started, 1)
                log(f"  {count} viewers connected and seeded in {connect_s} s, load {_load()}")
                memory.append(memory_point(server, count))
                step: dict = {"viewers": count, "connect_and_seed_s": connect_s}
                # Established connections per worker process: the bench's own HTTP client's one included.
                step["viewers_per_worker"] = viewers_per_worker(server)
                profile = None
                if args.profile and count == counts[-1]:
                    profile = Profile([int(pid) for pid in step["viewers_per_worker"]], workdir)
                step.update(rounds_at(server, pool, client, args.rounds))
                if profile is not None:
                    step["profile"] = profile.stop()
                steps.append(step)
        finally:
            pool.close()
    return {
        "steps": steps,
        "memory": memory,
        "memory_per_idle_viewer_kb": per_viewer_kb(memory),
        "server_cpu_per_round": cpu_fit(steps),
    }


def run_one(workers: int, counts: list[int], args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="cozykart-fanout-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        redis_url = args.redis_url
        if workers > 1 and not redis_url:
            redis_url = stack.enter_context(own_redis(workdir))
        schema = None
        if args.postgres_url:
            db_url, schema = _served.postgres_schema(args.postgres_url, "bench_fanout")
            stack.callback(_served.drop_schema, args.postgres_url, schema)
        else:
            db_url = f"sqlite:///{workdir / 'fanout.db'}"
        env = _served.server_env(
            db_url, workdir, redis_url=redis_url if workers > 1 else None, GRANIAN_WORKERS=str(workers)
        )
        prepare_database(env)
        server = _served.Server(env, workdir)
        server.start()
        stack.callback(server.stop)
        log(f"{workers} worker(s): serving at {server.base_url}, load {_load()}")
        started_load = _load()
        result = audience(server, workdir, counts, args)
        return {
            "workers": workers,
            "redis": workers > 1,
            "load_average_at_start": started_load,
            "load_average_at_end": _load(),
            **result,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default="250,500,1000", help="comma-separated, growing viewer counts")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2")
    parser.add_argument(
        "--redis-url", default=None, help="Redis for several workers (default: one of our own)"
    )
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES)
    parser.add_argument("--profile", action="store_true", help="py-spy the workers at the largest step")
    parser.add_argument("--postgres-url", default=None, help="serve on a fresh schema of this PostgreSQL")
    parser.add_argument("--json", action="store_true", help="print only one JSON object on stdout")
    parser.add_argument("--viewer-process", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer_process:
        asyncio.run(_viewer_process(args.viewer_process))
        return
    counts = sorted({int(part) for part in args.viewers.split(",") if part.strip()})
    worker_counts = [int(part) for part in args.workers.split(",") if part.strip()]
    if (
        not counts
        or counts[0] < 1
        or not worker_counts
        or min(worker_counts) < 1
        or args.client_processes < 1
    ):
        parser.error("--viewers, --workers and --client-processes need positive numbers")

    from cozykart.ui import broadcast  # the mechanism under measurement

    report = {
        "bench": "fanout",
        "mechanism": broadcast.MECHANISM,
        "reflex": broadcast.REFLEX_VERSION,
        "database": "postgresql" if args.postgres_url else "sqlite",
        "client_processes": args.client_processes,
        "goal": f"p99 <= {GOAL_P99_MS} ms at {GOAL_VIEWERS} viewers",
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "runs": [run_one(workers, counts, args) for workers in worker_counts],
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
