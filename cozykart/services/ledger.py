"""Money in and between accounts: sales, tips, race pools, refunds, disputes, adjustments.

Each public function is one database transaction under an idempotency key: a
repeated call (a webhook delivered twice, a double click) finds its key and
changes nothing. The race handlers (`distribute_on_finalized`,
`correct_on_results_corrected`) run inside the league's own transaction as
handlers of its events (see `services/handlers.py`).

Recording a sale is the hot path: it is written with SQLAlchemy Core statements
(`cozykart.db.ledger_repo`), a handful per sale.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from cozykart.db import ledger_repo as repo
from cozykart.db.league_repo import race_outcome
from cozykart.db.tables import Racer
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import InvalidInput, NotFound
from cozykart.domain.events import RaceFinalized, RaceOutcome, ResultsCorrected
from cozykart.domain.ledger import (
    CLEARING,
    COSTS,
    HOUSE,
    AccountKind,
    PaymentNotFound,
    SaleRecorded,
    TipRecorded,
    TransactionBuilder,
    TransactionKind,
    clawback_shares,
    pool_account,
    race_holdings,
    race_split_order,
    require_reason,
    season_deviation,
    split_weights,
    wallet_account,
)
from cozykart.domain.money import bps_part, format_cents, require_positive_cents
from cozykart.services.actors import load_actor, require_admin
from cozykart.services.money_settings import effective_settings
from cozykart.settings import Settings, load_settings

KEY_LENGTH_MAX = 150
ITEM_LENGTH_MAX = 120
FAN_NAME_LENGTH_MAX = 80
MESSAGE_LENGTH_MAX = 500
PROVIDER_LENGTH_MAX = 20


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


def _require_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > KEY_LENGTH_MAX:
        raise InvalidInput(f"An idempotency key of 1 to {KEY_LENGTH_MAX} characters is required.")
    return key.strip()


def _require_instant(instant: datetime, what: str) -> datetime:
    if not isinstance(instant, datetime) or instant.tzinfo is None:
        raise InvalidInput(f"{what} must be an instant with a time zone.")
    return instant


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(str(value).split())
    return cleaned[:limit] or None


def _hold_until(settings: Settings, now: datetime) -> datetime | None:
    return now + timedelta(days=settings.hold_days) if settings.hold_days > 0 else None


def _effective_settings(uow: UnitOfWork, connection: Connection, settings: Settings) -> Settings:
    """`effective_settings`, read once per transaction.

    The webhook writer applies a batch of events in one transaction; reading the
    money settings once for the batch means the batch uses the values committed
    when it began, as one event would.
    """
    slot = ("effective_settings", id(settings))
    memo = uow.memo.get(slot)
    if memo is None or memo[0] is not settings:
        memo = uow.memo[slot] = (settings, effective_settings(connection, settings))
    return memo[1]


def _race_at(uow: UnitOfWork, connection: Connection, instant: datetime) -> repo.RaceAtSale | None:
    """`repo.race_at`, remembered for the transaction by instant.

    A webhook batch's sales mostly share a few instants (providers give whole
    seconds). A sale does not change races, and the status that matters is read
    again under the pool's lock on PostgreSQL (`_lock_for_sale`).
    """
    slot = ("race_at", instant)
    if slot not in uow.memo:
        uow.memo[slot] = repo.race_at(connection, instant)
    return uow.memo[slot]


def _account_ids(uow: UnitOfWork, connection: Connection, accounts: list) -> dict[str, int]:
    """`repo.account_ids`, remembered for the transaction (forgotten if a savepoint rolls back)."""
    known: dict[str, int] = uow.memo.setdefault("account_ids", {})
    missing = [account for account in accounts if account.code not in known]
    if missing:
        known.update(repo.account_ids(connection, missing))
    return {account.code: known[account.code] for account in accounts}


def _lock_for_sale(uow: UnitOfWork, connection: Connection, pool, race_id: int) -> str | None:
    """PostgreSQL: lock clearing, house and the race's pool, then read the race's status.

    Once per transaction and pool: the webhook writer records many sales in one
    transaction, which keeps these locks until it commits, so no finalization
    can commit in between and the status read under them still holds. A
    savepoint rolled back (which may release locks taken inside it) forgets it.
    """
    slot = ("locked_for_sale", pool.code)
    if slot not in uow.memo:
        repo.lock_accounts(connection, _account_ids(uow, connection, [CLEARING, HOUSE, pool]).values())
        uow.memo[slot] = repo.race_status(connection, race_id)
    return uow.memo[slot]


def _money(settings: Settings):
    return lambda amount_cents: format_cents(amount_cents, settings.currency)


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
    settings: Settings | None = None,
) -> SaleReceipt:
    """Record a merch sale once, attributed to the race live at `sold_at`.

    The commission base is the gross, or the gross less `cost_cents` (the
    manufacturing cost) when it is known; the pool is the commission rate of the
    base (floored; the fraction of a cent stays with the house). With no race
    live at that instant, everything after cost goes to the house. A sale for a
    race that is already final is split among its racers at once.
    """
    settings = settings or load_settings()
    key = _require_key(key)
    require_positive_cents(gross_cents, "The sale amount")
    if not isinstance(cost_cents, int) or isinstance(cost_cents, bool) or not 0 <= cost_cents <= gross_cents:
        raise InvalidInput("The manufacturing cost must be whole cents between zero and the sale amount.")
    _require_instant(sold_at, "The sale time")
    item = _text(item, ITEM_LENGTH_MAX) or "merch"
    fan_name = _text(fan_name, FAN_NAME_LENGTH_MAX)
    money = _money(settings)

    with uow:
        connection = uow.session.connection()
        settings = _effective_settings(uow, connection, settings)  # an admin's change applies from the next sale
        race = _race_at(uow, connection, sold_at)
        window = race.window if race is not None else None
        base_cents = gross_cents - cost_cents
        pool_cents = bps_part(base_cents, settings.commission_rate_bps) if window is not None else 0
        house_cents = base_cents - pool_cents

        payment_id = repo.insert_payment(
            connection,
            key=key,
            kind="sale",
            provider=(provider or "manual")[:PROVIDER_LENGTH_MAX],
            gross_cents=gross_cents,
            cost_cents=cost_cents,
            pool_cents=pool_cents,
            fee_cents=0,
            race_id=window.race_id if window is not None else None,
            dj_racer_id=None,
            item=item,
            fan_name=fan_name,
            message=None,
            occurred_at=sold_at,
        )
        if payment_id is None:
            return _sale_replay(connection, key, gross_cents)

        sale_words = f"{item!r} sale ({money(gross_cents)})"
        builder = TransactionBuilder()
        builder.post(CLEARING, -gross_cents, f"Paid in for {sale_words}", payment_id=payment_id)
        builder.post(COSTS, cost_cents, f"Manufacturing cost of {sale_words}", payment_id=payment_id)
        distributed = False
        if window is None:
            builder.post(
                HOUSE, house_cents, f"{sale_words}, no race live: all to the house", payment_id=payment_id
            )
            kind = TransactionKind.HOUSE_CUT
            description = f"Merch sale: {sale_words}, no race live"
        else:
            status = window.status
            pool = pool_account(window.race_id)
            if repo.is_postgresql(connection):
                # Lock the pool, then read the race: a finalization running now
                # either sees this sale in the pool or has committed `final`.
                # Clearing and house are locked with it, in id order as every
                # writer does, so a refund running now cannot deadlock with us.
                status = _lock_for_sale(uow, connection, pool, window.race_id) or status
            builder.post(
                HOUSE,
                house_cents,
                f"House share of {sale_words} in race {window.name!r}",
                payment_id=payment_id,
            )
            if status == "final":
                if pool_cents > 0:
                    _credit_race(
                        builder,
                        connection,
                        repo.outcome_of(connection, race, status),
                        {payment_id: pool_cents},
                        words={payment_id: sale_words},
                        suffix="",
                        settings=settings,
                    )
                distributed = True
            else:
                builder.post(
                    pool,
                    pool_cents,
                    f"Commission on {sale_words} into the Live Pot of race {window.name!r}",
                    payment_id=payment_id,
                )
            kind = TransactionKind.COMMISSION
            description = f"Merch sale: {sale_words} during race {window.name!r}"

        transaction = builder.build(
            key=f"payment:{key}",
            kind=kind,
            description=description,
            reference=f"{provider}:{key}",
            occurred_at=sold_at,
            payment_id=payment_id,
            race_id=window.race_id if window is not None else None,
        )
        written = repo.write_transaction(
            connection, transaction, _account_ids(uow, connection, [p.account for p in transaction.postings])
        )
        assert not written.replayed, "the payment key was new, so its transaction is too"
        uow.emit(
            SaleRecorded(
                payment_id=payment_id,
                race_id=window.race_id if window else None,
                gross_cents=gross_cents,
                pool_cents=pool_cents,
                item=item,
                fan_name=fan_name,
                occurred_at=sold_at,
            )
        )
        uow.commit()
        return SaleReceipt(
            payment_id=payment_id,
            transaction_id=written.transaction_id,
            race_id=window.race_id if window is not None else None,
            gross_cents=gross_cents,
            pool_cents=pool_cents,
            house_cents=house_cents,
            distributed=distributed,
            replayed=False,
        )


def _sale_replay(connection: Connection, key: str, gross_cents: int) -> SaleReceipt:
    payment = repo.payment_by_key(connection, key)
    assert payment is not None
    if payment.kind != "sale":
        raise InvalidInput("That payment key was recorded as a tip, not a sale.")
    if payment.gross_cents != gross_cents:
        raise InvalidInput("That payment key was recorded before with a different amount.")
    transaction_id = repo.transaction_id_by_key(connection, f"payment:{key}")
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


def _sale_words(money, item: str, gross_cents: int) -> str:
    return f"{item!r} sale ({money(gross_cents)})"


def _credit_race(
    builder: TransactionBuilder,
    connection: Connection,
    outcome: RaceOutcome,
    changes: dict[int, int],
    *,
    words: dict[int, str],
    suffix: str,
    settings: Settings,
) -> None:
    """Give a final race's racers these payments' cents (payment -> cents), or the house if none.

    The racers' holdings of the whole race are settled again (`_settle_race`),
    so the race's odd cents stay fair to the cent.
    """
    name = outcome.name

    def describe(payment_id: int, sale_words: str) -> str | None:
        return f"Share of {sale_words}{suffix} in race {name!r}" if payment_id in changes else None

    if _settle_race(builder, connection, outcome, changes, words=words, describe=describe, settings=settings):
        return
    for payment_id, cents in changes.items():
        builder.post(
            HOUSE, cents, f"Pool of {words[payment_id]}{suffix}: race {name!r} had no racers", payment_id=payment_id
        )


def _settle_race(
    builder: TransactionBuilder,
    connection: Connection,
    outcome: RaceOutcome,
    changes: dict[int, int],
    *,
    words: dict[int, str],
    describe,
    settings: Settings,
) -> bool:
    """Post what each racer should hold of each payment of a race now, less what they hold.

    `changes` is this event's change to what the racers (together) hold of a
    payment: + a distribution, a late sale or a dispute won, - a refund. The
    targets are `race_holdings` of the race's payments (id order) by its
    weights, odd cents first to the racers the season's rounding owes most, so
    every racer's total from the race is within a cent of its exact share.
    `describe(payment_id, sale_words)` words this event's lines (None: a line
    that only moves odd cents, worded as such). False when the race has no
    racers (nothing is posted). The caller holds the race's pool lock.
    """
    weights = split_weights(outcome)
    if not weights:
        return False
    money = _money(settings)
    held: dict[int, dict[int, int]] = defaultdict(dict)
    words = dict(words)
    for row in repo.race_wallet_holdings(connection, outcome.race_id):
        held[row.payment_id][row.racer_id] = row.net_cents
        words.setdefault(row.payment_id, _sale_words(money, row.item, row.gross_cents))
    columns = [
        (payment_id, sum(held[payment_id].values()) + changes.get(payment_id, 0))
        for payment_id in sorted({*held, *changes})
    ]
    target = race_holdings(columns, weights, _split_order(connection, outcome, weights))
    hold_until = _hold_until(settings, utc_now())
    for payment_id, _cents in columns:
        was, should = held.get(payment_id, {}), target[payment_id]
        for racer_id in sorted({*was, *should}):
            line = describe(payment_id, words[payment_id])
            builder.post(
                wallet_account(racer_id),
                should.get(racer_id, 0) - was.get(racer_id, 0),
                line or f"Odd cents of race {outcome.name!r} handed round again ({words[payment_id]})",
                payment_id=payment_id,
                available_at=hold_until,
            )
    return True


def _split_order(connection: Connection, outcome: RaceOutcome, weights: dict[int, int]) -> tuple[int, ...]:
    """The race's racers, first in line for its odd cents first (see `race_split_order`)."""
    deviation = {}
    if outcome.season_id is not None:
        others = repo.season_race_holdings(connection, outcome.season_id, excluding_race_id=outcome.race_id)
        deviation = season_deviation((split_weights(other), held) for other, held in others)
    return race_split_order(outcome.race_id, weights, deviation)


