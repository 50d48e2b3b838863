"""Environment -> typed settings, with their defaults and ranges as named constants.

Every setting of the project's fixed interface (the environment variables below)
is read here and nowhere else; the limits of the rules live in the domain. Secrets
are plain attributes of `Settings`; they are never logged and never reach a
browser (the UI only ever sees values a service chose to return).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cozykart.domain.money import BPS_PER_WHOLE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "cozykart.db"

# --- money defaults (SPEC "Interfaces that are fixed") ---
COMMISSION_RATE_BPS_DEFAULT = 2000
TIP_FEE_BPS_DEFAULT = 500
PAYOUT_MIN_CENTS_DEFAULT = 2000
HOLD_DAYS_DEFAULT = 7
PAYOUT_MIN_CENTS_MAX = 10**9  # the highest payout threshold the environment or an admin may set
HOLD_DAYS_MAX = 365
# The range of each money setting, from the environment or an admin's change (the console's too).
MONEY_SETTING_RANGES: dict[str, tuple[int, int]] = {
    "commission_rate_bps": (0, BPS_PER_WHOLE),
    "tip_fee_bps": (0, BPS_PER_WHOLE),
    "payout_min_cents": (1, PAYOUT_MIN_CENTS_MAX),
    "hold_days": (0, HOLD_DAYS_MAX),
}
CURRENCY_DEFAULT = "USD"
# The league's and the ledger's rules keep their limits in the domain (cozykart/domain/).

# --- storage ---
SQLITE_BUSY_TIMEOUT_MS = 10_000

# --- the mode Reflex runs in (REFLEX_ENV_MODE, set by `reflex run --env`) ---
REFLEX_ENV_MODE_PRODUCTION = "prod"

# --- operations: GET /metrics ---
METRICS_RECONCILE_INTERVAL_S_DEFAULT = 60  # a reconcile verdict is reused this long between scrapes
METRICS_RECONCILE_INTERVAL_S_MAX = 86_400

# --- dashboard ---
WATCH_TOP_RACERS_COUNT = 5


class SettingsError(ValueError):
    """A setting in the environment cannot be used; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Settings:
    db_url: str
    currency: str = CURRENCY_DEFAULT
    commission_rate_bps: int = COMMISSION_RATE_BPS_DEFAULT
    tip_fee_bps: int = TIP_FEE_BPS_DEFAULT
    payout_min_cents: int = PAYOUT_MIN_CENTS_DEFAULT
    hold_days: int = HOLD_DAYS_DEFAULT
    admin_discord_ids: frozenset[str] = field(default_factory=frozenset)
    dev_login: bool = False
    demo_tips: bool = False  # tips without Stripe Checkout; never in production mode
    production_mode: bool = False  # `reflex run --env prod` (REFLEX_ENV_MODE=prod)
    redis_url: str | None = None
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_api_base: str | None = None
    kofi_verification_token: str | None = field(default=None, repr=False)
    shopify_webhook_secret: str | None = field(default=None, repr=False)
    discord_client_id: str | None = None
    discord_client_secret: str | None = field(default=None, repr=False)
    discord_api_base: str = "https://discord.com/api/v10"
    discord_public_key: str | None = None
    discord_bot_token: str | None = field(default=None, repr=False)
    discord_announce_webhook_url: str | None = field(default=None, repr=False)
    stream_embed_url: str | None = None
    shop_url: str | None = None
    site_url: str | None = None  # the site's public address, for links in Discord ("https://kart.example")
    allowed_origins: tuple[str, ...] = ()
    metrics_token: str | None = field(default=None, repr=False)  # GET /metrics then needs it as a bearer
    metrics_reconcile_interval_s: int = METRICS_RECONCILE_INTERVAL_S_DEFAULT

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")


def default_db_url() -> str:
    return f"sqlite:///{DEFAULT_DB_PATH}"


SITE_URL_LENGTH_MAX = 200
_SITE_URL_FORBIDDEN = frozenset(" ()<>[]\"'`\\")  # what would break out of a Markdown link or an attribute


