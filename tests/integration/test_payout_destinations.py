"""Where a racer wants to be paid: theirs to set, theirs and the admins' to read, copied onto each request."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cozykart.domain.errors import InvalidInput, PermissionDenied
from cozykart.services import ledger, money_admin, payouts
from cozykart.services.payout_destinations import (
    my_payout_destination,
    racer_payout_destination,
    set_payout_destination,
)
from tests.integration.ledger_support import make_admin, make_racers, settings_for

pytestmark = pytest.mark.usefixtures("reconciled")  # the ledger reconciles after each test

IBAN = "GB82 WEST 1234 5698 7654 32"


def _changes(database) -> list[tuple[int, str]]:
    with database.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text("SELECT racer_id, method FROM payout_destination_change ORDER BY id")
            )
        ]


def test_a_racer_sets_where_to_be_paid_and_each_change_is_kept(database):
    (racer,) = make_racers(database, 1)
    assert my_payout_destination(racer, uow=database.uow()) is None

    set_payout_destination(racer, "paypal", email="ana@example.com", uow=database.uow())
    set_payout_destination(
        racer, "paypal", email="ana@example.com", uow=database.uow()
    )  # the same: nothing new
    bank = set_payout_destination(racer, "bank", account_holder="Ana Lopez", iban=IBAN, uow=database.uow())

    assert my_payout_destination(racer, uow=database.uow()) == bank
    assert bank.words == f"bank transfer to Ana Lopez, IBAN {IBAN}"
    assert _changes(database) == [(racer, "paypal"), (racer, "bank")]


def test_a_bad_destination_is_refused_and_changes_nothing(database):
    (racer,) = make_racers(database, 1)
    set_payout_destination(racer, "paypal", email="ana@example.com", uow=database.uow())
    with pytest.raises(InvalidInput, match="check digits"):
        set_payout_destination(
            racer, "bank", account_holder="Ana", iban="GB82 WEST 1234 5698 7654 33", uow=database.uow()
        )
    with pytest.raises(InvalidInput, match="email"):
        set_payout_destination(racer, "gift_card", email="not an email", uow=database.uow())
    assert my_payout_destination(racer, uow=database.uow()).method == "paypal"
    assert len(_changes(database)) == 1


def test_only_admins_read_another_racers_destination(database):
    admin = make_admin(database)
    racer, other = make_racers(database, 2)
    set_payout_destination(racer, "paypal", email="ana@example.com", uow=database.uow())
    settings = settings_for(database)  # names the admin
    with pytest.raises(PermissionDenied):
        racer_payout_destination(other, racer, uow=database.uow(settings))
    assert racer_payout_destination(admin, racer, uow=database.uow(settings)).email == "ana@example.com"


def test_a_request_keeps_the_destination_in_force_when_it_was_made(database):
    settings = settings_for(database)
    admin = make_admin(database)
    (racer,) = make_racers(database, 1)
    ledger.adjust_wallet(admin, racer, 5000, reason="prize money", key="fund", uow=database.uow(settings))
    undirected = payouts.request_payout(racer, 2000, key="first", uow=database.uow(settings))
    set_payout_destination(racer, "paypal", email="ana@example.com", uow=database.uow())
    directed = payouts.request_payout(racer, 2000, key="second", uow=database.uow(settings))
    set_payout_destination(racer, "bank", account_holder="Ana Lopez", iban=IBAN, uow=database.uow())

    queue = money_admin.payout_queue(admin, uow=database.uow(settings))

    words = {line.payout_id: line.destination_words for line in queue.pending}
    assert words == {undirected: "no destination given", directed: "PayPal to ana@example.com"}
