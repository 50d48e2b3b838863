"""`GET /metrics` and `GET /api/health` on the real served backend over HTTP (`bench/_served.Server`).

The scrape is read with prometheus-client's own parser, as Prometheus would; a signed Stripe sale
moves the received and applied figures. Without a token only loopback may read it and a forwarding
header never helps; with COZYKART_METRICS_TOKEN only its bearer may, and the token is never in the
server's log. With Redis configured and then stopped, health names Redis (ok false) and still answers 200: the
database is ok. Skipped with a message when redis-server is missing (the token server needs nothing more).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench._served import (
    Server,
    drop_schema,
    free_port,
    postgres_schema,
    prepare,
    sale_event,
    server_env,
    signed,
)
from tests.conftest import BACKENDS, postgres_base_url

pytestmark = pytest.mark.e2e
METRICS_TOKEN = "served-metrics-token-5f1c2a9e"
HTTP_TIMEOUT_S = 30
REDIS_START_TIMEOUT_S = 20
REDIS_STOP_TIMEOUT_S = 20
CONCURRENT_SALES = 16


@dataclass
class Served:
    server: Server
    workdir: Path
    redis: subprocess.Popen | None = None

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(self.server.base_url + path, headers=headers, timeout=HTTP_TIMEOUT_S)


def _redis_server(port: int, workdir: Path) -> subprocess.Popen:
    """Our own redis-server on a free loopback port, persisting nothing."""
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=(workdir / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while time.monotonic() < deadline:
        ping = subprocess.run(
            ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=5
        )
        if ping.stdout.strip() == "PONG":
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"redis-server on port {port} did not answer within {REDIS_START_TIMEOUT_S} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=REDIS_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=REDIS_STOP_TIMEOUT_S)


@pytest.fixture(scope="module", params=BACKENDS)
def with_redis(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The backend with Redis configured (our own redis-server) and no metrics token."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("served metrics test skipped: redis-server (and redis-cli) are not on PATH")
    workdir = tmp_path_factory.mktemp(f"metrics-{request.param}")
    base, schema = postgres_base_url(), None
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    elif base is None:
        pytest.skip("PostgreSQL run skipped: set COZYKART_TEST_POSTGRES_URL to run it")
    else:
        db_url, schema = postgres_schema(base, "metrics")
    redis_port = free_port()
    redis = _redis_server(redis_port, workdir)
    try:
        prepare(db_url)
        env = server_env(db_url, workdir, redis_url=f"redis://127.0.0.1:{redis_port}/0")
        env.pop("COZYKART_METRICS_TOKEN", None)
        server = Server({**env, "GRANIAN_WORKERS": "1"}, workdir)
        server.start()
        try:
            yield Served(server, workdir, redis)
        finally:
            server.stop()
    finally:
        _stop(redis)
        if schema is not None and base is not None:
            drop_schema(base, schema)


@pytest.fixture(scope="module")
def with_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The backend on SQLite with COZYKART_METRICS_TOKEN set."""
    workdir = tmp_path_factory.mktemp("metrics-token")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    prepare(db_url)
    server = Server(server_env(db_url, workdir, COZYKART_METRICS_TOKEN=METRICS_TOKEN), workdir)
    server.start()
    try:
        yield Served(server, workdir)
    finally:
        server.stop()


def _samples(response: httpx.Response) -> dict[tuple[str, frozenset], float]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    found = [v for (sample, have), v in samples.items() if sample == name and set(labels.items()) <= have]
    assert found, f"no series {name}{labels}"
    return sum(found)