# --- race pools ---------------------------------------------------------------------


def distribution_key(race_id: int) -> str:
    return f"race:{race_id}:distribution"


def _distribute(
    uow: UnitOfWork, outcome: RaceOutcome, at: datetime, settings: Settings, *, repair: bool = False
) -> int | None:
    """Move everything in a final race's pool to its racers. Returns the transaction id.

    The first distribution has the race's key; a repair (an admin splitting what
    reconciliation found left in a final race's pool) is keyed by the pool's last
    posting, so repeating it finds the pool empty and writes nothing.
    """
    assert outcome.is_final, outcome.status
    connection = uow.session.connection()
    pool = pool_account(outcome.race_id)
    ids = repo.account_ids(connection, [pool, HOUSE])
    repo.lock_accounts(connection, [ids[pool.code]])
    key = distribution_key(outcome.race_id)
    if repair:
        key = f"{key}:repair:{repo.last_posting_id(connection, ids[pool.code])}"
    if repo.transaction_id_by_key(connection, key) is not None:
        return None
    builder = TransactionBuilder()
    money = _money(settings)
    changes: dict[int, int] = {}
    words: dict[int, str] = {}
    for payment in repo.pool_holdings(connection, ids[pool.code]):
        assert payment.net_cents > 0, payment
        builder.post(
            pool,
            -payment.net_cents,
            f"Live Pot of race {outcome.name!r} paid out to its racers",
            payment_id=payment.id,
        )
        changes[payment.id] = payment.net_cents
        words[payment.id] = _sale_words(money, payment.item, payment.gross_cents)
    if not changes:
        return None
    _credit_race(builder, connection, outcome, changes, words=words, suffix="", settings=settings)
    written = repo.write_transaction(
        connection,
        builder.build(
            key=key,
            kind=TransactionKind.POOL_DISTRIBUTION,
            description=f"Race {outcome.name!r} is final: its Live Pot split among its racers",
            reference=f"race:{outcome.race_id}",
            occurred_at=at,
            race_id=outcome.race_id,
        ),
        ids,
    )
    return written.transaction_id


