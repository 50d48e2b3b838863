"""Every error a person can cause and act on, drawn whole.

Services raise subclasses of `CozyKartError` for bad input or a refused action;
their message is written for the racer, fan or admin who will read it. Entry
points show it (a toast, an ephemeral Discord reply, a 4xx body whose status is
the class's `http_status`: `cozykart.api._http.error_response_for`). A broken
invariant is an `assert`, never one of these, and is never caught.

Each error is declared in the domain module whose rules raise it (named in the
right-hand column; `errors` is this module). The bases below carry the HTTP
status; a subclass answers with its base's unless it says otherwise. Every
class in the tree is a `CozyKartError`, none is defined outside
`cozykart.domain`, and every one is drawn here (`tests/unit/test_error_tree.py`):

    CozyKartError  400                             errors     a refusal of no narrower kind
    ├── InvalidInput  400                          errors     a value is malformed or out of range
    │   ├── InvalidPosition                        league
    │   ├── InvalidResults                         league
    │   ├── InvalidLobbyName                       league
    │   ├── InvalidPointsTable                     league
    │   ├── InvalidSplitPolicy                     league
    │   ├── InvalidSeason                          league
    │   ├── ReasonRequired                         league
    │   ├── MalformedWebhook                       payments
    │   └── SettingChangeConflict                  errors     two admins changed one setting at once
    ├── PermissionDenied  403                      errors     the person acting may not do this
    │   ├── NotTheHost                             league
    │   ├── NotAMember                             league
    │   └── NotLoggedIn  401                       identity
    ├── NotFound  404                              errors     the thing named does not exist
    │   ├── RaceNotFound                           league
    │   ├── SeasonNotFound                         league
    │   ├── RacerNotFound                          league
    │   ├── NotARacerYet                           league     a Discord user never used Cozy-Kart
    │   ├── PaymentNotFound                        ledger
    │   └── CheckoutNotSeen                        payments
    ├── Conflict  409                              errors     the state of things refuses it now
    │   ├── LobbyFull                              league
    │   ├── AlreadyInLobby                         league
    │   ├── TooManyOpenLobbies                     league
    │   ├── LobbyNotOpen                           league
    │   ├── LobbyTooSmall                          league
    │   ├── NoOpenLobby                            league
    │   ├── WhichLobby                             league
    │   ├── NotInLobby                             league
    │   ├── NoLobbyToStart                         league
    │   ├── NoLiveRace                             league
    │   ├── NoRaceToReport                         league
    │   ├── RaceAlreadyLive                        league
    │   ├── RaceNotLive                            league
    │   ├── RaceNotStarted                         league
    │   ├── RaceStillLive                          league
    │   ├── RaceAlreadyFinal                       league
    │   ├── RaceNotFinal                           league
    │   ├── RaceCancelled                          league
    │   ├── SeasonAlreadyActive                    league
    │   ├── SeasonNotActive                        league
    │   ├── SeasonClosed                           league
    │   ├── SeasonNameTaken                        league
    │   ├── SeasonHasUnfinishedRaces               league
    │   ├── ReportsMissing                         league     racers who never reported would be DNF
    │   ├── NothingToFix                           league
    │   ├── LedgerError                            ledger     a money movement was refused
    │   │   ├── InsufficientFunds                  ledger
    │   │   ├── BelowPayoutThreshold               ledger
    │   │   ├── DebtBlocksPayout                   ledger
    │   │   ├── PayoutNotPending                   ledger
    │   │   └── RefundTooLarge                     ledger
    │   ├── NotReplayable                          payments   only failed or waiting events replay
    │   ├── OutboxNotResendable                    discord_messages
    │   └── AlreadyHandled                         discord_messages
    ├── TooManyRequests  429                       errors     wait, then try again
    │   └── TooManyLoginAttempts                   identity
    ├── Unavailable  503                           errors     not set up here, or an outside system failed
    │   ├── LoginUnavailable                       identity
    │   ├── TipsUnavailable                        payments
    │   ├── CheckoutFailed                         payments
    │   ├── StripeConnectFailed                    payments
    │   │   └── StripeTransferRefused              payments
    │   ├── NoDjOnDuty                             payments
    │   └── DiscordNotConfigured                   discord_messages
    ├── LoginFailed                                identity
    ├── WebhookRejected                            payments
    ├── UnknownCommand                             discord_messages
    ├── DevLoginInProduction                       identity   refuses to start (no HTTP answer)
    └── DemoTipsInProduction                       payments   refuses to start (no HTTP answer)
"""

from __future__ import annotations

from typing import ClassVar


class CozyKartError(Exception):
    """Bad input or a refused action; `str(error)` is the message to show."""

    http_status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CozyKartError):
    """A value is malformed or out of range."""

    http_status = 400


class PermissionDenied(CozyKartError):
    """The person acting may not do this."""

    http_status = 403


class NotFound(CozyKartError):
    """The thing named does not exist."""

    http_status = 404


class Conflict(CozyKartError):
    """The state of a race, season, payout or payment refuses the action now."""

    http_status = 409


class TooManyRequests(CozyKartError):
    """Too many attempts; `retry_after_s` says when to try again."""

    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(CozyKartError):
    """Not set up on this deployment, or an outside system it needs did not answer."""

    http_status = 503


class SettingChangeConflict(InvalidInput):
    """Another admin changed the same setting at the same instant."""
