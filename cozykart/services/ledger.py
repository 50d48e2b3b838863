"""Money in and between accounts: sales, tips, race pools, refunds, disputes, adjustments.

Each public function is one database transaction under an idempotency key: a
repeated call (a webhook delivered twice, a double click) finds its key and
changes nothing. The race handlers (`distribute_on_finalized`,
`correct_on_results_corrected`) run inside the league's own transaction as
handlers of its events (see `services/handlers.py`).

Each loads the facts, asks `cozykart.domain.transactions` for the balanced
transaction, writes it and emits; no posting is worded or computed here.

Recording a sale is the hot path: the ledger repository (`uow.ledger`) writes it
with SQLAlchemy Core statements, a handful per sale, and remembers for the
transaction what a batch of sales shares (the race live at an instant, account
ids, the pool locks taken). The settings are the unit of work's (`uow.settings`:
an admin's change applies from the next transaction).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.events import RaceFinalized, RaceOutcome, ResultsCorrected
from cozykart.domain.ledger import (
    HOUSE,
    AccountKind,
    PaymentNotFound,
    SaleRecorded,
    TipRecorded,
    Transaction,
    TransactionKind,
    WalletInDebt,
    pool_account,
    require_reason,
    split_weights,
    wallet_account,
)
from cozykart.domain.money import require_positive_cents
from cozykart.domain.payments import (
    FAN_NAME_LENGTH_MAX,
    ITEM_LENGTH_MAX,
    MESSAGE_LENGTH_MAX,
    PROVIDER_LENGTH_MAX,
    require_key,
)
from cozykart.domain.song_requests import TipReversed
from cozykart.domain.transactions import (
    Holding,
    PaymentFacts,
    PostedLine,
    RaceBook,
    SaleFacts,
    SaleRace,
    SaleSplit,
    TipSplit,
    adjustment_transaction,
    clawback_transaction,
    correction_transaction,
    distribution_transaction,
    hold_until,
    reinstatement_transaction,
    sale_split,
    sale_transaction,
    settled_rounding,
    tip_split,
    tip_transaction,
)
from cozykart.services.actors import load_admin
from cozykart.settings import Settings

if TYPE_CHECKING:
    from cozykart.db.repositories.ledger import LedgerRepository, RaceAtSale, Written


@dataclass(frozen=True)
class SaleReceipt:
    payment_id: int
    transaction_id: int
    race_id: int | None
    gross_cents: int
    pool_cents: int
    house_cents: int
    distributed: bool  # the race was already final: the racers were credited at once
    replayed: bool


@dataclass(frozen=True)
class TipReceipt:
    payment_id: int
    transaction_id: int
    dj_racer_id: int
    tip_cents: int
    fee_cents: int
    dj_cents: int
    replayed: bool


@dataclass(frozen=True)
class ClawbackReceipt:
    transaction_id: int
    amount_cents: int
    taken_cents: dict[str, int]  # account code -> cents taken back
    replayed: bool


# --- helpers --------------------------------------------------------------------


def _require_instant(instant: datetime, what: str) -> datetime:
    if not isinstance(instant, datetime) or instant.tzinfo is None:
        raise InvalidInput(f"{what} must be an instant with a time zone.")
    return instant


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(str(value).split())
    return cleaned[:limit] or None


def _race_book(
    ledger: LedgerRepository, outcome: RaceOutcome, settings: Settings, now: datetime | None = None
) -> RaceBook:
    """What the ledger holds of a final race, for the domain to settle; nothing read when it has no racers.

    The caller holds the race's pool and wallet locks.
    """
    held: dict[int, dict[int, int]] = defaultdict(dict)
    sales: dict[int, SaleFacts] = {}
    season_rounding: dict[int, Fraction] = {}
    weights = split_weights(outcome)
    if weights:
        for row in ledger.race_wallet_holdings(outcome.race_id):
            held[row.payment_id][row.racer_id] = row.net_cents
            sales.setdefault(row.payment_id, SaleFacts(row.item, row.gross_cents))
        if outcome.season_id is not None:
            season_rounding = ledger.season_rounding(
                outcome.season_id, weights, excluding_race_id=outcome.race_id
            )
    return RaceBook(
        outcome=outcome,
        held=dict(held),
        sales=sales,
        season_rounding=season_rounding,
        hold_until=hold_until(now or utc_now(), settings.hold_days),
        currency=settings.currency,
    )


def _payment_facts(payment) -> PaymentFacts:
    return PaymentFacts(payment.id, payment.kind, payment.item, payment.gross_cents, payment.race_id)


def _sale_input(
    key: str, gross_cents: int, cost_cents: int, sold_at: datetime, item: str, fan_name: str | None
) -> tuple[str, str, str | None]:
    """A sale's arguments checked (refused with a message) and cleaned: key, item, fan name."""
    key = require_key(key)
    require_positive_cents(gross_cents, "The sale amount")
    if not isinstance(cost_cents, int) or isinstance(cost_cents, bool) or not 0 <= cost_cents <= gross_cents:
        raise InvalidInput("The manufacturing cost must be whole cents between zero and the sale amount.")
    _require_instant(sold_at, "The sale time")
    return key, _text(item, ITEM_LENGTH_MAX) or "merch", _text(fan_name, FAN_NAME_LENGTH_MAX)