def distribute_on_finalized(event: RaceFinalized, uow: UnitOfWork) -> None:
    """Subscriber: a race became final; split its pool inside the same transaction."""
    _distribute(uow, event.outcome, event.finalized_at, effective_settings(uow.session, load_settings()))


def distribute_race(
    admin_racer_id: int, race_id: int, *, uow: UnitOfWork, settings: Settings | None = None
) -> int | None:
    """An admin splits whatever a final race's pool still holds (normally done on RaceFinalized).

    Returns the transaction id, or None when the pool was already empty.
    """
    settings = settings or load_settings()
    with uow:
        require_admin(load_actor(uow.session, admin_racer_id, settings))
        outcome = race_outcome(uow.session, race_id)
        if outcome is None:
            raise NotFound("That race does not exist.")
        if not outcome.is_final:
            raise InvalidInput("Only a final race's pool can be split.")
        transaction_id = _distribute(uow, outcome, utc_now(), effective_settings(uow.session, settings), repair=True)
        uow.commit()
        return transaction_id


def correct_on_results_corrected(event: ResultsCorrected, uow: UnitOfWork) -> None:
    """Subscriber: an admin fix changed a final race; move shares to match the new results.

    What the racers hold of the race is settled again by the new results
    (`_settle_race`: the race's whole pool by the new weights), and the
    difference is posted as one RESULT_CORRECTION. Nothing is edited; a racer
    already paid out may go into debt.
    """
    outcome = event.outcome
    connection = uow.session.connection()
    settings = effective_settings(connection, load_settings())
    fix_words = "-".join(str(fix_id) for fix_id in sorted(event.fix_ids)) or event.corrected_at.isoformat()
    key = f"race:{outcome.race_id}:correction:{fix_words}"
    weights = split_weights(outcome)
    if not weights:
        return
    holdings = repo.race_wallet_holdings(connection, outcome.race_id)
    wallets = [wallet_account(racer_id) for racer_id in {*weights, *(row.racer_id for row in holdings)}]
    ids = repo.account_ids(connection, [pool_account(outcome.race_id), *wallets])
    repo.lock_accounts(connection, ids.values())
    if repo.transaction_id_by_key(connection, key) is not None:
        return
    builder = TransactionBuilder()
    reason = _text(event.reason, 120) or "admin fix"
    name = outcome.name

    def describe(_payment_id: int, sale_words: str) -> str:
        return f"Result fix in race {name!r} ({reason}): share of {sale_words}"

    _settle_race(builder, connection, outcome, {}, words={}, describe=describe, settings=settings)
    if not builder.postings:
        return
    repo.write_transaction(
        connection,
        builder.build(
            key=key,
            kind=TransactionKind.RESULT_CORRECTION,
            description=f"Results of race {outcome.name!r} corrected: {reason}",
            reference=f"race:{outcome.race_id}",
            occurred_at=event.corrected_at,
            race_id=outcome.race_id,
        ),
        ids,
    )


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
    settings: Settings | None = None,
) -> TipReceipt:
    """Credit the DJ the tip less the platform fee (floored); the fee goes to the house."""
    settings = settings or load_settings()
    key = _require_key(key)
    require_positive_cents(tip_cents, "The tip")
    _require_instant(tipped_at, "The tip time")
    song = _text(song, ITEM_LENGTH_MAX) or "a song of the DJ's choice"
    fan_name = _text(fan_name, FAN_NAME_LENGTH_MAX)
    message = _text(message, MESSAGE_LENGTH_MAX)
    money = _money(settings)

    with uow:
        connection = uow.session.connection()
        settings = _effective_settings(uow, connection, settings)  # an admin's change applies from the next tip
        fee_cents = bps_part(tip_cents, settings.tip_fee_bps)
        dj_cents = tip_cents - fee_cents
        if uow.session.get(Racer, dj_racer_id) is None:
            raise NotFound("That DJ does not exist.")
        payment_id = repo.insert_payment(
            connection,
            key=key,
            kind="tip",
            provider=(provider or "manual")[:PROVIDER_LENGTH_MAX],
            gross_cents=tip_cents,
            cost_cents=0,
            pool_cents=0,
            fee_cents=fee_cents,
            race_id=None,
            dj_racer_id=dj_racer_id,
            item=song,
            fan_name=fan_name,
            message=message,
            occurred_at=tipped_at,
        )
        if payment_id is None:
            payment = repo.payment_by_key(connection, key)
            assert payment is not None
            if payment.kind != "tip":
                raise InvalidInput("That payment key was recorded as a sale, not a tip.")
            if payment.gross_cents != tip_cents:
                raise InvalidInput("That payment key was recorded before with a different amount.")
            transaction_id = repo.transaction_id_by_key(connection, f"payment:{key}")
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
        who = fan_name or "a fan"
        tip_words = f"Tip from {who} for {song!r} ({money(tip_cents)})"
        builder = TransactionBuilder()
        builder.post(CLEARING, -tip_cents, f"Paid in: {tip_words}", payment_id=payment_id)
        builder.post(HOUSE, fee_cents, f"Platform fee on {tip_words}", payment_id=payment_id)
        builder.post(
            wallet_account(dj_racer_id),
            dj_cents,
            f"{tip_words}, less {money(fee_cents)} fee",
            payment_id=payment_id,
            available_at=_hold_until(settings, utc_now()),
        )
        written = repo.write_transaction(
            connection,
            builder.build(
                key=f"payment:{key}",
                kind=TransactionKind.TIP,
                description=tip_words,
                reference=f"{provider}:{key}",
                occurred_at=tipped_at,
                payment_id=payment_id,
            ),
        )
        assert not written.replayed
        uow.emit(
            TipRecorded(
                payment_id=payment_id,
                dj_racer_id=dj_racer_id,
                tip_cents=tip_cents,
                dj_cents=dj_cents,
                fan_name=fan_name,
                song=song,
                message=message,
                occurred_at=tipped_at,
            )
        )
        uow.commit()
        return TipReceipt(
            payment_id, written.transaction_id, dj_racer_id, tip_cents, fee_cents, dj_cents, replayed=False
        )


