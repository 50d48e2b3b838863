"""The provider corpus against the served production app: documented bodies, sent as each provider sends them.

Its own served app (production build, one port on 127.0.0.1, a fresh SQLite
file with no demo league) because the Discord interactions need a
DISCORD_PUBLIC_KEY whose private half the test holds, and the corpus runs its
own races (the demo app's live race must stay live for the other browser tests).
The admin is Mason, the documented Discord user; earnings are not held
(COZYKART_HOLD_DAYS=0) and the payout threshold is $1.00, so the Discord case
can cash out. The frontend builds into COZYKART_E2E_WEB_DIR + "-provider-corpus".
What a user sees is read as they would: `GET /api/pot`, `python -m cozykart
wallet DISCORD_ID --json` and `python -m cozykart reconcile`. The cases are in
tests/provider_corpus_cases.py (also run in-process on both databases by
tests/integration/test_provider_corpus.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from cozykart.db.engine import create_db_engine
from cozykart.db.uow import UnitOfWork
from cozykart.services import identity, wallet, webhooks
from cozykart.services.handlers import HANDLERS
from cozykart.settings import PROJECT_ROOT, load_settings
from tests.e2e.conftest import (
    KOFI_VERIFICATION_TOKEN,
    SHOPIFY_WEBHOOK_SECRET,
    STRIPE_WEBHOOK_SECRET,
    ServedApp,
    _app_env,
    _discord_env,
    _run_cli,
    serve_production,
)
from tests.provider_corpus import DISCORD_PUBLIC_KEY, MASON, Corpus, Secrets, register_people
from tests.provider_corpus_cases import CASES

pytestmark = pytest.mark.e2e
CLI_TIMEOUT_S = 120
HTTP_TIMEOUT_S = 30
INBOX_ROWS_READ_MAX = 200
SECRETS = Secrets(
    stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
    kofi_verification_token=KOFI_VERIFICATION_TOKEN,
    shopify_webhook_secret=SHOPIFY_WEBHOOK_SECRET,
)


class ServedReads:
    """The wallet and reconciliation through the operator's command line; the inbox as the admin console reads it."""

    def __init__(self, app: ServedApp) -> None:
        self.app = app
        self.settings = load_settings(app.env)
        self.engine = create_db_engine(app.db_url)

    def _cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cozykart", *args],
            cwd=PROJECT_ROOT,
            env=self.app.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )

    def wallet(self, discord_id: str) -> dict:
        result = self._cli("wallet", discord_id, "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    def reconcile(self) -> tuple[int, str]:
        result = self._cli("reconcile")
        return result.returncode, result.stdout + result.stderr

    def inbox(self) -> list:
        return list(
            webhooks.list_inbox(uow=UnitOfWork(self.engine, handlers=HANDLERS), limit=INBOX_ROWS_READ_MAX)
        )

    def grant_dj(self, admin_discord_id: str, discord_id: str) -> None:
        identity.set_role(
            self._racer_id(admin_discord_id),
            self._racer_id(discord_id),
            "dj",
            granted=True,
            uow=UnitOfWork(self.engine, handlers=HANDLERS, settings=self.settings),
        )

    def _racer_id(self, discord_id: str) -> int:
        return wallet.wallet_by_discord_id(
            discord_id, uow=UnitOfWork(self.engine, handlers=HANDLERS, settings=self.settings)
        ).racer_id


@pytest.fixture(scope="module")
def corpus_app(tmp_path_factory: pytest.TempPathFactory, fake_discord_server) -> Iterator[ServedApp]:
    workdir = tmp_path_factory.mktemp("provider-corpus-app")
    db_url = f"sqlite:///{workdir / 'cozykart.db'}"
    web_dir = (os.environ.get("COZYKART_E2E_WEB_DIR") or str(PROJECT_ROOT / ".web-test")) + "-provider-corpus"
    env = _app_env(
        db_url,
        workdir / "states",
        {
            **_discord_env(fake_discord_server),
            "REFLEX_WEB_WORKDIR": web_dir,
            "COZYKART_ADMIN_DISCORD_IDS": MASON,
            "DISCORD_PUBLIC_KEY": DISCORD_PUBLIC_KEY,
            "COZYKART_HOLD_DAYS": "0",
            "COZYKART_PAYOUT_MIN_CENTS": "100",
        },
    )
    _run_cli(env, "migrate")
    with serve_production(env, db_url, workdir) as app:
        yield app


@pytest.fixture(scope="module")
def corpus(corpus_app) -> Iterator[Corpus]:
    reads = ServedReads(corpus_app)
    with httpx.Client(base_url=corpus_app.base_url, timeout=HTTP_TIMEOUT_S) as client:
        corpus = Corpus(client, reads, SECRETS)
        register_people(corpus)
        try:
            yield corpus
        finally:
            reads.engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_provider_corpus_on_the_served_app(corpus, case):
    case(corpus)


def test_the_served_ledger_reconciles_after_the_whole_corpus(corpus):
    result = subprocess.run(
        [sys.executable, "-m", "cozykart", "reconcile"],
        cwd=PROJECT_ROOT,
        env=corpus.reads.app.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