def _insert_payment(
    ledger: LedgerRepository,
    *,
    key: str,
    kind: str,
    provider: str,
    gross_cents: int,
    occurred_at: datetime,
    item: str,
    fan_name: str | None,
    cost_cents: int = 0,
    pool_cents: int = 0,
    fee_cents: int = 0,
    race_id: int | None = None,
    dj_racer_id: int | None = None,
    message: str | None = None,
    now: datetime | None = None,
) -> int | None:
    """The payment's row, once per key (None: recorded before), recorded `now`."""
    return ledger.insert_payment(
        now=now,
        key=key,
        kind=kind,
        provider=(provider or "manual")[:PROVIDER_LENGTH_MAX],
        gross_cents=gross_cents,
        cost_cents=cost_cents,
        pool_cents=pool_cents,
        fee_cents=fee_cents,
        race_id=race_id,
        dj_racer_id=dj_racer_id,
        item=item,
        fan_name=fan_name,
        message=message,
        occurred_at=occurred_at,
    )


# --- merch sales -----------------------------------------------------------------


def record_sale(
    *,
    key: str,
    gross_cents: int,
    sold_at: datetime,
    item: str,
    uow: UnitOfWork,
    cost_cents: int = 0,
    provider: str = "manual",
    fan_name: str | None = None,
    now: datetime | None = None,
) -> SaleReceipt:
    """Record a merch sale once, attributed to the race live at `sold_at`.

    The domain splits it (`sale_split`: the commission rate of the gross less its known
    cost, floored, to the pool; the rest, or all with no race live, to the house) and
    builds its transaction; a sale for a race already final goes to its racers at once.
    """
    now = now or utc_now()  # every row it writes is recorded `now`
    key, item, fan_name = _sale_input(key, gross_cents, cost_cents, sold_at, item, fan_name)
    with uow:
        settings, ledger = uow.settings, uow.ledger
        race = ledger.race_at(sold_at)
        race_id = race.window.race_id if race is not None else None
        split = sale_split(gross_cents, cost_cents, settings.commission_rate_bps, race_live=race is not None)
        payment_id = _insert_payment(
            ledger,
            key=key,
            kind="sale",
            provider=provider,
            now=now,
            gross_cents=gross_cents,
            occurred_at=sold_at,
            item=item,
            fan_name=fan_name,
            cost_cents=cost_cents,
            pool_cents=split.pool_cents,
            race_id=race_id,
        )
        if payment_id is None:
            return _sale_replay(ledger, key, gross_cents)
        sale_race = None
        if race is not None:
            sale_race = _sale_race(ledger, race, split.pool_cents, settings, now)
        written = _write_sale(
            ledger, key, provider, payment_id, item, gross_cents, split, sale_race, sold_at, settings, now
        )
        _emit_sale_recorded(uow, payment_id, race_id, gross_cents, split, item, fan_name, sold_at)
        uow.commit()
        return _sale_receipt(payment_id, written, race_id, gross_cents, split, sale_race)


def _write_sale(
    ledger: LedgerRepository,
    key: str,
    provider: str,
    payment_id: int,
    item: str,
    gross_cents: int,
    split: SaleSplit,
    sale_race: SaleRace | None,
    sold_at: datetime,
    settings: Settings,
    now: datetime,
) -> Written:
    """The sale's transaction, as the domain builds it, written `now`."""
    sale = sale_transaction(
        key=f"payment:{key}",
        reference=f"{provider}:{key}",
        payment_id=payment_id,
        item=item,
        gross_cents=gross_cents,
        split=split,
        race=sale_race,
        sold_at=sold_at,
        currency=settings.currency,
    )
    return ledger.write(sale, now)