# --- refunds and disputes ----------------------------------------------------------------


def refund_payment(
    *,
    payment_key: str,
    refund_key: str,
    refunded_at: datetime,
    uow: UnitOfWork,
    amount_cents: int | None = None,
    settings: Settings | None = None,
) -> ClawbackReceipt:
    """Take a refund back from the accounts the payment credited, in proportion.

    `amount_cents` None refunds whatever remains of the payment. A racer already
    paid out may go into debt. A refund for a payment not recorded yet raises
    PaymentNotFound (the webhook inbox retries it once the sale arrives).
    """
    return _claw_back(
        payment_key=payment_key,
        key=f"refund:{_require_key(refund_key)}",
        kind=TransactionKind.REFUND_CLAWBACK,
        words="Refund",
        at=refunded_at,
        amount_cents=amount_cents,
        uow=uow,
        settings=settings or load_settings(),
    )


def open_dispute(
    *,
    payment_key: str,
    dispute_key: str,
    opened_at: datetime,
    uow: UnitOfWork,
    amount_cents: int | None = None,
    settings: Settings | None = None,
) -> ClawbackReceipt:
    """A chargeback: the disputed amount is taken back like a refund until the dispute is won."""
    return _claw_back(
        payment_key=payment_key,
        key=dispute_clawback_key(_require_key(dispute_key)),
        kind=TransactionKind.DISPUTE_CLAWBACK,
        words="Chargeback dispute on",
        at=opened_at,
        amount_cents=amount_cents,
        uow=uow,
        settings=settings or load_settings(),
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
    settings: Settings,
) -> ClawbackReceipt:
    _require_instant(at, "The time")
    if amount_cents is not None:
        require_positive_cents(amount_cents, "The amount")
    money = _money(settings)
    with uow:
        connection = uow.session.connection()
        done = repo.transaction_id_by_key(connection, key)
        if done is not None:
            return _clawback_replay(connection, done)
        payment = repo.payment_by_key(connection, payment_key)
        if payment is None:
            raise PaymentNotFound("That payment has not been recorded yet.")
        holdings = repo.payment_holdings(connection, payment.id)
        race_accounts = _race_accounts(connection, payment)
        repo.lock_accounts(
            connection, [row.id for row in holdings] + list(repo.account_ids(connection, race_accounts).values())
        )
        holdings = repo.payment_holdings(connection, payment.id)  # after the locks
        race = _final_race_of(uow, payment)
        credited = {
            row.code: row.net_cents
            for row in holdings
            if row.kind != AccountKind.CLEARING and row.net_cents > 0
        }
        refs = {row.code: repo.account_ref(row) for row in holdings}
        remaining_cents = sum(credited.values())
        if remaining_cents == 0:
            raise InvalidInput("Nothing remains of that payment to take back.")
        amount_cents = remaining_cents if amount_cents is None else amount_cents
        what = f"{payment.item!r} {payment.kind} ({money(payment.gross_cents)})"
        builder = TransactionBuilder()
        builder.post(
            CLEARING,
            amount_cents,
            f"{words} {what}: {money(amount_cents)} returned to the fan",
            payment_id=payment.id,
        )
        line = f"{words} {what}: taken back in proportion"
        shares = _take_back(builder, connection, race, payment, amount_cents, credited, refs, line, key, settings)
        written = repo.write_transaction(
            connection,
            builder.build(
                key=key,
                kind=kind,
                description=f"{words} {what}: {money(amount_cents)}",
                reference=key,
                occurred_at=at,
                payment_id=payment.id,
                race_id=payment.race_id,
            ),
        )
        assert not written.replayed
        uow.commit()
        return ClawbackReceipt(written.transaction_id, amount_cents, shares, replayed=False)


