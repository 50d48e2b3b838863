"""A racer's own wallet, for the `/wallet` page: balances, one page of history and the racer's
latest payouts with their status; and the history as CSV.

Both read in one transaction, so the balances and the lines agree. The racer id
always comes from the caller's server-side session (the page re-derives it);
these functions never take one from a browser.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select

from cozykart.db import ledger_repo as repo
from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.money import format_cents
from cozykart.domain.spreadsheet import spreadsheet_cell
from cozykart.services.wallet import (
    HISTORY_PAGE_SIZE_MAX,
    HistoryLine,
    WalletSummary,
    wallet_history,
    wallet_summary,
)

WALLET_PAGE_SIZE = 20
PAYOUTS_SHOWN_MAX = 10
CSV_LINES_MAX = 20_000
CSV_COLUMNS = (
    "date_utc",
    "kind",
    "description",
    "amount_cents",
    "amount",
    "balance_after_cents",
    "balance_after",
    "available_from_utc",
)


@dataclass(frozen=True)
class RacerPayout:
    payout_id: int
    amount_cents: int
    status: str  # a PayoutStatus's text: pending | paid | rejected
    requested_at: datetime
    method: str | None
    reference: str | None
    reason: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class WalletPage:
    summary: WalletSummary
    lines: tuple[HistoryLine, ...]  # newest first
    has_more: bool
    read_at: datetime
    payouts: tuple[RacerPayout, ...] = ()  # the racer's latest payouts, newest first


def _payouts(uow: UnitOfWork, racer_id: int) -> tuple[RacerPayout, ...]:
    payout = repo.payout_table
    rows = (
        uow.session.connection()
        .execute(
            select(
                payout.c.id,
                payout.c.amount_cents,
                payout.c.status,
                payout.c.requested_at,
                payout.c.method,
                payout.c.reference,
                payout.c.reason,
                payout.c.decided_at,
            )
            .where(payout.c.racer_id == racer_id)
            .order_by(payout.c.id.desc())
            .limit(PAYOUTS_SHOWN_MAX)
        )
        .all()
    )
    return tuple(RacerPayout(*row) for row in cast(list[Any], rows))


def wallet_page(
    racer_id: int,
    *,
    uow: UnitOfWork,
    before_posting_id: int | None = None,
    page_size: int = WALLET_PAGE_SIZE,
    now: datetime | None = None,
) -> WalletPage:
    """The racer's balances and one page of their history, newest first (older pages by cursor)."""
    now = now or utc_now()
    page_size = max(1, min(page_size, HISTORY_PAGE_SIZE_MAX - 1))
    with uow:
        summary = wallet_summary(racer_id, uow=uow, now=now)
        lines = wallet_history(racer_id, uow=uow, limit=page_size + 1, before_posting_id=before_posting_id)
        payouts = _payouts(uow, racer_id)
    return WalletPage(
        summary=summary,
        lines=tuple(lines[:page_size]),
        has_more=len(lines) > page_size,
        read_at=now,
        payouts=payouts,
    )


def wallet_csv(racer_id: int, *, uow: UnitOfWork) -> str:
    """The racer's whole history (oldest first, at most CSV_LINES_MAX lines) as CSV text."""
    currency = uow.base_settings.currency
    collected: list[HistoryLine] = []
    with uow:
        wallet_summary(racer_id, uow=uow)  # NotFound for a racer that does not exist
        before: int | None = None
        while len(collected) < CSV_LINES_MAX:
            batch = wallet_history(racer_id, uow=uow, limit=HISTORY_PAGE_SIZE_MAX, before_posting_id=before)
            collected.extend(batch)
            if len(batch) < HISTORY_PAGE_SIZE_MAX:
                break
            before = batch[-1].posting_id
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in reversed(collected[:CSV_LINES_MAX]):
        writer.writerow(
            (
                line.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                line.kind,
                spreadsheet_cell(line.description or ""),
                line.amount_cents,
                format_cents(line.amount_cents, currency),
                line.balance_after_cents,
                format_cents(line.balance_after_cents, currency),
                line.available_at.strftime("%Y-%m-%d %H:%M:%S") if line.available_at else "",
            )
        )
    return out.getvalue()
