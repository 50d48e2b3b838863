"""The money settings an admin may change in the console, stored and audited.

Four settings move or check money: the commission rate, the tip fee, the payout
threshold and the hold. The environment gives the values a fresh install starts
with (`cozykart.settings.Settings`); an admin's change is appended to
`money_setting_change` (who, when, old value, new value, reason) and the newest
change of a setting is its effective value from then on. Nothing is ever
rewritten: a change takes effect for the next sale, tip, payout request or
hold, never for a transaction already written.

Every service that moves or checks money reads the values as `uow.settings`
inside its own transaction (the unit of work reads them once per transaction,
through `MoneySettingsRepository.latest_values`). That read is one query on the
unique (name, sequence) index of a table that holds only the admins' changes (a
handful of rows), so there is no cache to invalidate: every worker process sees
a change as soon as it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput, SettingChangeConflict
from cozykart.domain.ledger import REASON_LENGTH_MAX, REASON_LENGTH_MIN
from cozykart.domain.money import format_cents, parse_amount_cents
from cozykart.services.actors import load_admin
from cozykart.settings import MONEY_SETTING_RANGES

HISTORY_ROWS_MAX = 200
PERCENT_DECIMALS_MAX = 2  # a basis point is a hundredth of a percent


@dataclass(frozen=True)
class SettingSpec:
    name: str  # the attribute of `Settings`
    label: str
    unit: str  # "bps", "cents" or "days"
    env_name: str
    help: str

    @property
    def low(self) -> int:
        return MONEY_SETTING_RANGES[self.name][0]

    @property
    def high(self) -> int:
        return MONEY_SETTING_RANGES[self.name][1]


# The ranges are the environment's (cozykart.settings.MONEY_SETTING_RANGES).
SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "commission_rate_bps",
        "Commission rate",
        "bps",
        "COZYKART_COMMISSION_RATE_BPS",
        "The share of each sale (after manufacturing cost) that goes into the live race's pool.",
    ),
    SettingSpec(
        "tip_fee_bps",
        "Tip fee",
        "bps",
        "COZYKART_TIP_FEE_BPS",
        "The platform's share of each DJ tip; the DJ gets the rest.",
    ),
    SettingSpec(
        "payout_min_cents",
        "Payout threshold",
        "cents",
        "COZYKART_PAYOUT_MIN_CENTS",
        "The smallest payout a racer may request.",
    ),
    SettingSpec(
        "hold_days",
        "Hold",
        "days",
        "COZYKART_HOLD_DAYS",
        "How long new earnings are held before a racer can withdraw them.",
    ),
)
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True)
class SettingChangeLine:
    change_id: int
    name: str
    label: str
    old_value: int
    new_value: int
    old_words: str
    new_words: str
    reason: str
    actor_racer_id: int
    actor_name: str
    changed_at: datetime


@dataclass(frozen=True)
class SettingLine:
    name: str
    label: str
    unit: str
    help: str
    value: int
    value_words: str
    env_value: int
    env_name: str
    low_words: str
    high_words: str
    last_change: SettingChangeLine | None  # None: the environment's value

    @property
    def source_words(self) -> str:
        if self.last_change is None:
            return f"Environment default ({self.env_name})"
        return f"Changed by {self.last_change.actor_name} at {self.last_change.changed_at:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class MoneySettingsView:
    settings: tuple[SettingLine, ...]
    history: tuple[SettingChangeLine, ...]  # newest first, at most HISTORY_ROWS_MAX


@dataclass(frozen=True)
class SettingChangeReceipt:
    change_id: int
    name: str
    old_value: int
    new_value: int
    message: str


# --- words ----------------------------------------------------------------------


def value_words(name: str, value: int, currency: str) -> str:
    unit = SPECS_BY_NAME[name].unit
    if unit == "bps":
        whole, hundredths = divmod(value, 100)
        return f"{whole}.{hundredths:02d}% ({value} bps)"
    if unit == "cents":
        return format_cents(value, currency)
    return "1 day" if value == 1 else f"{value} days"


def parse_setting_value(name: str, text: str | int) -> int:
    """Read what an admin typed: a percent for a rate, an amount for the threshold, whole days for the hold."""
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        raise InvalidInput(
            "That is not a money setting: choose the commission rate, tip fee, payout threshold or hold."
        )
    if isinstance(text, bool):
        raise InvalidInput(f"{spec.label}: give a number.")
    if isinstance(text, int):
        return text
    cleaned = str(text or "").strip()
    if not cleaned:
        raise InvalidInput(f"{spec.label}: give a new value.")
    if spec.unit == "bps":
        cleaned = cleaned.removesuffix("%").strip()
        try:
            bps = Decimal(cleaned) * 100
            whole = bps.is_finite() and bps == bps.to_integral_value()
        except ArithmeticError:  # not a number, or an absurd exponent (decimal's errors are ArithmeticErrors)
            raise InvalidInput(f"{spec.label}: give a percent such as 20 or 12.5, got {text!r}.") from None
        if not bps.is_finite():
            raise InvalidInput(f"{spec.label}: give a percent such as 20 or 12.5, got {text!r}.")
        if not whole:
            raise InvalidInput(
                f"{spec.label}: at most {PERCENT_DECIMALS_MAX} decimals (a basis point), got {text!r}."
            )
        return int(bps)
    if spec.unit == "cents":
        try:
            return parse_amount_cents(cleaned)
        except InvalidInput as error:
            raise InvalidInput(f"{spec.label}: {error.message}") from None
    try:
        return int(cleaned)
    except ValueError:
        raise InvalidInput(f"{spec.label}: give a whole number of days, got {text!r}.") from None


def _require_reason(reason: str | None) -> str:
    cleaned = " ".join(str(reason or "").split())
    if not REASON_LENGTH_MIN <= len(cleaned) <= REASON_LENGTH_MAX:
        raise InvalidInput(
            f"Give a reason of {REASON_LENGTH_MIN} to {REASON_LENGTH_MAX} characters; it is kept in the settings audit."
        )
    return cleaned


# --- the console ----------------------------------------------------------------


def _change_line(row, currency: str) -> SettingChangeLine:
    spec = SPECS_BY_NAME[row.name]
    return SettingChangeLine(
        change_id=row.id,
        name=row.name,
        label=spec.label,
        old_value=row.old_value,
        new_value=row.new_value,
        old_words=value_words(row.name, row.old_value, currency),
        new_words=value_words(row.name, row.new_value, currency),
        reason=row.reason,
        actor_racer_id=row.actor_racer_id,
        actor_name=row.actor_name,
        changed_at=row.created_at,
    )


def money_settings_view(*, actor_id: int, uow: UnitOfWork) -> MoneySettingsView:
    """An admin reads the money settings in effect, where each comes from, and every change."""
    base = uow.base_settings
    with uow:
        load_admin(uow, actor_id)
        history_rows = uow.money_settings.history(HISTORY_ROWS_MAX)
        latest_rows = uow.money_settings.latest_changes()
    last_by_name = {row.name: _change_line(row, base.currency) for row in latest_rows}
    lines = []
    for spec in SPECS:
        last = last_by_name.get(spec.name)
        env_value = getattr(base, spec.name)
        value = last.new_value if last is not None else env_value
        lines.append(
            SettingLine(
                name=spec.name,
                label=spec.label,
                unit=spec.unit,
                help=spec.help,
                value=value,
                value_words=value_words(spec.name, value, base.currency),
                env_value=env_value,
                env_name=spec.env_name,
                low_words=value_words(spec.name, spec.low, base.currency),
                high_words=value_words(spec.name, spec.high, base.currency),
                last_change=last,
            )
        )
    return MoneySettingsView(
        settings=tuple(lines), history=tuple(_change_line(row, base.currency) for row in history_rows)
    )


def _new_value_in_range(spec: SettingSpec, value: int | str, currency: str) -> int:
    """What the admin gave, in the setting's own unit, refused outside the setting's range."""
    new_value = parse_setting_value(spec.name, value)
    if not spec.low <= new_value <= spec.high:
        raise InvalidInput(
            f"{spec.label} must be between {value_words(spec.name, spec.low, currency)} and "
            f"{value_words(spec.name, spec.high, currency)}, got {value_words(spec.name, new_value, currency)}."
        )
    return new_value


def change_money_setting(
    *, actor_id: int, name: str, value: int | str, reason: str, uow: UnitOfWork, now: datetime | None = None
) -> SettingChangeReceipt:
    """An admin changes one money setting, with a reason; the change is appended to the audit.

    `value` is the setting's own unit (basis points, cents, days) as an int, or
    what the admin typed (a percent, an amount, days) as text. Bad values and
    non-admins change nothing. The new value applies from the next event on.
    """
    base = uow.base_settings
    spec = SPECS_BY_NAME.get(name)
    if spec is None:
        raise InvalidInput(
            "That is not a money setting: choose the commission rate, tip fee, payout threshold or hold."
        )
    with uow:
        load_admin(uow, actor_id)
        new_value = _new_value_in_range(spec, value, base.currency)
        reason = _require_reason(reason)
        last = uow.money_settings.last_change(name)
        old_value = last.new_value if last is not None else getattr(base, name)
        if new_value == old_value:
            raise InvalidInput(
                f"{spec.label} is already {value_words(name, old_value, base.currency)}; nothing changed."
            )
        change_id = uow.money_settings.append_change(
            name,
            sequence=(last.sequence if last is not None else 0) + 1,
            old_value=old_value,
            new_value=new_value,
            reason=reason,
            actor_id=actor_id,
            changed_at=now or utc_now(),
        )
        if change_id is None:  # two admins took the same sequence at once: one is refused
            raise SettingChangeConflict(
                f"Another admin changed the {spec.label.lower()} at the same moment; reload and try again."
            )
        uow.settings_changed()
        uow.commit()
    return SettingChangeReceipt(
        change_id=change_id,
        name=name,
        old_value=old_value,
        new_value=new_value,
        message=(
            f"{spec.label} changed from {value_words(name, old_value, base.currency)} to "
            f"{value_words(name, new_value, base.currency)}; it applies from the next event on."
        ),
    )


def preview_money_setting_change(
    *, actor_id: int, name: str, value: int | str, reason: str, uow: UnitOfWork
) -> SettingChangeReceipt:
    """What `change_money_setting` would do (its checks and its words), run and rolled back."""
    with uow:
        # change_money_setting joins this transaction: leaving the block rolls its change back.
        return change_money_setting(actor_id=actor_id, name=name, value=value, reason=reason, uow=uow)