def _final_race_of(uow: UnitOfWork, payment) -> RaceOutcome | None:
    """The final race whose racers were credited with this sale, if any."""
    if payment.kind != "sale" or payment.race_id is None:
        return None
    outcome = race_outcome(uow.session, payment.race_id)
    if outcome is None or not outcome.is_final or not split_weights(outcome):
        return None
    return outcome


def _race_accounts(connection: Connection, payment) -> list:
    """A sale's race pool and every wallet that holds or may hold some of the race (locked before a settle)."""
    if payment is None or payment.kind != "sale" or payment.race_id is None:
        return []
    holders = {row.racer_id for row in repo.race_wallet_holdings(connection, payment.race_id)}
    racer_ids = sorted({*holders, *repo.race_racer_ids(connection, payment.race_id)})
    return [pool_account(payment.race_id), *(wallet_account(racer_id) for racer_id in racer_ids)]


def _take_back(
    builder: TransactionBuilder,
    connection: Connection,
    race: RaceOutcome | None,
    payment,
    amount_cents: int,
    credited: dict[str, int],
    refs: dict,
    line: str,
    key: str,
    settings: Settings,
) -> dict[str, int]:
    """Post the clawback from the credited accounts in proportion; returns code -> cents taken.

    The racers of a final race count as one holder here: what they give back
    together is then taken so that the race stays fair to the cent
    (`_settle_race`), which for a full refund is exactly what each got of it.
    """
    racers_slot = f"race:{race.race_id}:racers" if race is not None else None
    grouped: dict[str, int] = defaultdict(int)
    for code, cents in credited.items():
        grouped[racers_slot if racers_slot and refs[code].kind == AccountKind.WALLET else code] += cents
    shares = clawback_shares(amount_cents, dict(grouped), seed=key)
    racers_cents = shares.pop(racers_slot, 0) if racers_slot else 0
    for code, share_cents in shares.items():
        builder.post(refs[code], -share_cents, line, payment_id=payment.id)
    if racers_cents == 0:
        return shares
    assert race is not None
    _settle_race(
        builder,
        connection,
        race,
        {payment.id: -racers_cents},
        words={},
        describe=lambda payment_id, _sale_words: line if payment_id == payment.id else None,
        settings=settings,
    )
    return {
        code: -posting.amount_cents
        for (code, payment_id), posting in builder.postings.items()
        if payment_id == payment.id and code != CLEARING.code
    }


