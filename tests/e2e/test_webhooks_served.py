"""Webhooks against the real Reflex server: `python -m cozykart trigger` posts signed
events the way the providers do, and the ledger moves exactly once."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.domain.ledger import pool_code
from cozykart.services import wallet
from cozykart.services.handlers import HANDLERS
from cozykart.services.reads import reconcile
from cozykart.services.reads.watch import watch_snapshot
from cozykart.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e
CLI_TIMEOUT_S = 60


def _trigger(served_app, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cozykart", "trigger", *args, "--url", served_app.base_url],
        cwd=PROJECT_ROOT,
        env=served_app.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )


def _uow(served_app) -> UnitOfWork:
    return UnitOfWork(create_db_engine(served_app.db_url), handlers=HANDLERS)


def _pool_cents(served_app, race_id: int) -> int:
    rows = wallet.balances(uow=_uow(served_app))
    return next((row.balance_cents for row in rows if row.code == pool_code(race_id)), 0)


def test_a_triggered_sale_feeds_the_live_race_pool_once_and_its_refund_takes_it_back(served_app):
    race_id = watch_snapshot(uow=_uow(served_app)).race.race_id
    before = _pool_cents(served_app, race_id)

    sale = _trigger(served_app, "sale", "--amount", "30.00")
    assert sale.returncode == 0, sale.stdout + sale.stderr
    assert '"status":"applied"' in sale.stdout
    payment = sale.stdout.split("payment: ")[1].strip()
    assert _pool_cents(served_app, race_id) == before + 600

    refund = _trigger(served_app, "refund", "--payment", payment, "--amount", "30.00")
    assert refund.returncode == 0, refund.stdout + refund.stderr
    assert _pool_cents(served_app, race_id) == before
    assert reconcile.reconcile(uow=_uow(served_app)).clean


@pytest.mark.parametrize("provider", ["kofi", "shopify"])
def test_every_provider_is_accepted_by_the_served_app(served_app, provider):
    result = _trigger(served_app, "sale", "--provider", provider, "--amount", "12.50")
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status":"applied"' in result.stdout


def test_a_forged_webhook_gets_400_from_the_served_app(served_app):
    body = json.dumps({"id": "evt_forged", "type": "checkout.session.completed"})
    response = httpx.post(
        served_app.url("/api/webhooks/stripe"),
        content=body,
        headers={"Stripe-Signature": "t=1,v1=deadbeef"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "signature does not match"}
