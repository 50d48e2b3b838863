"""What a service's events cause does not depend on which entry point a process imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlmodel import select

from cozykart.db.ledger_tables import LedgerTransaction
from cozykart.services import league, ledger, outbox
from cozykart.settings import PROJECT_ROOT
from tests.integration.league_support import ADMIN_DISCORD_ID, make_league

SUBPROCESS_TIMEOUT_S = 120
ENTRY_POINT_MODULES = (
    "cozykart.api",
    "cozykart.ui",
    "cozykart.cli",
    "cozykart.cli_discord",
    "cozykart.cozykart",
)

# A process that imports only the services finalizes the race, then lists what it imported.
FINALIZE_ONLY_THROUGH_SERVICES = """
import json, sys
from datetime import datetime
from cozykart.services import default_uow, league
from cozykart.settings import Settings

db_url, admin_discord_id, race_id, host_id, order, now = json.loads(sys.argv[1])
settings = Settings(db_url=db_url, admin_discord_ids=frozenset({admin_discord_id}))
league.set_results(race_id, {racer_id: place for place, racer_id in enumerate(order, start=1)},
                   actor_id=host_id, uow=default_uow(settings), now=datetime.fromisoformat(now))
print(json.dumps(sorted(name for name in sys.modules if name.startswith("cozykart"))))
"""


def test_a_race_finalized_by_a_process_that_imported_only_the_services_is_distributed_and_announced(database):
    lg = make_league(database, racer_count=2)
    race_id = lg.live_race(lg.racer_ids, "Entry Point Cup")
    ledger.record_sale(
        key="entry-point-sale",
        gross_cents=4000,
        sold_at=lg.clock(),
        item="Cozy tee",
        uow=database.uow(lg.settings),
    )
    league.end_race(race_id, **lg.kw(lg.host_id))
    arguments = [database.url, ADMIN_DISCORD_ID, race_id, lg.host_id, lg.racer_ids, lg.clock().isoformat()]

    finished = subprocess.run(
        [sys.executable, "-c", FINALIZE_ONLY_THROUGH_SERVICES, json.dumps(arguments)],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )

    assert finished.returncode == 0, finished.stderr
    imported = json.loads(finished.stdout.splitlines()[-1])
    assert [name for name in imported if name.startswith(ENTRY_POINT_MODULES)] == []
    with database.uow() as uow:
        distribution = uow.session.exec(
            select(LedgerTransaction).where(LedgerTransaction.key == ledger.distribution_key(race_id))
        ).first()
    assert distribution is not None, "the ledger split the race's pool"
    (results,) = [row for row in outbox.list_outbox(uow=database.uow()) if row.kind == "race_results"]
    money_embed = results.message["embeds"][1]
    assert money_embed["title"] != "💰 Live Pot: nothing this time", "the announcement names the shares"
