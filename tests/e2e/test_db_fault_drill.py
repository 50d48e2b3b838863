"""Database faults under load (bench/db_fault_drill.py): PostgreSQL connections terminated, PostgreSQL
unreachable for 10 s (refused, then blackholed), SQLite locked by another process. Each time the app
answers 5xx to what it could not store, recovers without a restart, and after the provider's retries
every event is applied exactly once with reconcile clean.

Pinned on their own first: a delivery whose transaction could not be written is answered 500 and
nothing of it is stored (its retry is the first copy, not a duplicate); the proxy really refuses,
really blackholes, and forwards again; the app's PostgreSQL connections carry its application_name;
a failed statement's error (what the writer logs) shows its SQL, never its parameters.
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text
from starlette.testclient import TestClient

from bench import _served, crash_drill, db_fault_drill
from bench.tcp_proxy import TcpProxy
from cozykart.api import build_api
from cozykart.db import lean
from cozykart.db.engine import APPLICATION_NAME, create_db_engine
from cozykart.settings import SQLITE_BUSY_TIMEOUT_MS, Settings
from tests import drill_reports
from tests.conftest import BACKENDS

POSTGRES_URL_ENV = "COZYKART_TEST_POSTGRES_URL"
# The first delivery's batch waits one busy timeout and fails; the others, queued meanwhile, form the
# next batch and wait one more: the lock outlasts both.
LOCK_HOLD_S = 2 * SQLITE_BUSY_TIMEOUT_MS / 1000 + 3
CONCURRENT_DELIVERIES = 4
SOCKET_TIMEOUT_S = 5


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set: the PostgreSQL fault scenarios need a PostgreSQL server")
    return url


def _hold_lock(path: str, hold_s: float) -> subprocess.Popen:
    """Another process holding BEGIN EXCLUSIVE on `path` for `hold_s`; returns once it holds it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n"
            "c.execute('COMMIT')\n",
            path,
            str(hold_s),
        ],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_delivery_whose_transaction_failed_is_answered_500_and_stored_by_its_retry(tmp_path):
    db_url = f"sqlite:///{tmp_path}/locked.db"
    _served.prepare(db_url)
    settings = Settings(
        db_url=db_url,
        admin_discord_ids=frozenset({_served.ADMIN_DISCORD_ID}),
        stripe_webhook_secret=_served.STRIPE_SECRET,
    )
    deliveries = crash_drill.plan(CONCURRENT_DELIVERIES, random.Random(11))
    with TestClient(build_api(settings), base_url="http://127.0.0.1") as client:

        def send(delivery: crash_drill.Delivery) -> tuple[int, dict]:
            body, headers = _served.signed(delivery.event)
            response = client.post("/api/webhooks/stripe", content=body, headers=headers)
            return response.status_code, response.json()

        holder = _hold_lock(str(tmp_path / "locked.db"), LOCK_HOLD_S)
        try:
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(CONCURRENT_DELIVERIES) as pool:
                during = list(pool.map(send, deliveries))
            waited_s = time.monotonic() - started
            assert holder.poll() is None, "the lock was released before the answers came: no fault"
        finally:
            holder.wait(timeout=LOCK_HOLD_S + 30)
        after = [send(delivery) for delivery in deliveries]

    assert [status for status, _ in during] == [500] * CONCURRENT_DELIVERIES, during
    assert all("received" not in answer for _, answer in during)
    # One busy timeout per batch, not one per delivery (that would outlast the lock, and store the last ones).
    assert waited_s < LOCK_HOLD_S
    # Nothing of the failed batch was stored: each retry is the first copy; the same writer stores it.
    assert [(status, answer["status"], answer["duplicate"]) for status, answer in after] == [
        (200, "applied", False)
    ] * CONCURRENT_DELIVERIES
    inbox = crash_drill.observe(db_url)["inbox"]
    assert sorted(event_id for event_id, _ in inbox) == sorted(d.event_id for d in deliveries)


