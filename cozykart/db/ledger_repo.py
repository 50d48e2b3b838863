"""The ledger's storage, in SQLAlchemy Core statements on the unit of work's connection.

The hot path (recording a sale) is a handful of statements: no ORM identity map,
no flush bookkeeping. Writing a transaction is: claim its idempotency key
(INSERT ... ON CONFLICT DO NOTHING RETURNING id: a repeat gets nothing and
changes nothing), insert its postings, add each account's delta to the cached
balance (in account-id order, so concurrent writers on PostgreSQL never
deadlock). Every read of a balance can assert it against the postings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import BigInteger, Connection, Executable, bindparam, cast, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cozykart.db import lean
from cozykart.db.league_repo import DEFAULT_SPLIT
from cozykart.db.ledger_tables import (
    LedgerAccount,
    LedgerPayment,
    LedgerPosting,
    LedgerTransaction,
    Payout,
    RaceRoundingShare,
    WalletTakenBack,
)
from cozykart.db.tables import Race, RaceEntry, Season
from cozykart.db.types import utc_now
from cozykart.domain.events import RaceOutcome, RaceResult, RaceWindow, SplitRule
from cozykart.domain.league import RaceStatus
from cozykart.domain.ledger import (
    TAKEN_BACK_KINDS,
    AccountKind,
    AccountRef,
    PayoutStatus,
    RaceRounding,
    Transaction,
    TransactionKind,
    race_rounding,
    rule_weights,
)

account_table = LedgerAccount.__table__
payment_table = LedgerPayment.__table__
transaction_table = LedgerTransaction.__table__
posting_table = LedgerPosting.__table__
payout_table = Payout.__table__
race_table = Race.__table__
entry_table = RaceEntry.__table__
season_table = Season.__table__
rounding_table = RaceRoundingShare.__table__
taken_back_table = WalletTakenBack.__table__

ACCOUNT_CODES_PER_QUERY_MAX = 500

_insert_posting = posting_table.insert()
_add_to_balance = (
    update(account_table)
    .where(account_table.c.id == bindparam("account_id"))
    .values(balance_cents=account_table.c.balance_cents + bindparam("delta_cents"))
)


def sum_cents(column):
    """SUM of a cents column as a whole number on every backend (PostgreSQL's is numeric)."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


def _insert(connection: Connection, table):
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    assert connection.dialect.name == "sqlite", connection.dialect.name
    return sqlite.insert(table)


_prepared_statements: dict[tuple[str, str], Executable] = {}


def _prepared(connection: Connection, name: str, build: Callable[[Connection], Executable]) -> Executable:
    """A statement built once per dialect (building one costs more than running it on the hot path)."""
    slot = (connection.dialect.name, name)
    statement = _prepared_statements.get(slot)
    if statement is None:
        statement = _prepared_statements[slot] = build(connection)
    return statement


def _insert_once(table):
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id: a repeated key inserts nothing."""
    return lambda connection: (
        _insert(connection, table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
    )


_accounts_by_code = select(account_table.c.code, account_table.c.id).where(
    account_table.c.code.in_(bindparam("codes", expanding=True))
)


_accounts_by_n_codes: dict[int, Executable] = {}


def _accounts_by_codes(count: int) -> Executable:
    """`_accounts_by_code` for exactly `count` codes (a fixed statement `lean` can run)."""
    statement = _accounts_by_n_codes.get(count)
    if statement is None:
        statement = _accounts_by_n_codes[count] = select(account_table.c.code, account_table.c.id).where(
            account_table.c.code.in_([bindparam(f"code_{n}") for n in range(count)])
        )
    return statement


def is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


# --- accounts -----------------------------------------------------------------


def account_ids(
    connection: Connection, accounts: Iterable[AccountRef], *, now: datetime | None = None
) -> dict[str, int]:
    """Ids of the accounts by code, creating the ones that do not exist yet (created `now`, else the clock's now)."""
    wanted = {account.code: account for account in accounts}
    assert len(wanted) <= ACCOUNT_CODES_PER_QUERY_MAX, len(wanted)
    if not wanted:
        return {}
    rows = lean.execute(
        connection, _accounts_by_codes(len(wanted)), {f"code_{n}": code for n, code in enumerate(wanted)}
    )
    found = {code: account_id for code, account_id in rows}
    missing = [wanted[code] for code in wanted if code not in found]
    if missing:
        now = now or utc_now()
        connection.execute(
            _insert(connection, account_table).on_conflict_do_nothing(index_elements=["code"]),
            [
                {
                    "code": account.code,
                    "kind": str(account.kind),
                    "racer_id": account.racer_id,
                    "race_id": account.race_id,
                    "balance_cents": 0,
                    "created_at": now,
                }
                for account in missing
            ],
        )
        rows = connection.execute(_accounts_by_code, {"codes": [account.code for account in missing]}).all()
        found.update({code: account_id for code, account_id in rows})
    assert set(found) == set(wanted)
    return found


def lock_accounts(connection: Connection, ids: Iterable[int]) -> dict[int, int]:
    """Lock the accounts' rows until commit (PostgreSQL); their cached balances by id.

    On SQLite every transaction began with BEGIN IMMEDIATE and already holds the
    one write lock, so FOR UPDATE is not needed (SQLAlchemy leaves it out there).
    """
    ordered = sorted(set(ids))
    rows = connection.execute(
        select(account_table.c.id, account_table.c.balance_cents)
        .where(account_table.c.id.in_(ordered))
        .order_by(account_table.c.id)
        .with_for_update()
    ).all()
    return {account_id: balance_cents for account_id, balance_cents in rows}


def account_ref(row) -> AccountRef:
    return AccountRef(code=row.code, kind=AccountKind(row.kind), racer_id=row.racer_id, race_id=row.race_id)


def cached_balance(connection: Connection, account_id: int) -> int:
    """The balance kept on the account with every posting (one row; reconcile proves it)."""
    return int(
        connection.execute(
            select(account_table.c.balance_cents).where(account_table.c.id == account_id)
        ).scalar_one()
    )


def account_balance(connection: Connection, account_id: int) -> int:
    """The cached balance, asserted against the postings (read-side check; reads every posting)."""
    cached_cents = cached_balance(connection, account_id)
    posted_cents = connection.execute(
        select(sum_cents(posting_table.c.amount_cents)).where(posting_table.c.account_id == account_id)
    ).scalar_one()
    assert cached_cents == posted_cents, (account_id, cached_cents, posted_cents)
    return int(cached_cents)


def last_posting_id(connection: Connection, account_id: int) -> int:
    return int(
        connection.execute(
            select(func.coalesce(func.max(posting_table.c.id), 0)).where(
                posting_table.c.account_id == account_id
            )
        ).scalar_one()
    )


def account_id_by_code(connection: Connection, code: str) -> int | None:
    return connection.execute(
        select(account_table.c.id).where(account_table.c.code == code)
    ).scalar_one_or_none()


# --- transactions -------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    transaction_id: int
    replayed: bool  # True when the key had been applied before: nothing changed


def transaction_id_by_key(connection: Connection, key: str) -> int | None:
    return connection.execute(
        select(transaction_table.c.id).where(transaction_table.c.key == key)
    ).scalar_one_or_none()


def transaction_row(connection: Connection, key: str):
    return connection.execute(select(transaction_table).where(transaction_table.c.key == key)).first()


def write_transaction(
    connection: Connection,
    transaction: Transaction,
    ids: dict[str, int] | None = None,
    *,
    now: datetime | None = None,
) -> Written:
    """Apply `transaction` once, recorded `now` (else the clock's now): a repeat of its key writes nothing."""
    codes = {posting.account.code for posting in transaction.postings}
    if ids is None or not codes <= ids.keys():
        ids = {**(ids or {}), **account_ids(connection, (p.account for p in transaction.postings), now=now)}
    now = now or utc_now()
    rows = lean.execute(
        connection,
        _prepared(connection, "insert_transaction", _insert_once(transaction_table)),
        {
            "key": transaction.key,
            "kind": str(transaction.kind),
            "description": transaction.description[:300],
            "reference": transaction.reference[:200],
            "payment_id": transaction.payment_id,
            "race_id": transaction.race_id,
            "payout_id": transaction.payout_id,
            "actor_racer_id": transaction.actor_racer_id,
            "occurred_at": transaction.occurred_at,
            "recorded_at": now,
        },
    )
    transaction_id = rows[0][0] if rows else None
    if transaction_id is None:
        existing_id = transaction_id_by_key(connection, transaction.key)
        assert existing_id is not None
        return Written(transaction_id=existing_id, replayed=True)

    postings = [
        {
            "transaction_id": transaction_id,
            "account_id": ids[posting.account.code],
            "amount_cents": posting.amount_cents,
            "payment_id": posting.payment_id,
            "available_at": posting.available_at,
            "description": posting.description,
        }
        for posting in transaction.postings
    ]
    deltas: dict[int, int] = defaultdict(int)
    for posting in transaction.postings:
        deltas[ids[posting.account.code]] += posting.amount_cents
    assert sum(deltas.values()) == 0
    balance_changes = [
        {"account_id": account_id, "delta_cents": delta_cents}
        for account_id, delta_cents in sorted(deltas.items())
        if delta_cents != 0
    ]
    # The postings, the balances they move and a settled race's rounding in one round trip (PostgreSQL's pipeline).
    lean.executemany_together(
        connection,
        [
            (_insert_posting, postings),
            (_add_to_balance, balance_changes),
            *_rounding_statements(transaction.rounding),
            (_prepared(connection, "add_taken_back", _add_taken_back), _taken_back_rows(transaction, ids)),
        ],
    )
    return Written(transaction_id=transaction_id, replayed=False)


# --- what refunds and chargebacks took back of each wallet (derived, see WalletTakenBack) --


def _add_taken_back(connection: Connection) -> Executable:
    """INSERT a (wallet, payment) row, or add to it: two writers' additions never overwrite each other."""
    statement = _insert(connection, taken_back_table)
    return statement.on_conflict_do_update(
        index_elements=["account_id", "payment_id"],
        set_={"net_cents": taken_back_table.c.net_cents + statement.excluded.net_cents},
    )


def _taken_back_rows(transaction: Transaction, ids: dict[str, int]) -> list[dict]:
    """A refund's or chargeback's (or a won dispute's) wallet postings, net per wallet, for its payment's rows."""
    if transaction.kind not in TAKEN_BACK_KINDS:
        return []
    assert transaction.payment_id is not None, "a clawback or reinstatement names its payment"
    net: dict[int, int] = defaultdict(int)
    for posting in transaction.postings:
        if posting.account.kind == AccountKind.WALLET:
            net[ids[posting.account.code]] += posting.amount_cents
    return [
        {"account_id": account_id, "payment_id": transaction.payment_id, "net_cents": cents}
        for account_id, cents in sorted(net.items())
    ]


def taken_back_from_ledger(connection: Connection) -> dict[tuple[int, int], int]:
    """(wallet, payment) -> net cents of the TAKEN_BACK_KINDS transactions' postings, recomputed.

    Driven by those transactions (the kind index, then each one's postings): joined
    plainly, SQLite scanned all 1M postings of a grown league for them (1.1 s).
    """
    clawbacks = select(transaction_table.c.id).where(
        transaction_table.c.kind.in_([str(kind) for kind in TAKEN_BACK_KINDS])
    )
    return {
        (account_id, payment_id): int(cents)
        for account_id, payment_id, cents in connection.execute(
            select(
                posting_table.c.account_id,
                transaction_table.c.payment_id,
                sum_cents(posting_table.c.amount_cents),
            )
            .join(transaction_table, transaction_table.c.id == posting_table.c.transaction_id)
            .join(account_table, account_table.c.id == posting_table.c.account_id)
            .where(
                posting_table.c.transaction_id.in_(clawbacks), account_table.c.kind == str(AccountKind.WALLET)
            )
            .group_by(posting_table.c.account_id, transaction_table.c.payment_id)
        )
    }


def stored_taken_back(connection: Connection) -> dict[tuple[int, int], int]:
    """(wallet, payment) -> net cents, as stored."""
    return {
        (row.account_id, row.payment_id): int(row.net_cents)
        for row in connection.execute(select(taken_back_table))
    }


def rebuild_taken_back(connection: Connection) -> int:
    """Replace every taken-back row by its recomputation from the ledger (a migration's backfill). Rows written."""
    rows = [
        {"account_id": account_id, "payment_id": payment_id, "net_cents": cents}
        for (account_id, payment_id), cents in sorted(taken_back_from_ledger(connection).items())
    ]
    return _replace_derived_rows(connection, taken_back_table, rows)


def _replace_derived_rows(connection: Connection, table, rows: list[dict]) -> int:
    """Every row of a table derived from the ledger replaced by `rows` (a rebuild). Rows written."""
    connection.execute(table.delete())
    if rows:
        connection.execute(table.insert(), rows)
    return len(rows)


def postings_of_transaction(connection: Connection, transaction_id: int) -> list:
    return connection.execute(
        select(
            posting_table.c.amount_cents,
            posting_table.c.payment_id,
            posting_table.c.description,
            account_table.c.code,
            account_table.c.kind,
            account_table.c.racer_id,
            account_table.c.race_id,
        )
        .join(account_table, account_table.c.id == posting_table.c.account_id)
        .where(posting_table.c.transaction_id == transaction_id)
        .order_by(posting_table.c.id)
    ).all()


# --- payments -----------------------------------------------------------------


def insert_payment(connection: Connection, *, now: datetime | None = None, **values) -> int | None:
    """Record a payment once, recorded `now` (else the clock's now); None when its key was recorded before."""
    rows = lean.execute(
        connection,
        _prepared(connection, "insert_payment", _insert_once(payment_table)),
        {"recorded_at": now or utc_now(), **values},
    )
    return rows[0][0] if rows else None


def payment_by_key(connection: Connection, key: str):
    return connection.execute(select(payment_table).where(payment_table.c.key == key)).first()


def payment_by_id(connection: Connection, payment_id: int):
    return connection.execute(select(payment_table).where(payment_table.c.id == payment_id)).first()


def payment_holdings(connection: Connection, payment_id: int) -> list:
    """What each account still holds of a payment (code, kind, racer, race, net cents)."""
    return connection.execute(
        select(
            account_table.c.id,
            account_table.c.code,
            account_table.c.kind,
            account_table.c.racer_id,
            account_table.c.race_id,
            sum_cents(posting_table.c.amount_cents).label("net_cents"),
        )
        .join(account_table, account_table.c.id == posting_table.c.account_id)
        .where(posting_table.c.payment_id == payment_id)
        .group_by(
            account_table.c.id,
            account_table.c.code,
            account_table.c.kind,
            account_table.c.racer_id,
            account_table.c.race_id,
        )
        .order_by(account_table.c.code)
    ).all()


def pool_holdings(connection: Connection, pool_account_id: int) -> list:
    """The payments that still have cents in a pool: (payment id, key, item, gross, net)."""
    net = sum_cents(posting_table.c.amount_cents)
    return connection.execute(
        select(
            payment_table.c.id,
            payment_table.c.key,
            payment_table.c.item,
            payment_table.c.gross_cents,
            net.label("net_cents"),
        )
        .join(payment_table, payment_table.c.id == posting_table.c.payment_id)
        .where(posting_table.c.account_id == pool_account_id)
        .group_by(payment_table.c.id, payment_table.c.key, payment_table.c.item, payment_table.c.gross_cents)
        .having(net != 0)
        .order_by(payment_table.c.id)
    ).all()


def race_wallet_holdings(connection: Connection, race_id: int) -> list:
    """For each payment of a race, what each racer's wallet holds of it."""
    return connection.execute(
        select(
            payment_table.c.id.label("payment_id"),
            payment_table.c.key,
            payment_table.c.item,
            payment_table.c.gross_cents,
            account_table.c.racer_id,
            sum_cents(posting_table.c.amount_cents).label("net_cents"),
        )
        .join(payment_table, payment_table.c.id == posting_table.c.payment_id)
        .join(account_table, account_table.c.id == posting_table.c.account_id)
        .where(payment_table.c.race_id == race_id, account_table.c.kind == str(AccountKind.WALLET))
        .group_by(
            payment_table.c.id,
            payment_table.c.key,
            payment_table.c.item,
            payment_table.c.gross_cents,
            account_table.c.racer_id,
        )
        .order_by(payment_table.c.id, account_table.c.racer_id)
    ).all()


_final_of_season = (race_table.c.status == RaceStatus.FINAL, race_table.c.season_id.is_not(None))
_paid_for = race_table.c.id.in_(select(payment_table.c.race_id).where(payment_table.c.race_id.is_not(None)))
# Three lean statements over every final race (module constants: `lean` runs them on the cursor).
_final_races_wallet_sums = (
    select(payment_table.c.race_id, account_table.c.racer_id, sum_cents(posting_table.c.amount_cents))
    .join(payment_table, payment_table.c.id == posting_table.c.payment_id)
    .join(account_table, account_table.c.id == posting_table.c.account_id)
    .join(race_table, race_table.c.id == payment_table.c.race_id)
    .where(*_final_of_season, account_table.c.kind == str(AccountKind.WALLET))
    .group_by(payment_table.c.race_id, account_table.c.racer_id)
)
_final_races_paid_for = (
    select(
        race_table.c.id, race_table.c.season_id, season_table.c.split_policy, season_table.c.winner_bonus_bps
    )
    .join(season_table, season_table.c.id == race_table.c.season_id)
    .where(*_final_of_season, _paid_for)
)
_final_races_entries = (
    select(
        entry_table.c.race_id,
        entry_table.c.racer_id,
        entry_table.c.position,
        entry_table.c.dnf,
        entry_table.c.points,
    )
    .join(race_table, race_table.c.id == entry_table.c.race_id)
    .where(*_final_of_season, _paid_for)
    .order_by(entry_table.c.race_id, entry_table.c.racer_id)
)


def final_races_weighed(connection: Connection) -> list[tuple[int, int, dict[int, int], dict[int, int]]]:
    """Each final race of a season where a racer's wallet holds some of it: (race, season, weights, held).

    `weights` is the race's split (racer -> weight, `rule_weights` as `split_weights`
    gives it), `held` what each racer's wallet holds of it (racer -> cents). Three
    lean statements (the wallets' sums by race and racer, the races, their entries)
    over every final race, and no object per race or result: for reconcile and
    rebuilds, never per event. A race whose racers hold nothing of it is left out
    (its rounding is zero).
    """
    held: dict[int, dict[int, int]] = defaultdict(dict)
    for race_id, racer_id, net_cents in lean.execute(connection, _final_races_wallet_sums, {}):
        held[race_id][racer_id] = int(net_cents)
    races = {
        race_id: (season_id, SplitRule(policy=policy, winner_bonus_bps=bonus_bps))
        for race_id, season_id, policy, bonus_bps in lean.execute(connection, _final_races_paid_for, {})
        if race_id in held
    }
    entrants: dict[int, list[int]] = defaultdict(list)
    results: dict[int, list[tuple]] = defaultdict(list)
    for race_id, racer_id, position, dnf, points in lean.execute(connection, _final_races_entries, {}):
        if race_id in races:
            entrants[race_id].append(racer_id)
            if position is not None or dnf:  # as `_outcome` reads a result
                results[race_id].append((racer_id, position, dnf, points or 0))
    return [
        (race_id, season_id, rule_weights(split, entrants[race_id], results[race_id]), held[race_id])
        for race_id, (season_id, split) in races.items()
    ]


# --- a final race's rounding (derived, see RaceRoundingShare) --------------------------


def season_rounding(
    connection: Connection, season_id: int, racer_ids: Iterable[int], *, excluding_race_id: int
) -> dict[int, Fraction]:
    """Each racer's rounding over the season's final races but one: the rows of those racers only."""
    deviation: dict[int, Fraction] = defaultdict(Fraction)
    for racer_id, numerator, denominator in connection.execute(
        select(rounding_table.c.racer_id, rounding_table.c.numerator, rounding_table.c.denominator).where(
            rounding_table.c.season_id == season_id,
            rounding_table.c.racer_id.in_(sorted(set(racer_ids))),
            rounding_table.c.race_id != excluding_race_id,
        )
    ):
        deviation[racer_id] += Fraction(numerator, denominator)
    return dict(deviation)


def _rounding_row(race_id: int, racer_id: int, season_id: int, cents: Fraction) -> dict:
    return {
        "race_id": race_id,
        "racer_id": racer_id,
        "season_id": season_id,
        "numerator": cents.numerator,
        "denominator": cents.denominator,
    }


def _rounding_rows(rounding: RaceRounding) -> list[dict]:
    return [
        _rounding_row(rounding.race_id, racer_id, rounding.season_id, cents)
        for racer_id, cents in rounding.deviation
        if cents != 0
    ]


_forget_race_rounding = rounding_table.delete().where(
    rounding_table.c.race_id == bindparam("race_of_rounding")
)
_insert_rounding = rounding_table.insert()


def _rounding_statements(rounding: RaceRounding | None) -> list[tuple[Executable, list[dict]]]:
    """The statements that set a race's rounding rows (its racers' rows replaced), for one round trip."""
    if rounding is None:
        return []
    return [
        (_forget_race_rounding, [{"race_of_rounding": rounding.race_id}]),
        (_insert_rounding, _rounding_rows(rounding)),
    ]


def write_rounding(connection: Connection, rounding: RaceRounding | None) -> None:
    """Set a race's rounding rows when no transaction carries them (a result fix that moved no cent)."""
    lean.executemany_together(connection, _rounding_statements(rounding))


def rounding_from_ledger(connection: Connection) -> dict[tuple[int, int], tuple[int, Fraction]]:
    """(race, racer) -> (season, rounding) of every final race of a season, recomputed; zeros left out."""
    recomputed: dict[tuple[int, int], tuple[int, Fraction]] = {}
    for race_id, season_id, weights, held in final_races_weighed(connection):
        rounding = race_rounding(race_id, season_id, weights, held)
        assert rounding is not None, "final_races_weighed reads races of a season only"
        for racer_id, cents in rounding.deviation:
            if cents != 0:
                recomputed[(race_id, racer_id)] = (season_id, cents)
    return recomputed


def stored_rounding(connection: Connection) -> dict[tuple[int, int], tuple[int, Fraction]]:
    """(race, racer) -> (season, rounding) as stored; zeros left out."""
    return {
        (row.race_id, row.racer_id): (row.season_id, Fraction(row.numerator, row.denominator))
        for row in connection.execute(select(rounding_table))
        if row.numerator != 0
    }


def rebuild_rounding(connection: Connection) -> int:
    """Replace every rounding row by its recomputation from the ledger (a migration's backfill). Rows written."""
    rows = [
        _rounding_row(race_id, racer_id, season_id, cents)
        for (race_id, racer_id), (season_id, cents) in sorted(rounding_from_ledger(connection).items())
    ]
    return _replace_derived_rows(connection, rounding_table, rows)


def _outcome(
    race_id: int, name: str, season_id, status: str, entries: tuple, split: SplitRule
) -> RaceOutcome:
    return RaceOutcome(
        race_id=race_id,
        name=name,
        season_id=season_id,
        status=status,
        racer_ids=tuple(racer_id for racer_id, _position, _dnf, _points in entries),
        results=tuple(
            RaceResult(racer_id=racer_id, position=position, dnf=dnf, points=points or 0)
            for racer_id, position, dnf, points in entries
            if position is not None or dnf
        ),
        split=split,
    )


# --- the league, read for the hot path ---------------------------------------------
# The same answers as `league_repo.race_live_at` and `league_repo.race_outcome`
# (tests/integration/test_ledger_repo.py holds them to it), in two Core
# statements instead of ORM loads: recording a sale reads them every time.

_race_id_at = (
    select(race_table.c.id)
    .where(race_table.c.started_at.is_not(None), race_table.c.started_at <= bindparam("instant"))
    .where(or_(race_table.c.ended_at.is_(None), race_table.c.ended_at > bindparam("instant")))
    .where(race_table.c.status != RaceStatus.CANCELLED)
    .order_by(race_table.c.started_at.desc())
    .limit(1)
    .scalar_subquery()
)

# The race and its entries in one statement: one row per entry (or one with no entry).
_race_at = (
    select(
        race_table.c.id,
        race_table.c.name,
        race_table.c.season_id,
        race_table.c.status,
        race_table.c.started_at,
        race_table.c.ended_at,
        season_table.c.split_policy,
        season_table.c.winner_bonus_bps,
        entry_table.c.racer_id,
        entry_table.c.position,
        entry_table.c.dnf,
        entry_table.c.points,
    )
    .outerjoin(season_table, season_table.c.id == race_table.c.season_id)
    .outerjoin(entry_table, entry_table.c.race_id == race_table.c.id)
    .where(race_table.c.id == _race_id_at)
    .order_by(entry_table.c.racer_id)
)

_entries_of_race = (
    select(entry_table.c.racer_id, entry_table.c.position, entry_table.c.dnf, entry_table.c.points)
    .where(entry_table.c.race_id == bindparam("race_id"))
    .order_by(entry_table.c.racer_id)
)


@dataclass(frozen=True)
class RaceAtSale:
    window: RaceWindow
    split: SplitRule
    entries: tuple  # (racer_id, position, dnf, points) as read with the window


def race_at(connection: Connection, instant: datetime) -> RaceAtSale | None:
    """The race whose commission window contains `instant` (as `league_repo.race_live_at`)."""
    rows = lean.execute(connection, _race_at, {"instant": instant})
    if not rows:
        return None
    race_id, name, season_id, status, started_at, ended_at, split_policy, winner_bonus_bps = rows[0][:8]
    window = RaceWindow(
        race_id=race_id,
        name=name,
        season_id=season_id,
        status=status,
        started_at=started_at,
        ended_at=ended_at,
    )
    split = (
        SplitRule(policy=split_policy, winner_bonus_bps=winner_bonus_bps)
        if split_policy is not None
        else DEFAULT_SPLIT
    )
    entries = tuple(
        (racer_id, position, dnf, points)
        for *_race, racer_id, position, dnf, points in rows
        if racer_id is not None
    )
    return RaceAtSale(window=window, split=split, entries=entries)


def outcome_of(connection: Connection, race: RaceAtSale, status: str) -> RaceOutcome:
    """The race's outcome (as `league_repo.race_outcome`) for a race found by `race_at`.

    The entries read with the window are used when the status is still the one
    read then; a race that became final since is read again.
    """
    entries = race.entries
    if status != race.window.status:
        entries = tuple(
            tuple(row) for row in connection.execute(_entries_of_race, {"race_id": race.window.race_id})
        )
    return _outcome(race.window.race_id, race.window.name, race.window.season_id, status, entries, race.split)


def race_racer_ids(connection: Connection, race_id: int) -> list[int]:
    return [row[0] for row in connection.execute(_entries_of_race, {"race_id": race_id})]


def race_status(connection: Connection, race_id: int) -> str | None:
    return connection.execute(
        select(race_table.c.status).where(race_table.c.id == race_id)
    ).scalar_one_or_none()


# --- wallets ------------------------------------------------------------------


def held_credit_cents(connection: Connection, wallet_account_id: int, now: datetime) -> int:
    return int(
        connection.execute(
            select(sum_cents(posting_table.c.amount_cents)).where(
                posting_table.c.account_id == wallet_account_id, posting_table.c.available_at > now
            )
        ).scalar_one()
    )


def taken_back_cents(connection: Connection, account_id: int) -> int:
    """What refunds and chargebacks took from the wallet, net of disputes won back (TAKEN_BACK_KINDS).

    Per payment: what its clawbacks took less what a won dispute gave back, when that
    is a taking (a dispute opened before the race was final took from the pool, and
    winning it pays the racers: that is earned, not given back). Read from the
    wallet's `wallet_taken_back` rows, one per payment it lost money back on, not
    from its lines: at 100,000 lines the sum over the lines took 70 ms on SQLite.
    """
    return sum(
        max(-int(cents), 0)
        for (cents,) in connection.execute(
            select(taken_back_table.c.net_cents).where(taken_back_table.c.account_id == account_id)
        )
    )


def paid_out_cents(connection: Connection, racer_id: int) -> int:
    """What left to the racer: their paid payouts, less what came back (a Stripe transfer reversed)."""
    paid_cents = int(
        connection.execute(
            select(sum_cents(payout_table.c.amount_cents)).where(
                payout_table.c.racer_id == racer_id, payout_table.c.status == PayoutStatus.PAID
            )
        ).scalar_one()
    )
    # What came back is found from the racer's payouts (a PAYOUT_RETURNED transaction names its
    # payout), not by reading every line of the wallet for the few that came back.
    returned_cents = int(
        connection.execute(
            select(sum_cents(posting_table.c.amount_cents))
            .select_from(payout_table)
            .join(transaction_table, transaction_table.c.payout_id == payout_table.c.id)
            .join(posting_table, posting_table.c.transaction_id == transaction_table.c.id)
            .join(account_table, account_table.c.id == posting_table.c.account_id)
            .where(
                payout_table.c.racer_id == racer_id,
                transaction_table.c.kind == TransactionKind.PAYOUT_RETURNED,
                account_table.c.racer_id == racer_id,
                account_table.c.kind == str(AccountKind.WALLET),
            )
        ).scalar_one()
    )
    return paid_cents - returned_cents
