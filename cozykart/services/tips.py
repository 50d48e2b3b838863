"""Tipping the DJ: what the tip page offers, and starting a tip.

A tip starts in one of two modes, chosen by the settings:

- **Stripe** (STRIPE_API_KEY set): a Checkout Session is created through the
  Stripe SDK (on STRIPE_API_BASE when set) with metadata kind=tip, dj, song,
  message, fan_name; the fan pays on Stripe's page, and the money arrives later
  as a signed `checkout.session.completed` webhook like any other.
- **Demo** (no API key, COZYKART_DEMO_TIPS=1 and STRIPE_WEBHOOK_SECRET set, dev
  mode only): no card is charged. The server writes the
  `checkout.session.completed` Stripe would send, signs it with
  STRIPE_WEBHOOK_SECRET, verifies it with the same parser the webhook route
  uses, and hands it to the webhook inbox (`webhooks.receive`). The ledger is
  only ever reached through the inbox, exactly as for a real tip.

Anything else is **off**: `start_tip` refuses. A demo tip credits a DJ money
nobody paid, so it never runs in production mode (REFLEX_ENV_MODE=prod), not
even with the flag (the app also refuses to start with it there:
`refuse_demo_tips_in_production`); a merch-only deployment, with only the
webhook secret set, takes no tips.

Either way the fan's key makes a repeated click the same tip: the same Stripe
idempotency key, or the same demo event id (which the inbox stores once).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.money import format_cents, require_positive_cents
from cozykart.domain.payments import DemoTipsInProduction, TipsUnavailable, site_origin
from cozykart.integrations import stripe_payments
from cozykart.services import webhooks
from cozykart.settings import Settings

TIP_PRESETS_CENTS = (200, 500, 1000)
TIP_CENTS_MIN = 100
TIP_CENTS_MAX = 50_000
SONG_LENGTH_MAX = 120
# What the tip form accepts: tighter than what the ledger stores of any provider's tip.
TIP_MESSAGE_LENGTH_MAX = 280
TIP_FAN_NAME_LENGTH_MAX = 60
TIP_FORM_KEY_LENGTH_MAX = 100  # the form's own key, hashed into the checkout's; not a ledger key
DJS_LISTED_MAX = 50
TIP_PATH = "/tip"

MODE_STRIPE = "stripe"
MODE_DEMO = "demo"
MODE_OFF = "off"


def refuse_demo_tips_in_production(*, demo_tips: bool, production: bool) -> None:
    if demo_tips and production:
        raise DemoTipsInProduction(
            "COZYKART_DEMO_TIPS=1 lets anyone credit a DJ a tip nobody paid; it is for local use only "
            "and the app refuses to start with it in production mode (reflex run --env prod). "
            "Unset COZYKART_DEMO_TIPS, and set STRIPE_API_KEY to take tips through Stripe Checkout."
        )


@dataclass(frozen=True)
class DjChoice:
    discord_id: str
    display_name: str
    avatar_url: str


@dataclass(frozen=True)
class TipOptions:
    mode: str  # stripe | demo | off
    currency: str
    djs: tuple[DjChoice, ...]
    presets_cents: tuple[int, ...]
    tip_cents_min: int
    tip_cents_max: int


@dataclass(frozen=True)
class TipStarted:
    mode: str
    tip_cents: int
    dj_name: str
    checkout_url: str | None  # Stripe: where to send the fan
    inbox_status: str | None  # demo: where the signed event ended up (applied, normally)


def tip_mode(settings: Settings) -> str:
    """Stripe Checkout when configured; the demo only when asked for, in dev mode; else off."""
    if settings.stripe_api_key:
        return MODE_STRIPE
    if settings.demo_tips and not settings.production_mode and settings.stripe_webhook_secret:
        return MODE_DEMO
    return MODE_OFF


def _djs(uow: UnitOfWork) -> tuple[DjChoice, ...]:
    rows = uow.league.djs(limit=DJS_LISTED_MAX)
    return tuple(DjChoice(row.discord_id, row.display_name, row.avatar_url or "") for row in rows)


def tip_options(*, uow: UnitOfWork) -> TipOptions:
    """What the tip page offers: the DJs, the preset amounts, the limits, and the mode."""
    settings = uow.base_settings
    with uow:
        djs = _djs(uow)
    return TipOptions(
        mode=tip_mode(settings),
        currency=settings.currency,
        djs=djs,
        presets_cents=TIP_PRESETS_CENTS,
        tip_cents_min=TIP_CENTS_MIN,
        tip_cents_max=TIP_CENTS_MAX,
    )


def _words(value: str | None, limit: int, what: str) -> str:
    cleaned = " ".join((value or "").split())
    if len(cleaned) > limit:
        raise InvalidInput(f"{what} can be at most {limit} characters.")
    return cleaned


def start_tip(
    *,
    dj_discord_id: str,
    tip_cents: int,
    song: str,
    message: str,
    fan_name: str,
    key: str,
    site_url: str,
    uow: UnitOfWork,
) -> TipStarted:
    """Start a fan's tip for a DJ: a Stripe Checkout page, or in demo mode the signed webhook at once."""
    settings = uow.base_settings
    mode = tip_mode(settings)
    if mode == MODE_OFF:
        raise TipsUnavailable("Tips are unavailable here right now: nothing was charged.")
    require_positive_cents(tip_cents, "The tip")
    money = lambda cents: format_cents(cents, settings.currency)  # noqa: E731
    if not TIP_CENTS_MIN <= tip_cents <= TIP_CENTS_MAX:
        raise InvalidInput(f"A tip is between {money(TIP_CENTS_MIN)} and {money(TIP_CENTS_MAX)}.")
    if not isinstance(key, str) or not key.strip() or len(key) > TIP_FORM_KEY_LENGTH_MAX:
        raise InvalidInput("Reload the page and try again (the tip form has no key).")
    song = _words(song, SONG_LENGTH_MAX, "The song") or stripe_payments.DEFAULT_SONG
    message = _words(message, TIP_MESSAGE_LENGTH_MAX, "The message")
    fan_name = _words(fan_name, TIP_FAN_NAME_LENGTH_MAX, "Your name")
    site = site_origin(site_url)
    with uow:
        dj = next((choice for choice in _djs(uow) if choice.discord_id == dj_discord_id), None)
    if dj is None:
        raise NotFound("Pick a DJ from the list (that one is not a DJ any more).")
    metadata = {"kind": "tip", "dj": dj.discord_id, "song": song, "message": message, "fan_name": fan_name}
    digest = hashlib.sha256(f"tip\x1f{key.strip()}".encode()).hexdigest()[:32]

    if mode == MODE_STRIPE:
        assert settings.stripe_api_key is not None
        session = stripe_payments.create_checkout_session(
            api_key=settings.stripe_api_key,
            api_base=settings.stripe_api_base,
            amount_cents=tip_cents,
            currency=settings.currency,
            product_name=f"Tip for DJ {dj.display_name}: {song}"[: SONG_LENGTH_MAX + 40],
            metadata=metadata,
            success_url=f"{site}{TIP_PATH}?tipped=1",
            cancel_url=f"{site}{TIP_PATH}?cancelled=1",
            idempotency_key=f"cozykart-tip-{digest}",
        )
        return TipStarted(MODE_STRIPE, tip_cents, dj.display_name, session.url, None)

    receipt_status = _demo_tip(digest, tip_cents, metadata, fan_name, uow=uow)
    return TipStarted(MODE_DEMO, tip_cents, dj.display_name, None, receipt_status)


def _demo_tip(
    digest: str, tip_cents: int, metadata: dict[str, str], fan_name: str, *, uow: UnitOfWork
) -> str:
    """Sign the webhook Stripe would send for this tip and put it through the inbox; its inbox status.

    Only ever in demo mode: the server signs its own payment here.
    """
    settings = uow.base_settings
    assert tip_mode(settings) == MODE_DEMO and not settings.production_mode
    secret = settings.stripe_webhook_secret
    assert secret is not None
    event = stripe_payments.checkout_completed_event(
        event_id=f"evt_demo_{digest}",
        session_id=f"cs_demo_{digest}",
        payment_intent=f"pi_demo_{digest}",
        amount_cents=tip_cents,
        currency=settings.currency,
        metadata=metadata | {"demo": "1"},
        customer_name=fan_name or None,
    )
    body = json.dumps(event, separators=(",", ":"), sort_keys=True)
    # Signed and verified exactly as a delivery from Stripe to /api/webhooks/stripe would be.
    verified = stripe_payments.parse_webhook(body.encode(), stripe_payments.sign(body, secret), secret)
    receipt = webhooks.receive(verified, body_sha256=hashlib.sha256(body.encode()).hexdigest(), uow=uow)
    return receipt.status