def test_loopback_scrapes_the_metrics_and_a_sale_moves_them(with_redis):
    before = _samples(with_redis.get("/metrics"))
    assert _value(before, "cozykart_database_up") == 1
    assert _value(before, "cozykart_reconcile_clean") == 1
    workers = {
        dict(labels)["worker"] for name, labels in before if name == "cozykart_webhooks_received_total"
    }
    assert workers and all(worker.isdigit() for worker in workers)

    body, headers = signed(sale_event(2_500))
    sale = httpx.post(
        with_redis.server.base_url + "/api/webhooks/stripe",
        content=body,
        headers=headers,
        timeout=HTTP_TIMEOUT_S,
    )
    assert sale.status_code == 200 and sale.json()["status"] == "applied"

    after = _samples(with_redis.get("/metrics"))
    applied = ("cozykart_webhook_events", {"provider": "stripe", "status": "applied"})
    assert _value(after, applied[0], **applied[1]) == _value(before, applied[0], **applied[1]) + 1
    received = "cozykart_webhooks_received_total"
    assert _value(after, received, provider="stripe") == _value(before, received, provider="stripe") + 1
    commits = "cozykart_webhook_writer_commit_seconds_count"
    assert _value(after, commits) == _value(before, commits) + 1
    assert _value(after, "cozykart_outbox_messages", channel="announce", status="pending") >= 1


def test_concurrent_sales_share_writer_batches_and_every_one_is_counted(with_redis):
    before = _samples(with_redis.get("/metrics"))
    deliveries = [signed(sale_event(1_000 + n)) for n in range(CONCURRENT_SALES)]
    with ThreadPoolExecutor(max_workers=CONCURRENT_SALES) as pool:
        answers = list(
            pool.map(
                lambda delivery: httpx.post(
                    with_redis.server.base_url + "/api/webhooks/stripe",
                    content=delivery[0],
                    headers=delivery[1],
                    timeout=HTTP_TIMEOUT_S,
                ),
                deliveries,
            )
        )
    assert [answer.status_code for answer in answers] == [200] * CONCURRENT_SALES
    after = _samples(with_redis.get("/metrics"))

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("cozykart_webhook_events", provider="stripe", status="applied") == CONCURRENT_SALES
    assert grew("cozykart_webhook_writer_batch_size_sum") == CONCURRENT_SALES  # each delivery in one batch
    assert 1 <= grew("cozykart_webhook_writer_batch_size_count") <= CONCURRENT_SALES
    assert grew("cozykart_webhook_writer_commit_seconds_count") == grew(
        "cozykart_webhook_writer_batch_size_count"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Forwarded-For": "203.0.113.9"},
        {"Forwarded": "for=127.0.0.1"},
        {"X-Real-IP": "127.0.0.1"},
    ],
)
def test_a_forwarding_header_never_passes_for_loopback(with_redis, headers):
    refused = with_redis.get("/metrics", **headers)
    assert refused.status_code == 403
    assert "cozykart_" not in refused.text


def test_health_names_redis_when_it_stops_and_still_answers_200_for_the_database(with_redis):
    up = with_redis.get("/api/health")
    assert up.status_code == 200, up.text
    assert up.json()["redis"]["ok"] and up.json()["redis"]["configured"]
    assert with_redis.redis is not None
    _stop(with_redis.redis)
    started = time.monotonic()
    down = with_redis.get("/api/health")
    elapsed_s = time.monotonic() - started
    assert down.status_code == 200, down.text  # webhooks need only the database: keep the worker routed
    body = down.json()
    assert body["redis"]["ok"] is False and body["database"]["ok"] is True
    assert body["ok"] is False and body["outbox"]["pending"] >= 1
    assert elapsed_s < 10, f"the probe took {elapsed_s:.1f} s with Redis down"


def test_with_a_token_only_its_bearer_reads_the_metrics(with_token):
    missing = with_token.get("/metrics")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = with_token.get("/metrics", Authorization="Bearer not-the-token")
    assert wrong.status_code == 401 and "cozykart_" not in wrong.text
    right = with_token.get(
        "/metrics", Authorization=f"Bearer {METRICS_TOKEN}", **{"X-Forwarded-For": "1.2.3.4"}
    )
    assert _value(_samples(right), "cozykart_database_up") == 1
    logs = "".join(path.read_text(errors="replace") for path in with_token.workdir.glob("server-*.log"))
    assert logs and METRICS_TOKEN not in logs
