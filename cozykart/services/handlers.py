"""One table: each domain event -> its handlers inside the transaction, and after commit.

Every unit of work is made with this table (`services.default_uow`, `read_uow`,
the webhook writer, the tests), so what a service's events cause is written
here once and never depends on which entry point a process imported.

In the transaction, in this order: the ledger reacts to the league (a final
race's pool is split, an admin fix posts its correction), then the announcement
is recorded in the outbox (`services/announcements.py`), so it can name the
shares; a racer's private notices (`services/notices.py`) likewise. Both commit with the change that caused them, or not at all.

After commit: what must not happen unless the change is written, and must not
undo it when it fails; pushes to live viewers belong here. Every change of a
race, a lobby or a season tells the viewers which views to read again
(`services/live.py`, through the publisher the app set: the push lives in the
UI, which services never import). The Live Pot's push is not here: the API
triggers it once per webhook batch (`build_api(on_money_moved=...)`).
"""

from __future__ import annotations

from types import MappingProxyType

from cozykart.db.uow import EventHandlers, HandlerTable
from cozykart.domain.events import (
    LobbyCancelled,
    LobbyChanged,
    RaceEnded,
    RaceFinalized,
    RaceStarted,
    ResultReported,
    ResultsCorrected,
    SeasonActivated,
    SeasonCompleted,
)
from cozykart.domain.ledger import (
    PayoutPaid,
    PayoutRejected,
    PayoutReturned,
    SaleRecorded,
    TipRecorded,
    WalletInDebt,
)
from cozykart.domain.pot_goal import PotGoalReached
from cozykart.domain.song_requests import SongRequestDecided, TipReversed
from cozykart.services import announcements, ledger, live, notices, pot_goals, song_requests

HANDLERS: HandlerTable = MappingProxyType(
    {
        LobbyChanged: EventHandlers(after_commit=(live.race_changed,)),
        LobbyCancelled: EventHandlers(after_commit=(live.race_changed,)),
        RaceStarted: EventHandlers(
            in_transaction=(announcements.on_race_started,), after_commit=(live.race_changed,)
        ),
        RaceEnded: EventHandlers(after_commit=(live.race_changed,)),
        ResultReported: EventHandlers(after_commit=(live.race_changed,)),
        RaceFinalized: EventHandlers(
            in_transaction=(ledger.distribute_on_finalized, announcements.on_race_finalized),
            after_commit=(live.standings_changed,),
        ),
        ResultsCorrected: EventHandlers(
            in_transaction=(ledger.correct_on_results_corrected, announcements.on_results_corrected),
            after_commit=(live.standings_changed,),
        ),
        SeasonActivated: EventHandlers(after_commit=(live.standings_changed,)),
        SeasonCompleted: EventHandlers(
            in_transaction=(announcements.on_season_completed,), after_commit=(live.standings_changed,)
        ),
        SaleRecorded: EventHandlers(in_transaction=(pot_goals.on_sale_recorded,)),
        PotGoalReached: EventHandlers(in_transaction=(announcements.on_pot_goal_reached,)),
        TipRecorded: EventHandlers(
            in_transaction=(
                announcements.on_tip_recorded,
                song_requests.on_tip_recorded,
                notices.on_tip_recorded,
            ),
            after_commit=(live.requests_changed,),
        ),
        TipReversed: EventHandlers(
            in_transaction=(song_requests.on_tip_reversed,), after_commit=(live.requests_changed,)
        ),
        SongRequestDecided: EventHandlers(after_commit=(live.requests_changed,)),
        PayoutPaid: EventHandlers(in_transaction=(announcements.on_payout_paid, notices.on_payout_paid)),
        PayoutRejected: EventHandlers(in_transaction=(notices.on_payout_rejected,)),
        PayoutReturned: EventHandlers(in_transaction=(notices.on_payout_returned,)),
        WalletInDebt: EventHandlers(in_transaction=(notices.on_wallet_in_debt,)),
    }
)


def without_announcements(table: HandlerTable) -> HandlerTable:
    """`table` with the announcement handlers left out, everything else as it is."""
    return MappingProxyType(
        {
            event_type: entry._replace(
                in_transaction=tuple(
                    handler
                    for handler in entry.in_transaction
                    if handler.__module__ != announcements.__name__
                )
            )
            for event_type, entry in table.items()
        }
    )


# `python -m cozykart seed-demo`: demo data is never announced to a real channel.
DEMO_SEED_HANDLERS: HandlerTable = without_announcements(HANDLERS)