def _emit_sale_recorded(
    uow: UnitOfWork,
    payment_id: int,
    race_id: int | None,
    gross_cents: int,
    split: SaleSplit,
    item: str,
    fan_name: str | None,
    sold_at: datetime,
) -> None:
    """Emit the event of a newly recorded sale."""
    uow.emit(
        SaleRecorded(
            payment_id=payment_id,
            race_id=race_id,
            gross_cents=gross_cents,
            pool_cents=split.pool_cents,
            item=item,
            fan_name=fan_name,
            occurred_at=sold_at,
        )
    )


def _sale_receipt(
    payment_id: int,
    written: Written,
    race_id: int | None,
    gross_cents: int,
    split: SaleSplit,
    sale_race: SaleRace | None,
) -> SaleReceipt:
    """What a newly recorded sale returns: distributed when its race was already final."""
    return SaleReceipt(
        payment_id,
        written.transaction_id,
        race_id,
        gross_cents,
        split.pool_cents,
        split.house_cents,
        distributed=sale_race is not None and sale_race.final,
        replayed=False,
    )


def _sale_race(
    ledger: LedgerRepository,
    race: RaceAtSale,
    pool_cents: int,
    settings: Settings,
    now: datetime | None = None,
) -> SaleRace:
    """The race a sale feeds, as the domain needs it: with its book when final (its racers get the pool now).

    On PostgreSQL the pool is locked before the race's status is read: a
    finalization running now either sees this sale in the pool or has committed
    `final`. Clearing and house are locked with it, in id order as every writer
    does, so a refund running now cannot deadlock with us.
    """
    window = race.window
    status = window.status
    if ledger.is_postgresql:
        status = ledger.lock_for_sale(pool_account(window.race_id), window.race_id, now) or status
    final = status == "final"
    book = None
    if final and pool_cents > 0:
        book = _race_book(ledger, ledger.outcome_of(race, status), settings, now)
    return SaleRace(race_id=window.race_id, name=window.name, final=final, book=book)


def _sale_replay(ledger: LedgerRepository, key: str, gross_cents: int) -> SaleReceipt:
    payment = ledger.payment_by_key(key)
    assert payment is not None
    if payment.kind != "sale":
        raise InvalidInput("That payment key was recorded as a tip, not a sale.")
    if payment.gross_cents != gross_cents:
        raise InvalidInput("That payment key was recorded before with a different amount.")
    transaction_id = ledger.transaction_id_by_key(f"payment:{key}")
    assert transaction_id is not None, "a recorded payment always has its transaction"
    return SaleReceipt(
        payment_id=payment.id,
        transaction_id=transaction_id,
        race_id=payment.race_id,
        gross_cents=payment.gross_cents,
        pool_cents=payment.pool_cents,
        house_cents=payment.gross_cents - payment.cost_cents - payment.pool_cents,
        distributed=False,
        replayed=True,
    )


# --- race pools ---------------------------------------------------------------------


def distribution_key(race_id: int) -> str:
    return f"race:{race_id}:distribution"


def _distribute(
    uow: UnitOfWork,
    outcome: RaceOutcome,
    at: datetime,
    settings: Settings,
    *,
    repair: bool = False,
    now: datetime | None = None,
) -> int | None:
    """Move everything in a final race's pool to its racers. Returns the transaction id.

    The first distribution has the race's key; a repair (an admin splitting what
    reconciliation found left in a final race's pool) is keyed by the pool's last
    posting, so repeating it finds the pool empty and writes nothing.
    """
    assert outcome.is_final, outcome.status
    ledger = uow.ledger
    pool = pool_account(outcome.race_id)
    ids = ledger.read_account_ids([pool, HOUSE], now=now)
    ledger.lock_accounts([ids[pool.code]])
    key = distribution_key(outcome.race_id)
    if repair:
        key = f"{key}:repair:{ledger.last_posting_id(ids[pool.code])}"
    if ledger.transaction_id_by_key(key) is not None:
        return None
    in_pool = [
        (payment.id, payment.net_cents, SaleFacts(payment.item, payment.gross_cents))
        for payment in ledger.pool_holdings(ids[pool.code])
    ]
    if not in_pool:
        return None
    transaction = distribution_transaction(
        key=key, book=_race_book(ledger, outcome, settings, now), pool=in_pool, at=at
    )
    assert transaction is not None, "a pool with cents always distributes them"
    return ledger.write_transaction(transaction, ids, now=now).transaction_id