def _clawback_replay(connection: Connection, transaction_id: int) -> ClawbackReceipt:
    taken = {
        row.code: -row.amount_cents
        for row in repo.postings_of_transaction(connection, transaction_id)
        if row.kind != AccountKind.CLEARING
    }
    return ClawbackReceipt(transaction_id, sum(taken.values()), taken, replayed=True)


def reinstate_dispute(
    *, dispute_key: str, reinstated_at: datetime, uow: UnitOfWork, settings: Settings | None = None
) -> int:
    """A dispute was won: reverse its clawback exactly. Returns the transaction id."""
    settings = settings or load_settings()
    _require_instant(reinstated_at, "The time")
    clawback_key = dispute_clawback_key(_require_key(dispute_key))
    key = f"{clawback_key}:reinstated"
    with uow:
        connection = uow.session.connection()
        done = repo.transaction_id_by_key(connection, key)
        if done is not None:
            return done
        clawback = repo.transaction_row(connection, clawback_key)
        if clawback is None:
            raise NotFound("No open dispute with that key has been recorded yet.")
        settings = _effective_settings(uow, connection, settings)
        builder = _reinstatement(uow, connection, clawback, settings)
        written = repo.write_transaction(
            connection,
            builder.build(
                key=key,
                kind=TransactionKind.DISPUTE_REINSTATED,
                description=f"Dispute won: {clawback.description}"[:300],
                reference=clawback_key,
                occurred_at=reinstated_at,
                payment_id=clawback.payment_id,
                race_id=clawback.race_id,
            ),
        )
        uow.commit()
        return written.transaction_id


