"""The corpus's cases: each sends documented provider bodies and checks what a user would see.

Run by tests/e2e/test_provider_corpus.py (the served production app, SQLite; the
wallet and reconcile through `python -m cozykart`) and by
tests/integration/test_provider_corpus.py (the API over HTTP in-process, on
SQLite and PostgreSQL). Each case runs its own race from Discord (Mason hosts,
Ian, Nelly and Shy Guy race; commission 20%, even split, no hold), ends it
with final results, and leaves the ledger reconciled. Amounts: a Stripe
checkout of $30.00 gives a $6.00 pool; Ko-fi's shop order of $27.95 gives
$5.59; Shopify's order of $404.95 gives $80.99, and its refund of $85.00 takes
back $17.00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cozykart.domain.money import format_cents
from tests.provider_corpus import (
    IAN,
    MASON,
    NELLY,
    SHYGUY,
    SLASH_COMMAND_ANSWERED,
    Corpus,
    assert_split_evenly,
    earned_cents,
    finish_race,
    free_shopify_order,
    reply_text,
    shares_delta,
    shopify_body,
    start_race,
)

CHECKOUT_POOL_CENTS = 600  # 20% of the $30.00 checkout
KOFI_SHOP_ORDER_POOL_CENTS = 559  # 20% of $27.95
KOFI_DONATION_TO_DJ_CENTS = 285  # $3.00 less the 5% tip fee
STRIPE_TIP_TO_DJ_CENTS = 475  # $5.00 less the 5% tip fee
SHOPIFY_ORDER_POOL_CENTS = 8099  # 20% of $404.95
SHOPIFY_REFUND_POOL_CENTS = 1700  # $85.00 of $404.95 refunded: that share of $80.99
NOTHING_PAID = "nothing was paid"
EPHEMERAL = 1 << 6
CHECKOUT_OPENED_BEFORE_START = timedelta(minutes=2)


def _now() -> datetime:
    return datetime.now(UTC)


def _accepted(response, status: str | None = None) -> dict:
    assert response.status_code == 200, (response.status_code, response.text)
    answer = response.json()
    if status is not None:
        assert answer["status"] == status, answer
    return answer


def _assert_pot(corpus: Corpus, expected_cents: int) -> None:
    pot_cents = corpus.pot_cents()
    assert pot_cents == expected_cents, f"pot {pot_cents} cents, not {expected_cents}"


def _assert_no_change(before: dict, after: dict) -> None:
    deltas = shares_delta(before, after)
    assert deltas == {IAN: 0, NELLY: 0, SHYGUY: 0}, deltas


def stripe_sale_feeds_the_pot_and_its_refund_takes_the_shares_back(corpus: Corpus) -> None:
    before = corpus.wallets()
    start_race(corpus, "Stripe Circuit")

    _accepted(corpus.stripe("checkout.session.completed.json", created=_now()), "applied")
    _assert_pot(corpus, CHECKOUT_POOL_CENTS)

    finish_race(corpus)
    paid = corpus.wallets()
    assert_split_evenly(shares_delta(before, paid), CHECKOUT_POOL_CENTS)

    _accepted(corpus.stripe("charge.refunded.json", created=_now()), "applied")
    _assert_no_change(before, corpus.wallets())
    corpus.assert_reconciles()


def stripe_sale_time_is_when_it_was_paid_not_when_checkout_opened(corpus: Corpus) -> None:
    """Issue 15 item 1: the checkout opened before the race started and was paid while it was live."""
    race = start_race(corpus, "Paid Later Park")

    _accepted(
        corpus.stripe(
            "checkout.session.completed.paid-later.json",
            created=_now(),
            object_created=race.started_at - CHECKOUT_OPENED_BEFORE_START,
        ),
        "applied",
    )
    paid_during_the_race = corpus.pot_cents()

    finish_race(corpus)
    corpus.assert_reconciles()
    assert paid_during_the_race == CHECKOUT_POOL_CENTS, (
        f"pot {paid_during_the_race} cents, not {CHECKOUT_POOL_CENTS}"
    )


def stripe_delayed_payment_feeds_the_pot_only_once_it_succeeds(corpus: Corpus) -> None:
    """Issue 15 item 2: a bank debit completes the checkout unpaid; async_payment_succeeded is the sale."""
    start_race(corpus, "Delayed Debit Dam")
    opened = _now()

    _accepted(corpus.stripe("checkout.session.completed.delayed.json", created=opened))
    after_completed = corpus.pot_cents()
    _accepted(
        corpus.stripe("checkout.session.async_payment_failed.json", created=_now(), object_created=opened)
    )
    after_failed = corpus.pot_cents()
    _accepted(
        corpus.stripe("checkout.session.async_payment_succeeded.json", created=_now(), object_created=opened)
    )
    after_succeeded = corpus.pot_cents()

    finish_race(corpus)
    corpus.assert_reconciles()
    pots = (after_completed, after_failed, after_succeeded)
    assert pots == (0, 0, CHECKOUT_POOL_CENTS), f"pot after completed, failed, succeeded: {pots}"


def free_orders_move_nothing_and_say_nothing_was_paid(corpus: Corpus) -> None:
    """Issue 15 item 3: a 100%-off Stripe checkout and a $0 Shopify order are ignored, never failed or retried."""
    start_race(corpus, "Free Lap Lane")

    stripe_answer = _accepted(corpus.stripe("checkout.session.completed.free.json", created=_now()))
    webhook_id = "corpus-free-order-" + _now().strftime("%H%M%S%f")
    shopify_answer = _accepted(
        corpus.shopify("orders/paid", free_shopify_order(), at=_now(), webhook_id=webhook_id)
    )
    pot_cents = corpus.pot_cents()
    finish_race(corpus)
    corpus.assert_reconciles()

    rows = [corpus.inbox_row("evt_1Pgc76B7WZ01zgkWwyRHS66y"), corpus.inbox_row(webhook_id)]
    assert pot_cents == 0, f"pot {pot_cents} cents"
    assert [stripe_answer["status"], shopify_answer["status"]] == ["ignored", "ignored"], (
        rows,
        stripe_answer,
        shopify_answer,
    )
    assert all(NOTHING_PAID in (row.last_error or "") for row in rows), [row.last_error for row in rows]
    assert all(row.next_attempt_at is None for row in rows), rows


def kofi_shop_order_feeds_the_pot_and_a_donation_tips_the_dj(corpus: Corpus) -> None:
    before = corpus.wallets()
    start_race(corpus, "Ko-fi Coast")

    _accepted(corpus.kofi("shop-order.json", at=_now()), "applied")
    _assert_pot(corpus, KOFI_SHOP_ORDER_POOL_CENTS)
    _accepted(corpus.kofi("donation.json", at=_now()), "applied")
    _assert_pot(corpus, KOFI_SHOP_ORDER_POOL_CENTS)  # a tip is the DJ's, not the racers' pool

    finish_race(corpus)
    deltas = shares_delta(before, corpus.wallets())
    deltas[IAN] -= KOFI_DONATION_TO_DJ_CENTS  # Ian is the DJ too
    assert_split_evenly(deltas, KOFI_SHOP_ORDER_POOL_CENTS)
    corpus.assert_reconciles()


def stripe_tip_credits_the_dj_it_names(corpus: Corpus) -> None:
    before = corpus.wallets()

    _accepted(corpus.stripe("checkout.session.completed.tip.json", created=_now()), "applied")

    deltas = shares_delta(before, corpus.wallets())
    assert deltas == {IAN: STRIPE_TIP_TO_DJ_CENTS, NELLY: 0, SHYGUY: 0}, deltas
    corpus.assert_reconciles()


def shopify_order_feeds_the_pot_and_its_refund_takes_back_its_share(corpus: Corpus) -> None:
    """Shopify's own refunds/create sample: two refund transactions ($75.00 + $10.00) with `currency: null`."""
    before = corpus.wallets()
    start_race(corpus, "Shopify Speedway")

    _accepted(corpus.shopify("orders/paid", shopify_body("orders-paid.json"), at=_now()), "applied")
    _assert_pot(corpus, SHOPIFY_ORDER_POOL_CENTS)
    refund = corpus.shopify("refunds/create", shopify_body("refunds-create.json"), at=_now())
    pot_after_refund = corpus.pot_cents()

    finish_race(corpus)
    corpus.assert_reconciles()
    assert (refund.status_code, refund.json().get("status")) == (200, "applied"), refund.text
    assert pot_after_refund == SHOPIFY_ORDER_POOL_CENTS - SHOPIFY_REFUND_POOL_CENTS, (
        f"pot {pot_after_refund} cents"
    )
    assert_split_evenly(
        shares_delta(before, corpus.wallets()), SHOPIFY_ORDER_POOL_CENTS - SHOPIFY_REFUND_POOL_CENTS
    )