def distribute_on_finalized(event: RaceFinalized, uow: UnitOfWork) -> None:
    """Subscriber: a race became final; split its pool inside the same transaction, recorded when it did."""
    _distribute(uow, event.outcome, event.finalized_at, uow.settings, now=event.finalized_at)


def distribute_race(
    admin_racer_id: int, race_id: int, *, uow: UnitOfWork, now: datetime | None = None
) -> int | None:
    """An admin splits whatever a final race's pool still holds (normally done on RaceFinalized).

    Returns the transaction id, or None when the pool was already empty.
    """
    now = now or utc_now()
    with uow:
        load_admin(uow, admin_racer_id)
        outcome = uow.ledger.race_outcome(race_id)
        if outcome is None:
            raise NotFound("That race does not exist.")
        if not outcome.is_final:
            raise InvalidInput("Only a final race's pool can be split.")
        transaction_id = _distribute(uow, outcome, now, uow.settings, repair=True, now=now)
        uow.commit()
        return transaction_id


def correct_on_results_corrected(event: ResultsCorrected, uow: UnitOfWork) -> None:
    """Subscriber: an admin fix changed a final race; move shares to match the new results.

    What the racers hold of the race is settled again by the new results
    (the race's whole pool by the new weights), and the difference is posted as
    one RESULT_CORRECTION. Nothing is edited; a racer already paid out may go
    into debt.
    """
    outcome, ledger, now = event.outcome, uow.ledger, event.corrected_at
    fix_words = "-".join(str(fix_id) for fix_id in sorted(event.fix_ids)) or event.corrected_at.isoformat()
    key = f"race:{outcome.race_id}:correction:{fix_words}"
    weights = split_weights(outcome)
    if not weights:
        return
    holdings = ledger.race_wallet_holdings(outcome.race_id)
    wallets = [wallet_account(racer_id) for racer_id in {*weights, *(row.racer_id for row in holdings)}]
    ids = ledger.read_account_ids([pool_account(outcome.race_id), *wallets], now=now)
    ledger.lock_accounts(ids.values())
    if ledger.transaction_id_by_key(key) is not None:
        return
    book = _race_book(ledger, outcome, uow.settings, now)
    transaction = correction_transaction(
        key=key, book=book, reason=_text(event.reason, 120) or "admin fix", at=event.corrected_at
    )
    if transaction is not None:
        ledger.write_transaction(transaction, ids, now=now)
    else:  # no cent moved, yet the new weights may change the race's rounding
        ledger.write_rounding(settled_rounding(book))


# --- DJ tips --------------------------------------------------------------------------


def record_tip(
    *,
    key: str,
    dj_racer_id: int,
    tip_cents: int,
    tipped_at: datetime,
    song: str,
    uow: UnitOfWork,
    fan_name: str | None = None,
    message: str | None = None,
    provider: str = "manual",
    now: datetime | None = None,
) -> TipReceipt:
    """Credit the DJ the tip less the platform fee (floored); the fee goes to the house."""
    now = now or utc_now()  # every row it writes is recorded `now`
    key, song, fan_name, message = _tip_input(key, tip_cents, tipped_at, song, fan_name, message)
    with uow:
        settings, ledger = uow.settings, uow.ledger
        split = tip_split(tip_cents, settings.tip_fee_bps)
        if uow.league.racer(dj_racer_id) is None:
            raise NotFound("That DJ does not exist.")
        payment_id = _insert_payment(
            ledger,
            key=key,
            kind="tip",
            provider=provider,
            now=now,
            gross_cents=tip_cents,
            occurred_at=tipped_at,
            item=song,
            fan_name=fan_name,
            fee_cents=split.fee_cents,
            dj_racer_id=dj_racer_id,
            message=message,
        )
        if payment_id is None:
            return _tip_replay(ledger, key, tip_cents)
        written = _write_tip(
            ledger,
            key,
            provider,
            payment_id,
            dj_racer_id,
            tip_cents,
            split,
            song,
            fan_name,
            tipped_at,
            settings,
            now,
        )
        _emit_tip_recorded(uow, payment_id, dj_racer_id, tip_cents, split, fan_name, song, message, tipped_at)
        uow.commit()
        return _tip_receipt(payment_id, written, dj_racer_id, tip_cents, split)