def _reinstatement(uow: UnitOfWork, connection: Connection, clawback, settings: Settings) -> TransactionBuilder:
    """The clawback's postings negated; what went back to a final race's racers is settled again.

    Locks what it credits back, and the race's pool and wallets, (in id order)
    before reading the race's status: a pool whose race became final since is
    split among its racers right away, with the race's other cents.
    """
    hold_until = _hold_until(settings, utc_now())
    rows = repo.postings_of_transaction(connection, clawback.id)
    payment = repo.payment_by_id(connection, clawback.payment_id) if clawback.payment_id else None
    accounts = [*map(repo.account_ref, rows), *_race_accounts(connection, payment)]
    repo.lock_accounts(connection, repo.account_ids(connection, accounts).values())
    race = _final_race_of(uow, payment) if payment is not None else None
    builder = TransactionBuilder()
    racers_cents = 0
    for row in rows:
        if race is not None and row.kind in (AccountKind.RACE_POOL, AccountKind.WALLET):
            racers_cents -= row.amount_cents
            continue
        builder.post(
            repo.account_ref(row),
            -row.amount_cents,
            f"Dispute won, reinstated: {row.description}"[:300],
            payment_id=row.payment_id,
            available_at=hold_until if row.kind == AccountKind.WALLET else None,
        )
    if racers_cents:
        assert race is not None and payment is not None
        sale_words = _sale_words(_money(settings), payment.item, payment.gross_cents)
        _credit_race(
            builder,
            connection,
            race,
            {payment.id: racers_cents},
            words={payment.id: sale_words},
            suffix=", dispute won",
            settings=settings,
        )
    return builder


