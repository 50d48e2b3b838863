"""A racer is told privately when their payout is paid or rejected, or a refund puts them in debt.

The notice is written in the transaction of the change; the same words go to the
racer's Discord DMs through the outbox's `direct` channel, sent by the bot to the
local fake Discord (tests/fake_discord.py: Discord's documented Create DM and
Create Message endpoints), with Discord's 429, 403 and 5xx answers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cozykart.db.tables import Racer
from cozykart.domain.discord_messages import OutboxChannel, OutboxStatus
from cozykart.domain.errors import NotFound
from cozykart.domain.notices import NoticeKind
from cozykart.integrations.discord_dm import BotMessenger
from cozykart.services import ledger, notices, outbox, payouts
from cozykart.services.reads.reconcile import reconcile
from tests.fake_discord import FakeDiscord
from tests.integration.discord_support import FAST_RETRIES, Clock
from tests.integration.ledger_support import (
    T0,
    finalize_race,
    make_admin,
    make_race,
    make_racers,
    settings_for,
)

pytestmark = pytest.mark.usefixtures("reconciled")  # the ledger reconciles after each test

LATER = T0 + timedelta(days=60)  # past every hold


def _funded(database, cents: int = 5000):
    settings = settings_for(database)
    admin = make_admin(database)
    racer, other = make_racers(database, 2)
    ledger.adjust_wallet(admin, racer, cents, reason="prize money", key="fund", uow=database.uow(settings))
    return settings, admin, racer, other


def _dms(database) -> list[outbox.OutboxRow]:
    """The direct messages queued, oldest first (the outbox's own view of its rows)."""
    rows = outbox.list_outbox(uow=database.uow(), limit=outbox.OUTBOX_LIST_LENGTH_MAX)
    return sorted((row for row in rows if row.channel == OutboxChannel.DIRECT), key=lambda row: row.outbox_id)


def test_a_rejected_payout_tells_its_racer_why_on_the_site_and_by_dm_and_no_one_else(database):
    settings, admin, racer, other = _funded(database)
    payout_id = payouts.request_payout(racer, 3000, key="ask", uow=database.uow(settings))
    payouts.reject_payout(admin, payout_id, reason="PayPal *email* bounced", uow=database.uow(settings))

    assert notices.unread_count(racer, uow=database.uow(settings)) == 1
    assert notices.unread_count(other, uow=database.uow(settings)) == 0
    assert notices.open_notices(other, uow=database.uow(settings)) == ()
    (line,) = notices.open_notices(racer, uow=database.uow(settings))
    assert (line.kind, line.title, line.unseen) == (NoticeKind.PAYOUT_REJECTED, "Payout rejected", True)
    assert line.body == (
        f"Your payout #{payout_id} of $30.00 was rejected: PayPal *email* bounced. "
        "The $30.00 is back in your wallet; you can ask again."
    )
    # seen once opened: the bell clears, the notice stays
    assert notices.unread_count(racer, uow=database.uow(settings)) == 0
    (again,) = notices.open_notices(racer, uow=database.uow(settings))
    assert again.unseen is False

    (dm,) = _dms(database)
    message = dm.message
    with database.uow() as uow:
        discord_id = uow.session.get(Racer, racer).discord_id
    assert message["recipient_id"] == discord_id
    assert message["content"].startswith("**Payout rejected**\n")
    assert r"PayPal \*email\* bounced" in message["content"]  # the admin's words cannot format the DM
    assert message["allowed_mentions"] == {"parse": []}
    assert reconcile(uow=database.uow()).clean


def test_a_paid_payout_and_a_direct_payout_are_each_told_once(database):
    settings, admin, racer, _other = _funded(database)
    payout_id = payouts.request_payout(racer, 2000, key="ask", uow=database.uow(settings))
    payouts.pay_payout(admin, payout_id, method="paypal", reference="PP-1", uow=database.uow(settings))
    payouts.pay_payout(admin, payout_id, method="paypal", reference="PP-1", uow=database.uow(settings))
    payouts.direct_payout(
        admin, racer, 1000, method="gift_card", reference="GC-9", key="direct", uow=database.uow(settings)
    )
    lines = notices.open_notices(racer, uow=database.uow(settings))
    assert [line.kind for line in lines] == [NoticeKind.PAYOUT_PAID, NoticeKind.PAYOUT_PAID]
    assert lines[1].body == f"Your payout #{payout_id} of $20.00 was paid by PayPal."
    assert lines[0].body.endswith("of $10.00 was paid by gift card.")
    assert len(_dms(database)) == 2
    assert reconcile(uow=database.uow()).clean


def test_a_refund_after_a_payout_tells_the_racer_what_they_owe(database):
    settings = settings_for(database)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    race_id = make_race(database, [racer])
    ledger.record_sale(
        key="big",
        gross_cents=20000,
        sold_at=T0 + timedelta(seconds=1),
        item="Bundle",
        uow=database.uow(settings),
    )
    finalize_race(database, race_id, {racer: 1}, at=T0 + timedelta(hours=1))
    payouts.direct_payout(
        admin, racer, 4000, method="paypal", reference="pp", key="d", uow=database.uow(settings), now=LATER
    )
    ledger.refund_payment(
        payment_key="big", refund_key="rf", refunded_at=T0 + timedelta(days=1), uow=database.uow(settings)
    )

    newest = notices.open_notices(racer, uow=database.uow(settings))[0]
    assert newest.kind == NoticeKind.WALLET_IN_DEBT
    assert newest.body == (
        "A refund took back more than your wallet held: you owe $40.00. "
        "Your next earnings pay it back before anything else."
    )
    assert reconcile(uow=database.uow()).clean


def test_a_refund_the_wallet_covers_tells_nothing(database):
    settings = settings_for(database)
    (racer,) = make_racers(database, 1)
    race_id = make_race(database, [racer])
    ledger.record_sale(
        key="s", gross_cents=5000, sold_at=T0 + timedelta(seconds=1), item="Cap", uow=database.uow(settings)
    )
    finalize_race(database, race_id, {racer: 1}, at=T0 + timedelta(hours=1))
    ledger.refund_payment(
        payment_key="s", refund_key="rf", refunded_at=T0 + timedelta(days=1), uow=database.uow(settings)
    )
    assert notices.open_notices(racer, uow=database.uow(settings)) == ()


def test_a_racer_without_a_discord_account_gets_the_notice_but_no_dm(database):
    settings, admin, racer, _other = _funded(database)
    with database.uow() as uow:
        uow.session.get(Racer, racer).discord_id = "demo:racer"
        uow.commit()
    payout_id = payouts.request_payout(racer, 3000, key="ask", uow=database.uow(settings))
    payouts.reject_payout(admin, payout_id, reason="not this time", uow=database.uow(settings))
    assert len(notices.open_notices(racer, uow=database.uow(settings))) == 1
    assert _dms(database) == []


def test_opening_notices_needs_a_real_racer(database):
    settings = settings_for(database)
    with pytest.raises(NotFound):
        notices.open_notices(424242, uow=database.uow(settings))


# --- sending the DMs ------------------------------------------------------------------


def _messenger(fake: FakeDiscord, token: str | None = None) -> BotMessenger:
    return BotMessenger(api_base=fake.base_url, bot_token=token or fake.bot_token, timeout_s=2.0)


def _send(database, fake: FakeDiscord, clock: Clock, token: str | None = None):
    return outbox.deliver_due(
        _messenger(fake, token),
        sender_id="dm-test",
        uow=database.uow(),
        clock=clock,
        policy=FAST_RETRIES,
        channel=OutboxChannel.DIRECT,
    )


def _rejected(database, settings, admin, racer, key: str, reason: str) -> None:
    payout_id = payouts.request_payout(racer, 2000, key=key, uow=database.uow(settings))
    payouts.reject_payout(admin, payout_id, reason=reason, uow=database.uow(settings))


def test_the_bot_sends_each_dm_once_in_order_and_waits_out_a_429(database, fake_discord):
    settings, admin, racer, _other = _funded(database)
    _rejected(database, settings, admin, racer, "a", "first")
    _rejected(database, settings, admin, racer, "b", "second")
    clock = Clock()
    fake_discord.dm_failures.append(429)

    waited = _send(database, fake_discord, clock)
    assert (waited.sent, waited.retried) == (0, 1) and fake_discord.direct_messages == []
    assert _send(database, fake_discord, clock).sent == 0  # not due before Discord's retry_after
    clock.advance(1.0)
    assert _send(database, fake_discord, clock).sent == 2
    assert _send(database, fake_discord, clock).sent == 0
    with database.uow() as uow:
        discord_id = uow.session.get(Racer, racer).discord_id
    sent = [
        (recipient, body["content"].split("rejected\\: ")[1][:6])
        for recipient, body in fake_discord.direct_messages
    ]
    assert sent == [(discord_id, "first."), (discord_id, "second")]
    assert all("recipient_id" not in body for _, body in fake_discord.direct_messages)
    assert {row.status for row in _dms(database)} == {OutboxStatus.SENT}


def test_closed_dms_are_parked_at_once_and_never_hold_back_announcements(database, fake_discord):
    settings, admin, racer, _other = _funded(database)
    _rejected(database, settings, admin, racer, "a", "closed")
    _rejected(database, settings, admin, racer, "b", "open")
    clock = Clock()
    fake_discord.dm_failures.append(403)

    first = _send(database, fake_discord, clock)
    assert (first.parked, first.sent) == (1, 1)  # parked without retries; the next one goes
    parked, sent = _dms(database)
    assert (parked.status, parked.attempts) == (OutboxStatus.FAILED, 1)
    assert "403" in parked.last_error and "Cannot send messages to this user" in parked.last_error
    assert sent.status == OutboxStatus.SENT


def test_a_5xx_is_retried_and_a_wrong_token_never_leaks(database, fake_discord):
    settings, admin, racer, _other = _funded(database)
    _rejected(database, settings, admin, racer, "a", "retry me")
    clock = Clock()
    fake_discord.dm_failures.append(502)
    assert _send(database, fake_discord, clock).retried == 1
    clock.advance(FAST_RETRIES.backoff_base_s)
    assert _send(database, fake_discord, clock).sent == 1

    _rejected(database, settings, admin, racer, "b", "bad token")
    refused = _send(database, fake_discord, clock, token="not-the-bot-token")
    assert refused.parked == 1
    newest = _dms(database)[-1]
    assert "401" in newest.last_error and "not-the-bot-token" not in newest.last_error
    assert "not-the-bot-token" not in repr(_messenger(fake_discord, "not-the-bot-token"))