def stripe_refund_and_dispute_without_payment_intent_meet_on_the_charge(corpus: Corpus) -> None:
    """Issue 15 item 5: Stripe's documented charge and dispute carry no payment_intent; the charge id names the payment."""
    before = corpus.wallets()

    refund = _accepted(corpus.stripe("charge.refunded.no-payment-intent.json", created=_now()))
    dispute = _accepted(corpus.stripe("charge.dispute.created.json", created=_now()))

    corpus.assert_reconciles()
    _assert_no_change(before, corpus.wallets())
    keys = [
        corpus.inbox_row(event_id).payment_key
        for event_id in ("evt_1Pgc76B7WZ01zgkWwyRHS88y", "evt_1Pgc76B7WZ01zgkWwyRHS99y")
    ]
    assert keys[0] == keys[1] and "ch_1PgafuB7WZ01zgkWXYmPNZs8" in keys[0], (keys, refund, dispute)


def discord_members_and_dm_users_see_their_wallet_cash_out_and_get_paid(corpus: Corpus) -> None:
    """Guild `member` and DM `user` interactions, legacy and current shapes, move money through the same services."""
    before = corpus.wallets()
    start_race(corpus, "Discord Drift")
    _accepted(corpus.shopify("orders/paid", _discord_order(), at=_now()), "applied")
    pool_cents = corpus.pot_cents()
    finish_race(corpus)
    assert pool_cents == DISCORD_ORDER_POOL_CENTS, f"pot {pool_cents} cents"
    assert_split_evenly(shares_delta(before, corpus.wallets()), pool_cents)

    for discord_id in (IAN, NELLY, SHYGUY):
        reply = corpus.slash(discord_id, "wallet")
        wallet = corpus.reads.wallet(discord_id)
        if reply["type"] == SLASH_COMMAND_ANSWERED:  # answered at once (a slow machine may defer it)
            assert reply["data"]["flags"] & EPHEMERAL, reply  # only the racer sees it
            assert format_cents(wallet["available_cents"]) in reply_text(reply), (reply_text(reply), wallet)

    nelly_before = corpus.reads.wallet(NELLY)
    corpus.slash(NELLY, "cashout", {"amount": "1.00"})  # from a DM, legacy user
    nelly_after = corpus.reads.wallet(NELLY)
    assert nelly_after["in_payout_cents"] - nelly_before["in_payout_cents"] == 100, nelly_after
    assert earned_cents(nelly_before) - earned_cents(nelly_after) == 100, (nelly_before, nelly_after)

    shyguy_before = corpus.reads.wallet(SHYGUY)
    corpus.slash(
        MASON,
        "payout",
        {"user": SHYGUY, "amount": "1.00"},
        resolved_users={
            SHYGUY: {
                "id": SHYGUY,
                "username": "shyguy",
                "global_name": "Shy Guy",
                "discriminator": "0",
                "avatar": None,
            }
        },
    )
    shyguy_after = corpus.reads.wallet(SHYGUY)
    assert shyguy_after["paid_out_cents"] - shyguy_before["paid_out_cents"] == 100, shyguy_after
    assert earned_cents(shyguy_before) - earned_cents(shyguy_after) == 100, (shyguy_before, shyguy_after)
    corpus.assert_reconciles()


DISCORD_ORDER_POOL_CENTS = SHOPIFY_ORDER_POOL_CENTS


def _discord_order() -> dict:
    """orders-paid.json as a second order (a new id), so this case has money of its own."""
    order = shopify_body("orders-paid.json")
    order["id"] = 820982911946154600
    order["admin_graphql_api_id"] = "gid://shopify/Order/820982911946154600"
    order["name"], order["order_number"] = "#10000", 1235
    return order


CASES = (
    stripe_sale_feeds_the_pot_and_its_refund_takes_the_shares_back,
    stripe_sale_time_is_when_it_was_paid_not_when_checkout_opened,
    stripe_delayed_payment_feeds_the_pot_only_once_it_succeeds,
    free_orders_move_nothing_and_say_nothing_was_paid,
    kofi_shop_order_feeds_the_pot_and_a_donation_tips_the_dj,
    stripe_tip_credits_the_dj_it_names,
    shopify_order_feeds_the_pot_and_its_refund_takes_back_its_share,
    stripe_refund_and_dispute_without_payment_intent_meet_on_the_charge,
    discord_members_and_dm_users_see_their_wallet_cash_out_and_get_paid,
)
