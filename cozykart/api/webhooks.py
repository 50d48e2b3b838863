"""`POST /api/webhooks/{stripe,kofi,shopify}`: verify, store, acknowledge.

A provider whose secret is not configured answers 503 and records nothing. A
forged, stale, malformed or oversized request gets a 4xx with a short reason
and changes nothing. A verified event is stored in the inbox (and applied)
before the 200 is sent: the request hands it to the process's group-commit
writer (`services.webhook_writer`) and answers once the transaction holding it
has committed; if storing fails, it answers 500 and the provider retries. Neither secrets nor payloads are logged.

On shutdown (`drain_writer_on_shutdown`, a lifespan step) the writer stops taking
deliveries (they are answered 503 and the provider retries) and every one already
handed to it is committed and answered before the process exits.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cozykart.api._http import error_response, error_response_for, read_body_capped
from cozykart.domain.errors import Unavailable
from cozykart.domain.payments import MalformedWebhook, VerifiedEvent, WebhookRejected
from cozykart.integrations import kofi, shopify, stripe_payments
from cozykart.services import webhook_writer
from cozykart.settings import Settings

BODY_BYTES_MAX = 1024 * 1024
SHUTDOWN_RETRY_AFTER_S = 5  # what a delivery refused during a shutdown is told (a restart takes about that)
logger = logging.getLogger("cozykart.webhooks")


def _settings(request: Request) -> Settings:
    """The settings `build_api` was given (the process environment by default)."""
    return request.app.state.settings


async def _handle(
    request: Request, provider: str, secret: str | None, parse: Callable[[bytes, str], VerifiedEvent]
) -> JSONResponse:
    settings = _settings(request)
    if not secret:
        return error_response_for(Unavailable(f"{provider} webhooks are not configured"))
    body = await read_body_capped(request, BODY_BYTES_MAX)
    if body is None:
        return error_response(413, f"body is larger than {BODY_BYTES_MAX} bytes")
    try:
        event = parse(body, secret)
    except (WebhookRejected, MalformedWebhook) as error:
        logger.info("webhook %s refused: %s", provider, error)
        return error_response_for(error)
    body_sha256 = hashlib.sha256(body).hexdigest()
    try:
        receipt = await webhook_writer.writer_for(settings.db_url).receive(
            event, body_sha256=body_sha256, settings=settings, on_money_moved=request.app.state.on_money_moved
        )
    except webhook_writer.WriterStopped as stopped:  # shutting down: nothing stored, so not acknowledged
        # Stripe resends an event its endpoint did not take (any non-2xx) for up to three days
        # ("Process undelivered webhook events", https://docs.stripe.com/webhooks/process-undelivered-events).
        logger.info("webhook %s %s refused during shutdown", provider, event.event_id)
        return error_response(503, str(stopped), headers={"Retry-After": str(SHUTDOWN_RETRY_AFTER_S)})
    except Exception as error:  # noqa: BLE001 - not stored, so not acknowledged: the provider delivers it again
        return _not_stored(provider, event, error)
    logger.info(
        "webhook %s %s (%s) -> inbox %s %s%s",
        provider,
        event.event_id,
        event.event_type,
        receipt.inbox_id,
        receipt.status,
        " (duplicate)" if receipt.duplicate else "",
    )
    return JSONResponse(
        {
            "received": True,
            "inbox_id": receipt.inbox_id,
            "status": receipt.status,
            "duplicate": receipt.duplicate,
        }
    )


def _not_stored(provider: str, event: VerifiedEvent, error: Exception) -> JSONResponse:
    """500, never 200: the event is not in the inbox (the database was locked, unreachable, or its commit
    failed), and the provider's retry is what stores it: Stripe resends an undelivered event for up to
    three days (https://docs.stripe.com/webhooks/process-undelivered-events), Shopify 8 times over 4 hours
    (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism). One line per delivery: the writer
    logged the batch's error with its traceback once."""
    logger.warning("webhook %s %s not stored: %s", provider, event.event_id, type(error).__name__)
    return error_response(500, "the event could not be stored; deliver it again")


async def stripe_webhook(request: Request) -> JSONResponse:
    signature = request.headers.get(stripe_payments.SIGNATURE_HEADER)
    return await _handle(
        request,
        "stripe",
        _settings(request).stripe_webhook_secret,
        lambda body, secret: stripe_payments.parse_webhook(body, signature, secret),
    )


async def kofi_webhook(request: Request) -> JSONResponse:
    return await _handle(request, "kofi", _settings(request).kofi_verification_token, kofi.parse_webhook)


async def shopify_webhook(request: Request) -> JSONResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    return await _handle(
        request,
        "shopify",
        _settings(request).shopify_webhook_secret,
        lambda body, secret: shopify.parse_webhook(body, headers, secret),
    )


@contextlib.asynccontextmanager
async def drain_writer_on_shutdown() -> AsyncIterator[None]:
    """A lifespan step: when the server stops (SIGTERM), the webhook writer drains before the process exits.

    Every delivery already handed to the writer is committed and answered (bounded by
    `webhook_writer.DRAIN_TIMEOUT_S`); later ones are refused with 503. Registered
    before the background tasks' cancellation runs, so nothing queued is cut off.
    """
    webhook_writer.reopen_writers()
    try:
        yield
    finally:
        report = await webhook_writer.drain_writers()
        if report.left:
            logger.warning(
                "shutdown: %d webhook deliveries still unwritten after %.1f s (never acknowledged: "
                "the provider delivers them again)",
                report.left,
                report.seconds,
            )
        else:
            logger.info("shutdown: webhook writer drained, %d deliveries answered", report.settled)


routes = [
    Route("/api/webhooks/stripe", stripe_webhook, methods=["POST"]),
    Route("/api/webhooks/kofi", kofi_webhook, methods=["POST"]),
    Route("/api/webhooks/shopify", shopify_webhook, methods=["POST"]),
]