# --- admin adjustments -------------------------------------------------------------------


def adjust_wallet(
    admin_racer_id: int,
    racer_id: int,
    amount_cents: int,
    *,
    reason: str,
    key: str,
    uow: UnitOfWork,
    settings: Settings | None = None,
) -> int:
    """An admin credits (positive) or debits (negative) a racer's wallet against the house."""
    settings = settings or load_settings()
    key = _require_key(key)
    reason = require_reason(reason)
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents == 0:
        raise InvalidInput("An adjustment moves a non-zero whole number of cents.")
    require_positive_cents(abs(amount_cents), "The adjustment")
    money = _money(settings)
    with uow:
        session = uow.session
        actor = load_actor(session, admin_racer_id, settings)
        require_admin(actor)
        racer = session.get(Racer, racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        connection = session.connection()
        transaction_key = f"adjustment:{key}"
        done = repo.transaction_id_by_key(connection, transaction_key)
        if done is not None:
            return done
        words = f"Adjustment by {actor.display_name}: {reason}"
        builder = TransactionBuilder()
        builder.post(wallet_account(racer_id), amount_cents, words)
        builder.post(HOUSE, -amount_cents, f"{words} ({racer.display_name}, {money(amount_cents)})")
        written = repo.write_transaction(
            connection,
            builder.build(
                key=transaction_key,
                kind=TransactionKind.ADJUSTMENT,
                description=words,
                reference=f"racer:{racer_id}",
                occurred_at=utc_now(),
                actor_racer_id=actor.racer_id,
            ),
        )
        uow.commit()
        return written.transaction_id