def _write_tip(
    ledger: LedgerRepository,
    key: str,
    provider: str,
    payment_id: int,
    dj_racer_id: int,
    tip_cents: int,
    split: TipSplit,
    song: str,
    fan_name: str | None,
    tipped_at: datetime,
    settings: Settings,
    now: datetime,
) -> Written:
    """The tip's transaction, as the domain builds it (the DJ's share held `hold_days`), written `now`."""
    transaction = tip_transaction(
        key=f"payment:{key}",
        reference=f"{provider}:{key}",
        payment_id=payment_id,
        dj_racer_id=dj_racer_id,
        tip_cents=tip_cents,
        split=split,
        song=song,
        fan_name=fan_name,
        tipped_at=tipped_at,
        hold_until=hold_until(now, settings.hold_days),
        currency=settings.currency,
    )
    written = ledger.write_transaction(transaction, now=now)
    assert not written.replayed
    return written


def _emit_tip_recorded(
    uow: UnitOfWork,
    payment_id: int,
    dj_racer_id: int,
    tip_cents: int,
    split: TipSplit,
    fan_name: str | None,
    song: str,
    message: str | None,
    tipped_at: datetime,
) -> None:
    """Emit the event of a newly recorded tip."""
    uow.emit(
        TipRecorded(
            payment_id=payment_id,
            dj_racer_id=dj_racer_id,
            tip_cents=tip_cents,
            dj_cents=split.dj_cents,
            fan_name=fan_name,
            song=song,
            message=message,
            occurred_at=tipped_at,
        )
    )


def _tip_receipt(
    payment_id: int, written: Written, dj_racer_id: int, tip_cents: int, split: TipSplit
) -> TipReceipt:
    """What a newly recorded tip returns."""
    return TipReceipt(
        payment_id,
        written.transaction_id,
        dj_racer_id,
        tip_cents,
        split.fee_cents,
        split.dj_cents,
        replayed=False,
    )


def _tip_input(
    key: str, tip_cents: int, tipped_at: datetime, song: str, fan_name: str | None, message: str | None
) -> tuple[str, str, str | None, str | None]:
    """A tip's arguments checked (refused with a message) and cleaned: key, song, fan name, message."""
    key = require_key(key)
    require_positive_cents(tip_cents, "The tip")
    _require_instant(tipped_at, "The tip time")
    song = _text(song, ITEM_LENGTH_MAX) or "a song of the DJ's choice"
    return key, song, _text(fan_name, FAN_NAME_LENGTH_MAX), _text(message, MESSAGE_LENGTH_MAX)


def _tip_replay(ledger: LedgerRepository, key: str, tip_cents: int) -> TipReceipt:
    payment = ledger.payment_by_key(key)
    assert payment is not None
    if payment.kind != "tip":
        raise InvalidInput("That payment key was recorded as a sale, not a tip.")
    if payment.gross_cents != tip_cents:
        raise InvalidInput("That payment key was recorded before with a different amount.")
    transaction_id = ledger.transaction_id_by_key(f"payment:{key}")
    assert transaction_id is not None
    return TipReceipt(
        payment.id,
        transaction_id,
        payment.dj_racer_id,
        payment.gross_cents,
        payment.fee_cents,
        payment.gross_cents - payment.fee_cents,
        replayed=True,
    )


# --- refunds and disputes ----------------------------------------------------------------


def refund_payment(
    *,
    payment_key: str,
    refund_key: str,
    refunded_at: datetime,
    uow: UnitOfWork,
    amount_cents: int | None = None,
    now: datetime | None = None,
) -> ClawbackReceipt:
    """Take a refund back from the accounts the payment credited, in proportion.

    `amount_cents` None refunds whatever remains of the payment. A racer already
    paid out may go into debt. A refund for a payment not recorded yet raises
    PaymentNotFound (the webhook inbox retries it once the sale arrives).
    """
    return _claw_back(
        payment_key=payment_key,
        key=f"refund:{require_key(refund_key)}",
        kind=TransactionKind.REFUND_CLAWBACK,
        words="Refund",
        at=refunded_at,
        amount_cents=amount_cents,
        uow=uow,
        now=now,
    )


