"""The provider corpus through the real API over HTTP, in-process, on SQLite and PostgreSQL.

The same documented bodies and cases as tests/e2e/test_provider_corpus.py (which
runs them against the served production app): tests/provider_corpus_cases.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from cozykart.api import build_api
from cozykart.services import identity, wallet, webhooks
from cozykart.services.reads import reconcile
from cozykart.settings import Settings
from tests.provider_corpus import DISCORD_PUBLIC_KEY, MASON, Corpus, Secrets, register_people
from tests.provider_corpus_cases import CASES

SECRETS = Secrets(
    stripe_webhook_secret="whsec_corpus",
    kofi_verification_token="kofi-corpus-token",
    shopify_webhook_secret="shopify-corpus-secret",
)
INBOX_ROWS_READ_MAX = 200
PAYOUT_MIN_CENTS = 100


class InProcessReads:
    """The wallet, reconciliation and inbox as the CLI and the admin console read them (the same services)."""

    def __init__(self, database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    def wallet(self, discord_id: str) -> dict:
        return wallet.wallet_by_discord_id(discord_id, uow=self.database.uow(self.settings)).as_json()

    def reconcile(self) -> tuple[int, str]:
        report = reconcile.reconcile(uow=self.database.uow())
        return (0 if report.clean else 1), str(report)

    def inbox(self) -> list:
        return list(webhooks.list_inbox(uow=self.database.uow(), limit=INBOX_ROWS_READ_MAX))

    def grant_dj(self, admin_discord_id: str, discord_id: str) -> None:
        admin_id = self.wallet_racer_id(admin_discord_id)
        identity.set_role(
            admin_id,
            self.wallet_racer_id(discord_id),
            "dj",
            granted=True,
            uow=self.database.uow(self.settings),
        )

    def wallet_racer_id(self, discord_id: str) -> int:
        return wallet.wallet_by_discord_id(discord_id, uow=self.database.uow(self.settings)).racer_id


@pytest.fixture
def corpus(database, monkeypatch) -> Iterator[Corpus]:
    # The ledger's RaceFinalized handler reads the money settings from the environment, as in production.
    monkeypatch.setenv("COZYKART_HOLD_DAYS", "0")
    monkeypatch.setenv("COZYKART_PAYOUT_MIN_CENTS", str(PAYOUT_MIN_CENTS))
    settings = Settings(
        db_url=database.url,
        admin_discord_ids=frozenset({MASON}),
        stripe_webhook_secret=SECRETS.stripe_webhook_secret,
        kofi_verification_token=SECRETS.kofi_verification_token,
        shopify_webhook_secret=SECRETS.shopify_webhook_secret,
        discord_public_key=DISCORD_PUBLIC_KEY,
        hold_days=0,
        payout_min_cents=PAYOUT_MIN_CENTS,
    )
    with TestClient(build_api(settings), base_url="http://127.0.0.1") as client:
        corpus = Corpus(client, InProcessReads(database, settings), SECRETS)
        register_people(corpus)
        yield corpus


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_provider_corpus(corpus, case):
    case(corpus)
