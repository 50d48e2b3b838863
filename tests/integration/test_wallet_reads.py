"""The wallet's keyset history and its lifetime earnings agree with the postings they summarise.

The history page takes the balance after its newest line from the cached balance
and walks back; lifetime earnings are the balance less the payout movements found
from the racer's payouts. Both are checked here against a plain reading of every
posting, across every page and every kind of payout (requested then paid,
requested then rejected, still pending, direct), and another racer's money.
"""

from __future__ import annotations

from sqlalchemy import select

from cozykart.db import ledger_repo as repo
from cozykart.domain.ledger import PAYOUT_KINDS, wallet_account
from cozykart.services import ledger, payouts, wallet
from cozykart.services.reads import wallet_view
from tests.integration.ledger_support import make_admin, make_racers, settings_for


def _postings(database, racer_id: int) -> list[tuple[int, int, str]]:
    """(posting id, cents, transaction kind) of the racer's wallet, oldest first."""
    posting, transaction = repo.posting_table, repo.transaction_table
    with database.uow() as uow:
        connection = uow.session.connection()
        wallet_id = repo.account_id_by_code(connection, wallet_account(racer_id).code)
        return [
            tuple(row)
            for row in connection.execute(
                select(posting.c.id, posting.c.amount_cents, transaction.c.kind)
                .join(transaction, transaction.c.id == posting.c.transaction_id)
                .where(posting.c.account_id == wallet_id)
                .order_by(posting.c.id)
            )
        ]


def test_every_history_page_carries_the_running_balance_and_earnings_exclude_payouts(database):
    settings = settings_for(database, payout_min_cents=500)
    admin_id = make_admin(database)
    racer_id, other_id = make_racers(database, 2)

    def credit(racer: int, cents: int, key: str) -> None:
        ledger.adjust_wallet(admin_id, racer, cents, reason="prize", key=key, uow=database.uow(settings))

    for n in range(9):
        credit(racer_id, 1000 + n, f"c{n}")
        credit(other_id, 700, f"o{n}")
    paid = payouts.request_payout(racer_id, 1500, key="r1", uow=database.uow(settings))
    payouts.pay_payout(admin_id, paid, method="paypal", reference="PP-1", uow=database.uow(settings))
    rejected = payouts.request_payout(racer_id, 600, key="r2", uow=database.uow(settings))
    payouts.reject_payout(admin_id, rejected, reason="wrong address", uow=database.uow(settings))
    payouts.direct_payout(
        admin_id, racer_id, 700, method="paypal", reference="PP-2", key="d1", uow=database.uow(settings)
    )
    other_paid = payouts.request_payout(other_id, 900, key="o-r1", uow=database.uow(settings))
    payouts.pay_payout(admin_id, other_paid, method="paypal", reference="PP-3", uow=database.uow(settings))
    credit(racer_id, -45, "correction")
    payouts.request_payout(racer_id, 2000, key="r3", uow=database.uow(settings))

    postings = _postings(database, racer_id)
    running, expected = 0, []
    for posting_id, cents, _kind in postings:
        running += cents
        expected.append((posting_id, cents, running))
    expected.reverse()

    seen, before = [], None
    for _page in range(len(postings)):
        page = wallet_view.wallet_page(
            racer_id, uow=database.uow(settings), page_size=4, before_posting_id=before
        )
        seen.extend((line.posting_id, line.amount_cents, line.balance_after_cents) for line in page.lines)
        if not page.has_more:
            break
        before = page.lines[-1].posting_id
    assert seen == expected

    earned = sum(cents for _id, cents, kind in postings if kind not in {str(k) for k in PAYOUT_KINDS})
    summary = wallet.wallet_summary(racer_id, uow=database.uow(settings))
    assert summary.lifetime_earned_cents == earned == 9036 - 45
    assert summary.available_cents == running
    assert summary.lifetime_earned_cents == running + summary.in_payout_cents + summary.paid_out_cents


def test_the_wallet_says_the_hold_in_days_from_the_money_setting_in_force(database):
    from cozykart.services import money_settings

    settings = settings_for(database)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)

    def words() -> str:
        return wallet.wallet_summary(racer, uow=database.uow(settings)).hold_words

    assert words() == f"available after {settings.hold_days} days"
    for typed, expected in (
        ("3", "available after 3 days"),
        ("1", "available after 1 day"),
        ("0", "available at once"),
    ):
        money_settings.change_money_setting(
            actor_id=admin, name="hold_days", value=typed, reason="trying holds", uow=database.uow(settings)
        )
        assert words() == expected