def _echo_server() -> tuple[socket.socket, int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                while data := connection.recv(1024):
                    connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def _echo(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(b"ping")
        return sock.recv(1024)


def test_the_proxy_forwards_refuses_blackholes_and_forwards_again():
    listener, upstream_port = _echo_server()
    try:
        with TcpProxy(upstream_port=upstream_port) as proxy:
            assert _echo(proxy.port) == b"ping"
            held = socket.create_connection(("127.0.0.1", proxy.port), timeout=SOCKET_TIMEOUT_S)
            held.sendall(b"x")
            assert held.recv(16) == b"x"
            assert proxy.cut("refuse") >= 2
            assert held.recv(16) == b""  # the open connection was closed by the cut
            with pytest.raises(ConnectionRefusedError):
                _echo(proxy.port)
            proxy.restore()
            assert _echo(proxy.port) == b"ping"
            proxy.cut("blackhole")
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=1) as silent:
                silent.sendall(b"ping")
                with pytest.raises(TimeoutError):
                    silent.recv(16)
            proxy.restore()
            assert _echo(proxy.port) == b"ping"
            held.close()
    finally:
        listener.close()


def test_the_apps_postgresql_connections_carry_its_application_name_unless_the_url_names_one():
    base = _postgres_url()
    for url, expected in (
        (base, APPLICATION_NAME),
        (f"{base}?application_name=operator-tool", "operator-tool"),
    ):
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SHOW application_name")).scalar_one() == expected
        finally:
            engine.dispose()


@pytest.mark.parametrize("empty_db_url", BACKENDS, indirect=True)
def test_a_failed_statements_error_shows_its_sql_but_not_the_payments_data(empty_db_url):
    table = Table(
        "fault_probe", MetaData(), Column("id", Integer, primary_key=True), Column("fan", String(40))
    )
    engine = create_db_engine(empty_db_url)
    try:
        table.create(engine)
        errors = []
        with engine.begin() as connection:
            lean.execute(connection, insert(table), {"id": 1, "fan": "first fan"})
            for execute in (lean.execute, lambda c, s, v: c.execute(s, v)):  # the writer's path and the ORM's
                with pytest.raises(Exception) as raised, connection.begin_nested():
                    execute(connection, insert(table), {"id": 1, "fan": "Secret Fan Name"})
                errors.append(str(raised.value))
    finally:
        engine.dispose()
    assert all("INSERT INTO fault_probe" in error for error in errors), errors
    assert not any("Secret Fan Name" in error for error in errors), errors


@pytest.mark.parametrize("scenario", db_fault_drill.SCENARIOS)
def test_a_database_fault_under_load_loses_nothing_and_doubles_nothing(scenario, tmp_path):
    postgres_url = _postgres_url() if scenario in db_fault_drill.POSTGRES_SCENARIOS else None
    report = drill_reports.run_in_own_thread(
        db_fault_drill.run_scenario,
        scenario,
        tmp_path,
        postgres_url=postgres_url,
        events=db_fault_drill.EVENTS_DEFAULT,
        seed=db_fault_drill.SEED,
    )

    load = report["load"]
    assert load["fault_happened"] is True
    assert load["answered_5xx_during_fault"] > 0, "the fault did nothing"
    assert load["answered_other"] == [], load
    # The only client error allowed: its own timeout while the app waited on the database (SQLite's busy
    # timeout, twice for a batch queued behind another); never a dropped or refused connection.
    assert set(load["connection_errors"]) <= {"ReadTimeout"}, load
    assert load["recovery_seconds"] is not None
    assert report["server"] == {**report["server"], "starts": 1, "alive": True, "same_processes": True}
    assert report["retry"]["never_acknowledged"] == 0
    assert (
        report["acknowledged"] == report["applied_once"] == report["distinct_events"] == report["deliveries"]
    )
    assert report["reconcile"] == {"exit_status": 0, "clean": True, "violations": []}
    assert report["problems"] == []
    assert report["ok"] is True
    drill_reports.record(f"db-{scenario}-{report['database']}", report, db_fault_drill.summary(report))