def _site_url(env: Mapping[str, str]) -> str | None:
    """COZYKART_SITE_URL: an http(s) address with a host and no path, query or odd character; no trailing "/"."""
    raw = _optional(env, "COZYKART_SITE_URL")
    if raw is None:
        return None
    problem = SettingsError(
        f"COZYKART_SITE_URL must be the site's address, like https://kart.example; got {raw!r}"
    )
    if len(raw) > SITE_URL_LENGTH_MAX or _SITE_URL_FORBIDDEN & set(raw):
        raise problem
    parts = urlsplit(raw)
    plain = not (parts.query or parts.fragment or parts.path.strip("/"))
    if parts.scheme not in {"http", "https"} or not parts.netloc or not plain:
        raise problem
    return f"{parts.scheme}://{parts.netloc}"


def _money(env: Mapping[str, str], name: str, env_name: str, default: int) -> int:
    low, high = MONEY_SETTING_RANGES[name]
    return _int(env, env_name, default, low=low, high=high)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (the process environment by default)."""
    env = os.environ if env is None else env
    currency = env.get("COZYKART_CURRENCY", "").strip().upper() or CURRENCY_DEFAULT
    if len(currency) != 3 or not currency.isalpha():
        raise SettingsError(f"COZYKART_CURRENCY must be a three-letter ISO code, got {currency!r}")
    admin_ids = frozenset(
        part.strip() for part in env.get("COZYKART_ADMIN_DISCORD_IDS", "").split(",") if part.strip()
    )
    return Settings(
        db_url=env.get("REFLEX_DB_URL", "").strip() or default_db_url(),
        currency=currency,
        commission_rate_bps=_money(
            env, "commission_rate_bps", "COZYKART_COMMISSION_RATE_BPS", COMMISSION_RATE_BPS_DEFAULT
        ),
        tip_fee_bps=_money(env, "tip_fee_bps", "COZYKART_TIP_FEE_BPS", TIP_FEE_BPS_DEFAULT),
        payout_min_cents=_money(
            env, "payout_min_cents", "COZYKART_PAYOUT_MIN_CENTS", PAYOUT_MIN_CENTS_DEFAULT
        ),
        hold_days=_money(env, "hold_days", "COZYKART_HOLD_DAYS", HOLD_DAYS_DEFAULT),
        admin_discord_ids=admin_ids,
        dev_login=_flag(env, "COZYKART_DEV_LOGIN"),
        demo_tips=_flag(env, "COZYKART_DEMO_TIPS"),
        production_mode=env.get("REFLEX_ENV_MODE", "").strip().lower() == REFLEX_ENV_MODE_PRODUCTION,
        redis_url=_optional(env, "REFLEX_REDIS_URL"),
        stripe_webhook_secret=_optional(env, "STRIPE_WEBHOOK_SECRET"),
        stripe_api_key=_optional(env, "STRIPE_API_KEY"),
        stripe_api_base=_optional(env, "STRIPE_API_BASE"),
        kofi_verification_token=_optional(env, "KOFI_VERIFICATION_TOKEN"),
        shopify_webhook_secret=_optional(env, "SHOPIFY_WEBHOOK_SECRET"),
        discord_client_id=_optional(env, "DISCORD_CLIENT_ID"),
        discord_client_secret=_optional(env, "DISCORD_CLIENT_SECRET"),
        discord_api_base=(_optional(env, "DISCORD_API_BASE") or "https://discord.com/api/v10").rstrip("/"),
        discord_public_key=_optional(env, "DISCORD_PUBLIC_KEY"),
        discord_bot_token=_optional(env, "DISCORD_BOT_TOKEN"),
        discord_announce_webhook_url=_optional(env, "DISCORD_ANNOUNCE_WEBHOOK_URL"),
        stream_embed_url=_optional(env, "COZYKART_STREAM_EMBED_URL"),
        shop_url=_optional(env, "COZYKART_SHOP_URL"),
        site_url=_site_url(env),
        allowed_origins=tuple(
            part.strip() for part in env.get("COZYKART_ALLOWED_ORIGINS", "").split(",") if part.strip()
        ),
        metrics_token=_optional(env, "COZYKART_METRICS_TOKEN"),
        metrics_reconcile_interval_s=_int(
            env,
            "COZYKART_METRICS_RECONCILE_INTERVAL_S",
            METRICS_RECONCILE_INTERVAL_S_DEFAULT,
            low=0,
            high=METRICS_RECONCILE_INTERVAL_S_MAX,
        ),
    )
