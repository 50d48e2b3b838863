"""Earnings a racer reads right: lifetime earnings stay what was earned, refunds are their own figure,
and the yearly statement (by month, in UTC) adds up to what the ledger moved."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from cozykart.db.tables import Racer
from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.services import ledger, payouts, wallet
from cozykart.services.reads import statement
from cozykart.services.reads.reconcile import reconcile
from tests.integration.ledger_support import (
    T0,
    finalize_race,
    make_admin,
    make_race,
    make_racers,
    settings_for,
)

pytestmark = pytest.mark.usefixtures("reconciled")  # the ledger reconciles after each test

DEC = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
PAY_DAY = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # every hold is over


def _a_year(database):
    """Nov: a $200 sale in Ana's race (her share $40). Dec: a $10 tip ($0.50 fee), a $5 adjustment,
    a $50 refund of the sale ($10 of it from Ana), $20 paid by PayPal and $10 by gift card. Jan 2027: a tip."""
    settings = settings_for(database)
    admin = make_admin(database)
    ana, bo = make_racers(database, 2)
    bo_renamed = "=HYPERLINK(evil)"
    with database.uow() as uow:
        uow.session.get(Racer, bo).display_name = bo_renamed
        uow.commit()
    race_id = make_race(database, [ana])
    ledger.record_sale(
        key="sale",
        gross_cents=20000,
        sold_at=T0 + timedelta(seconds=1),
        item="Hoodie",
        uow=database.uow(settings),
    )
    finalize_race(database, race_id, {ana: 1}, at=T0 + timedelta(hours=1))
    ledger.record_tip(
        key="tip",
        dj_racer_id=ana,
        tip_cents=1000,
        tipped_at=DEC,
        song="Rainbow Road",
        uow=database.uow(settings),
    )
    ledger.adjust_wallet(
        admin, ana, 500, reason="stream bonus", key="bonus", uow=database.uow(settings), now=DEC
    )
    ledger.adjust_wallet(
        admin, bo, 2500, reason="host fee", key="bo-fee", uow=database.uow(settings), now=DEC
    )
    ledger.refund_payment(
        payment_key="sale",
        refund_key="rf",
        refunded_at=DEC + timedelta(days=1),
        amount_cents=5000,
        uow=database.uow(settings),
    )
    asked = payouts.request_payout(ana, 2000, key="ask", uow=database.uow(settings), now=PAY_DAY)
    payouts.pay_payout(
        admin, asked, method="paypal", reference="PP-1", uow=database.uow(settings), now=PAY_DAY
    )
    payouts.direct_payout(
        admin,
        ana,
        1000,
        method="gift_card",
        reference="GC-1",
        key="gc",
        uow=database.uow(settings),
        now=PAY_DAY + timedelta(days=1),
    )
    ledger.record_tip(
        key="tip-2027",
        dj_racer_id=ana,
        tip_cents=1000,
        tipped_at=datetime(2027, 1, 3, tzinfo=UTC),
        song="Coconut Mall",
        uow=database.uow(settings),
    )
    return settings, admin, ana, bo


def test_a_refund_does_not_shrink_lifetime_earnings_it_shows_as_its_own_figure(database):
    settings, _admin, ana, _bo = _a_year(database)
    summary = wallet.wallet_summary(ana, uow=database.uow(settings), now=PAY_DAY + timedelta(days=30))
    # earned: $40.00 share + $9.50 tip + $5.00 bonus + $9.50 (the 2027 tip); the refund took $10.00 back
    assert (summary.lifetime_earned_cents, summary.refunds_taken_back_cents) == (6400, 1000)
    assert summary.paid_out_cents == 3000
    assert summary.available_cents + summary.held_cents == 6400 - 1000 - 3000
    assert reconcile(uow=database.uow()).clean


def test_the_racers_year_by_month_adds_up(database):
    settings, _admin, ana, _bo = _a_year(database)
    mine = statement.racer_statement(ana, "2026", uow=database.uow(settings))
    nov, dec = mine.months[10], mine.months[11]
    assert (nov.race_shares, nov.tips_gross, nov.taken_back, nov.paid_out) == (4000, 0, 0, {})
    assert (dec.tips_gross, dec.tip_fees, dec.adjustments, dec.taken_back) == (1000, 50, 500, 1000)
    assert dec.paid_out == {"paypal": 2000, "gift_card": 1000}
    assert all(month.net_earned == 0 and not month.paid_out for month in mine.months[:10])
    total = mine.total
    assert total.net_earned == 4000 + 950 + 500 - 1000
    assert total.paid_out_total == 3000
    next_year = statement.racer_statement(ana, 2027, uow=database.uow(settings))
    assert (next_year.total.tips_gross, next_year.total.net_earned) == (1000, 950)


def test_the_csv_is_per_month_then_total_and_safe_in_a_spreadsheet(database):
    settings, admin, ana, bo = _a_year(database)
    text = statement.statement_csv(
        [statement.racer_statement(ana, 2026, uow=database.uow(settings))], with_racer=False
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["month"] for row in rows] == ["2026-11", "2026-12", "total"]
    assert rows[1]["tips_gross_usd"] == "10.00" and rows[1]["tip_fees_usd"] == "0.50"
    assert rows[1]["refunds_taken_back_usd"] == "10.00"
    assert (rows[1]["paid_out_paypal_usd"], rows[1]["paid_out_gift_card_usd"]) == ("20.00", "10.00")
    assert rows[2]["net_earned_usd"] == "44.50"

    league = statement.league_statement(admin, 2026, uow=database.uow(settings))
    assert {one.racer_id for one in league} == {ana, bo}
    league_rows = list(csv.DictReader(io.StringIO(statement.statement_csv(league, with_racer=True))))
    assert "'=HYPERLINK(evil)" in {row["racer"] for row in league_rows}  # a name never runs as a formula
    assert {row["racer"] for row in league_rows if row["month"] == "total"} == {
        "Racer 1",
        "'=HYPERLINK(evil)",
    }


def test_only_admins_read_the_leagues_statement_and_years_are_checked(database):
    settings, _admin, ana, _bo = _a_year(database)
    with pytest.raises(PermissionDenied):
        statement.league_statement(ana, 2026, uow=database.uow(settings))
    for bad in ("", "26", "twenty", "1999", "2101", "2026; drop", None):
        with pytest.raises(InvalidInput, match="Give a year from 2000 to 2100"):
            statement.racer_statement(ana, bad, uow=database.uow(settings))


def test_the_cli_prints_the_year_and_its_csv(database):
    from tests.integration.test_ledger_cli import run_cli

    _a_year(database)
    table = run_cli(database.url, "statement", "--year", "2026")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["racer", "earned", "tip", "fees", "taken", "back", "net", "paid", "out"]
    ana_line = next(line for line in lines if line.startswith("Racer 1"))
    assert ana_line.split()[2:] == ["$55.00", "$0.50", "$10.00", "$44.50", "$30.00"]

    as_csv = run_cli(database.url, "statement", "--year", "2026", "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    totals = [row for row in csv.DictReader(io.StringIO(as_csv.stdout)) if row["month"] == "total"]
    assert sorted(row["net_earned_usd"] for row in totals) == ["25.00", "44.50"]

    refused = run_cli(database.url, "statement", "--year", "nineteen")
    assert refused.returncode == 2
    assert "Give a year from 2000 to 2100" in refused.stderr
