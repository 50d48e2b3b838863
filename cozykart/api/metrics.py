"""`GET /metrics`: what an operator watches, in Prometheus' text format (prometheus-client).

Who may read it:
- without COZYKART_METRICS_TOKEN: loopback clients only (127.0.0.0/8, ::1), and
  only requests that name no forwarding header (`Forwarded`, `X-Forwarded-For`,
  `X-Real-IP`). A header cannot make a remote client loopback, and a request a
  proxy on this machine relayed is not the machine's own: behind a proxy, every
  client would otherwise be 127.0.0.1. Anyone else gets 403.
- with the token set: only `Authorization: Bearer <token>` (compared in constant
  time), from anywhere, loopback included; a missing or wrong token gets 401 with
  `WWW-Authenticate: Bearer` (RFC 6750 section 3). The token is never logged.

What it says (`cozykart_` names; `HELP` lines in the answer say the rest):
- from the database, the same from every worker: the webhook inbox by provider
  and status, the Discord outbox by channel and status and the age of its oldest
  pending message, payouts pending (count, cents, oldest), the reconcile verdict
  (at most one reconcile per COZYKART_METRICS_RECONCILE_INTERVAL_S, with its age),
  and `cozykart_database_up`;
- from this worker (label `worker`, its pid): webhook deliveries received, the
  inbox writer's batch sizes and commit latency, live viewers per room
  (`services/metrics.py`). With several Granian workers each scrape reaches one
  worker and answers for that one only.

The database figures are a custom collector, built per scrape ("Custom
Collectors", https://prometheus.github.io/client_python/collector/custom/);
Prometheus sends the token with `authorization: {type: Bearer, credentials_file: ...}`
in its scrape_config (Prometheus docs, "Configuration", scrape_config,
https://prometheus.io/docs/prometheus/latest/configuration/configuration/).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cozykart.domain.discord_messages import OutboxChannel, OutboxStatus
from cozykart.domain.payments import PROVIDERS, InboxStatus
from cozykart.services import metrics as process_metrics
from cozykart.services.reads.operations import (
    DatabaseFigures,
    OperationsSnapshot,
    ReconcileStatus,
    database_figures,
)
from cozykart.settings import Settings

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
INBOX_STATUSES = tuple(status.value for status in InboxStatus if status != InboxStatus.RECEIVED)


def is_loopback(host: str | None) -> bool:
    """Whether `host` (the socket peer's address) is this machine: 127.0.0.0/8, ::1 or ::ffff:127.x."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:  # a name, or Starlette's test client's "testclient": not an address
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def refusal(request: Request, token: str | None) -> Response | None:
    """The answer to a client that may not read the metrics, or None when it may."""
    if token:
        given = _bearer(request)
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return None
        challenge = 'Bearer realm="cozykart-metrics"' + ("" if given is None else ', error="invalid_token"')
        return JSONResponse(
            {"error": "GET /metrics needs Authorization: Bearer <COZYKART_METRICS_TOKEN>"},
            status_code=401,
            headers={"WWW-Authenticate": challenge},
        )
    client = request.client.host if request.client else None
    forwarded = any(name in request.headers for name in FORWARDING_HEADERS)
    if is_loopback(client) and not forwarded:
        return None
    return JSONResponse(
        {
            "error": "GET /metrics answers this machine only; set COZYKART_METRICS_TOKEN to scrape from elsewhere"
        },
        status_code=403,
    )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _inbox_and_outbox(snapshot: OperationsSnapshot) -> Iterable[Metric]:
    inbox = GaugeMetricFamily(
        "cozykart_webhook_events",
        "Webhook inbox events by provider and status (applied, waiting, failed, ignored, flagged), now.",
        labels=["provider", "status"],
    )
    for provider in PROVIDERS:
        for status in INBOX_STATUSES:
            inbox.add_metric([provider, status], snapshot.inbox.get((provider, status), 0))
    outbox = GaugeMetricFamily(
        "cozykart_outbox_messages",
        "Discord outbox messages by channel (announce, direct) and status (pending, sent, failed), now.",
        labels=["channel", "status"],
    )
    oldest = GaugeMetricFamily(
        "cozykart_outbox_oldest_pending_seconds",
        "Age of the oldest pending Discord outbox message per channel (0 when none is pending): the lag.",
        labels=["channel"],
    )
    for channel in OutboxChannel:
        for status in OutboxStatus:
            outbox.add_metric([channel.value, status.value], snapshot.outbox.get((channel, status), 0))
        oldest.add_metric([channel.value], snapshot.outbox_oldest_pending_s.get(channel, 0.0))
    return [inbox, outbox, oldest]


def _payouts(snapshot: OperationsSnapshot) -> Iterable[Metric]:
    return [
        _gauge(
            "cozykart_payouts_pending",
            "Payout requests waiting for an admin.",
            snapshot.payouts_pending_count,
        ),
        _gauge(
            "cozykart_payouts_pending_cents",
            "Cents requested by the payouts waiting for an admin (integer cents).",
            snapshot.payouts_pending_cents,
        ),
        _gauge(
            "cozykart_payouts_oldest_pending_seconds",
            "Age of the oldest payout request waiting for an admin (0 when none).",
            snapshot.payouts_oldest_pending_s or 0.0,
        ),
    ]


def _reconcile(reconciled: ReconcileStatus) -> Iterable[Metric]:
    return [
        _gauge(
            "cozykart_reconcile_clean",
            "1 when the last reconcile found no violation, else 0.",
            reconciled.clean,
        ),
        _gauge(
            "cozykart_reconcile_violations", "Violations the last reconcile found.", reconciled.violations
        ),
        _gauge("cozykart_reconcile_age_seconds", "Seconds since the last reconcile ran.", reconciled.age_s()),
        _gauge(
            "cozykart_reconcile_duration_seconds", "How long the last reconcile took.", reconciled.duration_s
        ),
    ]


def _live_viewers(viewers: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "cozykart_live_viewers",
        "Sockets of this worker in each live room (Live Pot, Watch, lobby...), now.",
        labels=["room", "worker"],
    )
    for room, count in viewers.items():
        family.add_metric([room, process_metrics.worker()], count)
    return family


class _Scrape(Collector):
    """One answer: this worker's instruments and the figures read for this scrape."""

    def __init__(self, figures: DatabaseFigures, viewers: dict[str, int]) -> None:
        self.figures, self.viewers = figures, viewers

    def collect(self) -> Iterable[Metric]:
        snapshot, reconciled = self.figures.snapshot, self.figures.reconciled
        yield _gauge(
            "cozykart_database_up",
            "1 when this scrape could read the database, else 0.",
            snapshot is not None,
        )
        if snapshot is not None:
            yield from _inbox_and_outbox(snapshot)
            yield from _payouts(snapshot)
        if reconciled is not None:
            yield from _reconcile(reconciled)
        yield _live_viewers(self.viewers)
        process_metrics.show_every_series()
        yield from process_metrics.REGISTRY.collect()


async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    refused = refusal(request, settings.metrics_token)
    if refused is not None:
        return refused
    figures = await asyncio.to_thread(database_figures, settings)
    viewers = process_metrics.live_viewers()  # on the event loop that serves this worker's sockets
    return Response(
        generate_latest(_Scrape(figures, viewers)),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )


routes = [Route("/metrics", metrics, methods=["GET"])]