def open_dispute(
    *,
    payment_key: str,
    dispute_key: str,
    opened_at: datetime,
    uow: UnitOfWork,
    amount_cents: int | None = None,
    now: datetime | None = None,
) -> ClawbackReceipt:
    """A chargeback: the disputed amount is taken back like a refund until the dispute is won."""
    return _claw_back(
        payment_key=payment_key,
        key=dispute_clawback_key(require_key(dispute_key)),
        kind=TransactionKind.DISPUTE_CLAWBACK,
        words="Chargeback dispute on",
        at=opened_at,
        amount_cents=amount_cents,
        uow=uow,
        now=now,
    )


def dispute_clawback_key(dispute_key: str) -> str:
    return f"dispute:{dispute_key}"


def _claw_back(
    *,
    payment_key: str,
    key: str,
    kind: TransactionKind,
    words: str,
    at: datetime,
    amount_cents: int | None,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> ClawbackReceipt:
    """Lock what the payment credited (and a sale's race), then take back as the domain splits it."""
    _require_instant(at, "The time")
    if amount_cents is not None:
        require_positive_cents(amount_cents, "The amount")
    with uow:
        ledger = uow.ledger
        done = ledger.transaction_id_by_key(key)
        if done is not None:
            return _clawback_replay(ledger, done)
        payment = ledger.payment_by_key(payment_key)
        if payment is None:
            raise PaymentNotFound("That payment has not been recorded yet.")
        settings = uow.settings
        holdings = ledger.payment_holdings(payment.id)
        race_accounts = _race_accounts(ledger, payment)
        race_ids = ledger.read_account_ids(race_accounts, now=now)
        balances = ledger.lock_accounts([row.id for row in holdings] + list(race_ids.values()))
        holdings = ledger.payment_holdings(payment.id)  # after the locks
        race = _final_race_of(ledger, payment)
        clawback = clawback_transaction(
            key=key,
            kind=kind,
            words=words,
            payment=_payment_facts(payment),
            amount_cents=amount_cents,
            holdings=[Holding(ledger.account_ref(row), row.net_cents) for row in holdings],
            book=_race_book(ledger, race, settings, now) if race is not None else None,
            at=at,
            currency=settings.currency,
        )
        written = ledger.write_transaction(clawback.transaction, now=now)
        assert not written.replayed
        account_ids = race_ids | {ledger.account_ref(row).code: row.id for row in holdings}
        _emit_debts(uow, clawback.transaction, account_ids, balances, kind, at)
        if payment.kind == "tip":  # its song request, if any, is marked refunded
            uow.emit(TipReversed(payment_id=payment.id, cause=kind.value, at=at))
        uow.commit()
        return ClawbackReceipt(
            written.transaction_id, clawback.amount_cents, clawback.taken_cents, replayed=False
        )


def _emit_debts(
    uow: UnitOfWork,
    transaction: Transaction,
    account_ids: dict[str, int],
    balances_before: dict[int, int],
    cause: TransactionKind,
    at: datetime,
) -> None:
    """A `WalletInDebt` for each wallet the clawback took below zero (their balances were read under lock)."""
    for posting in transaction.postings:
        account = posting.account
        if account.kind != AccountKind.WALLET or posting.amount_cents >= 0 or account.racer_id is None:
            continue
        after = balances_before.get(account_ids.get(account.code, -1), 0) + posting.amount_cents
        if after < 0:
            uow.emit(
                WalletInDebt(
                    racer_id=account.racer_id,
                    debt_cents=-after,
                    transaction_key=transaction.key,
                    cause=cause.value,
                    at=at,
                )
            )


def _final_race_of(ledger: LedgerRepository, payment) -> RaceOutcome | None:
    """The final race whose racers were credited with this sale, if any."""
    if payment.kind != "sale" or payment.race_id is None:
        return None
    outcome = ledger.race_outcome(payment.race_id)
    if outcome is None or not outcome.is_final or not split_weights(outcome):
        return None
    return outcome


def _race_accounts(ledger: LedgerRepository, payment) -> list:
    """A sale's race pool and every wallet that holds or may hold some of the race (locked before a settle)."""
    if payment is None or payment.kind != "sale" or payment.race_id is None:
        return []
    holders = {row.racer_id for row in ledger.race_wallet_holdings(payment.race_id)}
    racer_ids = sorted({*holders, *ledger.race_racer_ids(payment.race_id)})
    return [pool_account(payment.race_id), *(wallet_account(racer_id) for racer_id in racer_ids)]


def _clawback_replay(ledger: LedgerRepository, transaction_id: int) -> ClawbackReceipt:
    taken = {
        row.code: -row.amount_cents
        for row in ledger.postings_of_transaction(transaction_id)
        if row.kind != AccountKind.CLEARING
    }
    return ClawbackReceipt(transaction_id, sum(taken.values()), taken, replayed=True)


def reinstate_dispute(
    *, dispute_key: str, reinstated_at: datetime, uow: UnitOfWork, now: datetime | None = None
) -> int:
    """A dispute was won: reverse its clawback exactly. Returns the transaction id."""
    now = now or utc_now()
    _require_instant(reinstated_at, "The time")
    clawback_key = dispute_clawback_key(require_key(dispute_key))
    key = f"{clawback_key}:reinstated"
    with uow:
        ledger = uow.ledger
        done = ledger.transaction_id_by_key(key)
        if done is not None:
            return done
        clawback = ledger.transaction_row(clawback_key)
        if clawback is None:
            raise NotFound("No open dispute with that key has been recorded yet.")
        reinstatement = _reinstatement(ledger, clawback, key, reinstated_at, uow.settings, now)
        written = ledger.write_transaction(reinstatement, now=now)
        uow.commit()
        return written.transaction_id


def _reinstatement(
    ledger: LedgerRepository, clawback, key: str, at: datetime, settings: Settings, now: datetime
) -> Transaction:
    """The clawback's postings negated; what went back to a final race's racers is settled again.

    Locks what it credits back, and the race's pool and wallets, (in id order)
    before reading the race's status: a pool whose race became final since is
    split among its racers right away, with the race's other cents.
    """
    held_until = hold_until(now, settings.hold_days)
    rows = ledger.postings_of_transaction(clawback.id)
    payment = ledger.payment_by_id(clawback.payment_id) if clawback.payment_id else None
    accounts = [*map(ledger.account_ref, rows), *_race_accounts(ledger, payment)]
    ledger.lock_accounts(ledger.read_account_ids(accounts, now=now).values())
    race = _final_race_of(ledger, payment) if payment is not None else None
    return reinstatement_transaction(
        key=key,
        reference=clawback.key,
        clawback_description=clawback.description,
        lines=[
            PostedLine(ledger.account_ref(row), row.amount_cents, row.description, row.payment_id)
            for row in rows
        ],
        payment_id=clawback.payment_id,
        race_id=clawback.race_id,
        payment=_payment_facts(payment) if payment is not None else None,
        book=_race_book(ledger, race, settings, now) if race is not None else None,
        at=at,
        hold_until=held_until,
        currency=settings.currency,
    )


# --- admin adjustments -------------------------------------------------------------------


def adjust_wallet(
    admin_racer_id: int,
    racer_id: int,
    amount_cents: int,
    *,
    reason: str,
    key: str,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> int:
    """An admin credits (positive) or debits (negative) a racer's wallet against the house."""
    now = now or utc_now()
    key = require_key(key)
    reason = require_reason(reason)
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents == 0:
        raise InvalidInput("An adjustment moves a non-zero whole number of cents.")
    require_positive_cents(abs(amount_cents), "The adjustment")
    with uow:
        actor = load_admin(uow, admin_racer_id)
        racer = uow.league.racer(racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        ledger = uow.ledger
        transaction_key = f"adjustment:{key}"
        done = ledger.transaction_id_by_key(transaction_key)
        if done is not None:
            return done
        transaction = adjustment_transaction(
            key=transaction_key,
            racer_id=racer_id,
            racer_name=racer.display_name,
            admin_racer_id=actor.racer_id,
            admin_name=actor.display_name,
            amount_cents=amount_cents,
            reason=reason,
            at=now,
            currency=uow.settings.currency,
        )
        written = ledger.write_transaction(transaction, now=now)
        uow.commit()
        return written.transaction_id
