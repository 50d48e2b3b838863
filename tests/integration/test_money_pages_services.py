"""What the money pages read: a racer's wallet page and CSV (services/reads/wallet_view.py), and the
admin's payout queue, webhook inbox and reconciliation (services/money_admin.py), admins only."""

from __future__ import annotations

import csv
import io

import pytest

from cozykart.domain.errors import PermissionDenied
from cozykart.services import ledger, money_admin, payouts
from cozykart.services.reads import wallet_view
from tests.integration.ledger_support import make_admin, make_racers, settings_for


def _credit(
    database, settings, admin_id: int, racer_id: int, cents: int, key: str, reason: str = "prize"
) -> None:
    ledger.adjust_wallet(admin_id, racer_id, cents, reason=reason, key=key, uow=database.uow(settings))


def test_wallet_page_shows_balances_and_pages_history_newest_first(database):
    settings = settings_for(database)
    admin_id = make_admin(database)
    racer_id = make_racers(database, 1)[0]
    for n in range(5):
        _credit(database, settings, admin_id, racer_id, 1000, key=f"c{n}", reason=f"prize number {n}")
    payouts.request_payout(racer_id, 2000, key="p1", uow=database.uow(settings))

    first = wallet_view.wallet_page(racer_id, uow=database.uow(settings), page_size=4)
    assert (first.summary.available_cents, first.summary.in_payout_cents) == (3000, 2000)
    assert first.summary.lifetime_earned_cents == 5000
    assert first.has_more is True
    assert first.lines[0].description.startswith("Payout #")
    assert [line.balance_after_cents for line in first.lines] == [3000, 5000, 4000, 3000]
    assert [(payout.amount_cents, payout.status) for payout in first.payouts] == [(2000, "pending")]

    older = wallet_view.wallet_page(
        racer_id, uow=database.uow(settings), page_size=4, before_posting_id=first.lines[-1].posting_id
    )
    assert older.has_more is False
    assert [line.description for line in older.lines] == [
        "Adjustment by Admin: prize number 1",
        "Adjustment by Admin: prize number 0",
    ]


def test_wallet_csv_is_the_whole_history_oldest_first_and_defuses_formulas(database):
    settings = settings_for(database)
    admin_id = make_admin(database)
    racer_id = make_racers(database, 1)[0]
    _credit(database, settings, admin_id, racer_id, 2550, key="a", reason='=HYPERLINK("http://x")')
    _credit(database, settings, admin_id, racer_id, -50, key="b", reason="correction")

    rows = list(csv.DictReader(io.StringIO(wallet_view.wallet_csv(racer_id, uow=database.uow(settings)))))
    assert [(row["amount_cents"], row["amount"], row["balance_after"]) for row in rows] == [
        ("2550", "$25.50", "$25.50"),
        ("-50", "-$0.50", "$25.00"),
    ]
    assert rows[0]["description"] == 'Adjustment by Admin: =HYPERLINK("http://x")'
    assert list(rows[0]) == list(wallet_view.CSV_COLUMNS)
    assert (
        list(csv.reader(io.StringIO(wallet_view.wallet_csv(racer_id, uow=database.uow(settings)))))[1][2]
        == 'Adjustment by Admin: =HYPERLINK("http://x")'
    )  # not at a cell's start: left alone


def test_payout_queue_lists_pending_recent_and_racers_who_can_be_paid(database):
    settings = settings_for(database)
    admin_id = make_admin(database)
    kai, tess, mia = make_racers(database, 3)
    _credit(database, settings, admin_id, kai, 5000, key="k")
    _credit(database, settings, admin_id, tess, 3000, key="t")
    first = payouts.request_payout(kai, 2000, key="p1", uow=database.uow(settings))
    second = payouts.request_payout(kai, 2500, key="p2", uow=database.uow(settings))
    payouts.pay_payout(admin_id, first, method="paypal", reference="PP-1", uow=database.uow(settings))

    queue = money_admin.payout_queue(admin_id, uow=database.uow(settings))

    assert [line.payout_id for line in queue.pending] == [second]
    assert [(line.payout_id, line.status, line.method, line.reference) for line in queue.recent] == [
        (first, "paid", "paypal", "PP-1")
    ]
    assert {(racer.racer_id, racer.available_cents) for racer in queue.racers} == {(kai, 500), (tess, 3000)}
    assert mia not in {racer.racer_id for racer in queue.racers}
    shown = wallet_view.wallet_page(kai, uow=database.uow(settings)).payouts
    assert [(p.payout_id, p.status, p.method, p.reference) for p in shown] == [
        (second, "pending", None, None),
        (first, "paid", "paypal", "PP-1"),
    ]
    assert ("bank", "bank transfer") in queue.methods


def test_admin_reads_are_refused_to_a_racer(database):
    settings = settings_for(database)
    make_admin(database)
    racer_id = make_racers(database, 1)[0]
    for read in (money_admin.payout_queue, money_admin.webhook_inbox, money_admin.reconciliation):
        with pytest.raises(PermissionDenied, match="Only a league admin"):
            read(racer_id, uow=database.uow(settings))


def test_webhook_inbox_and_reconciliation_for_an_admin(database):
    settings = settings_for(database)
    admin_id = make_admin(database)
    view = money_admin.webhook_inbox(admin_id, status="failed", uow=database.uow(settings))
    assert (view.status, view.rows, view.counts) == ("failed", (), {})
    with pytest.raises(Exception, match="Pick a status"):
        money_admin.webhook_inbox(admin_id, status="bogus", uow=database.uow(settings))
    report = money_admin.reconciliation(admin_id, uow=database.uow(settings))
    assert report.clean
