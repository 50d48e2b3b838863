"""Slash commands: one Discord interaction -> one service call -> one reply.

`answer(interaction, settings)` is synchronous (the route runs it in a thread).
The Discord user becomes a racer on first use; after that every command calls
the same services as the web pages, which check permissions themselves. A
refused action (`CozyKartError`) is answered with its message, ephemerally;
every text a person chose (names, the reason, an echoed option) is escaped for
Discord markdown (`escape_markdown`, shown as `_md`);
`/wallet`, `/cashout`, `/cashout-cancel`, `/payout` and `/requests` are always ephemeral. A replayed interaction gets `already_handled()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from cozykart.domain import discord_messages as say
from cozykart.domain.discord_markdown import escape_markdown as _md
from cozykart.domain.discord_messages import AlreadyHandled, UnknownCommand
from cozykart.domain.errors import CozyKartError, InvalidInput
from cozykart.domain.ledger import PAYOUT_METHODS, require_payout_method
from cozykart.domain.money import format_cents, parse_amount_cents
from cozykart.domain.song_requests import REQUESTS_LISTED_MAX
from cozykart.integrations.discord_interactions import (
    CHANNEL_MESSAGE_WITH_SOURCE,
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    EPHEMERAL,
    SUB_COMMAND,
)
from cozykart.integrations.discord_oauth import DiscordUser
from cozykart.services import default_uow, league, payouts, song_requests, wallet
from cozykart.services.reads import standings
from cozykart.settings import Settings

OPTION_TEXT_LENGTH_MAX = 200
# Commands whose answer only the caller sees (fixed before the answer is known when it is deferred).
PRIVATE_COMMANDS = frozenset({"wallet", "cashout", "cashout-cancel", "payout", "requests"})
logger = logging.getLogger("cozykart.discord")


@dataclass(frozen=True)
class Reply:
    message: dict
    ephemeral: bool = False

    def response(self) -> dict:
        data = dict(self.message)
        if self.ephemeral:
            data["flags"] = EPHEMERAL
        return {"type": CHANNEL_MESSAGE_WITH_SOURCE, "data": data}


def _text(content: str, *, ephemeral: bool = False) -> Reply:
    return Reply(say.message(content=content), ephemeral=ephemeral)


@dataclass(frozen=True)
class Invocation:
    """An interaction, read: who, which command, its options, and the users it names."""

    interaction_id: str
    user: DiscordUser
    name: str
    options: dict
    resolved_users: dict

    def option(self, name: str) -> object | None:
        return self.options.get(name)

    def text(self, name: str) -> str:
        value = self.options.get(name)
        if value is None or isinstance(value, bool):
            raise InvalidInput(f"Give the {name}: option.")
        return str(value)[:OPTION_TEXT_LENGTH_MAX]

    def number(self, name: str, *, required: bool = True) -> int | None:
        value = self.options.get(name)
        if value is None and not required:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
        raise InvalidInput(f"The {name}: option must be a whole number.")

    def user_id(self, name: str) -> str:
        value = self.options.get(name)
        if not isinstance(value, str) or not value.isdigit():
            raise InvalidInput(f"Pick a Discord user for the {name}: option.")
        return value


def _flatten(options: list | None) -> tuple[str | None, dict]:
    """A subcommand's name (if any) and the options as name -> value."""
    options = options or []
    if len(options) == 1 and options[0].get("type") == SUB_COMMAND:
        return options[0].get("name"), _flatten(options[0].get("options"))[1]
    return None, {option.get("name"): option.get("value") for option in options if isinstance(option, dict)}


def read(interaction: dict) -> Invocation:
    """The invocation in a verified APPLICATION_COMMAND interaction."""
    user = (interaction.get("member") or {}).get("user") or interaction.get("user") or {}
    data = interaction.get("data") or {}
    if not isinstance(user, dict) or not str(user.get("id", "")).isdigit():
        raise InvalidInput("Discord did not say who you are; try the command again.")
    subcommand, options = _flatten(data.get("options"))
    name = str(data.get("name", ""))
    return Invocation(
        interaction_id=str(interaction.get("id", "")),
        user=DiscordUser(
            id=str(user["id"]),
            username=str(user.get("username") or user["id"]),
            global_name=user.get("global_name"),
            avatar_hash=user.get("avatar"),
            discriminator=str(user.get("discriminator") or "0"),
        ),
        name=f"{name} {subcommand}" if subcommand else name,
        options=options,
        resolved_users=((data.get("resolved") or {}).get("users") or {}),
    )


# --- the commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    invocation: Invocation
    racer_id: int
    avatar_url: str
    settings: Settings

    def kw(self) -> dict:
        return {"actor_id": self.racer_id, "uow": default_uow(self.settings)}

    @property
    def uow(self):
        return default_uow(self.settings)


def _lobby_create(ctx: Context) -> Reply:
    race = league.open_lobby(ctx.invocation.text("name"), **ctx.kw())
    return _text(
        f"🏁 Lobby **{_md(race.name)}** (#{race.race_id}) is open, hosted by {_md(race.host.name)}. "
        f"Type /join to race!"
    )


def _join(ctx: Context) -> Reply:
    race = league.join_chosen_lobby(ctx.invocation.number("lobby", required=False), **ctx.kw())
    return _text(f"✅ You joined **{_md(race.name)}** ({race.racer_count}/8 racers).")


def _leave(ctx: Context) -> Reply:
    race = league.leave_current_lobby(**ctx.kw())
    return _text(f"👋 You left **{_md(race.name)}**.")


def _start(ctx: Context) -> Reply:
    race = league.start_hosted_race(ctx.invocation.number("lobby", required=False), **ctx.kw())
    names = ", ".join(_md(racer.name) for racer in race.racers)
    return _text(f"🚦 **{_md(race.name)}** is live! Racers: {names}. Merch bought now feeds their Live Pot.")


def _end(ctx: Context) -> Reply:
    race = league.end_live_race(**ctx.kw())
    if race.is_final:
        return _text(f"🏁 **{_md(race.name)}** is over and its results are final.")
    return _text(f"🏁 **{_md(race.name)}** is over. Racers: report your place with /result position:.")


def _result(ctx: Context) -> Reply:
    race = league.report_for_unfinished_race(ctx.invocation.text("position"), **ctx.kw())
    entry = race.entry_of(ctx.racer_id)
    assert entry is not None
    place = "DNF" if entry.reported_dnf else f"#{entry.reported_position}"
    if race.is_final and entry.points is not None:
        return _text(f"🏆 Recorded! You finished **{place}** and earned **{entry.points} pts**.")
    if race.disputed:
        return _text(
            f"⚠️ Recorded **{place}**, but reports in **{_md(race.name)}** conflict ({_md(race.dispute)}); "
            f"the host will rule."
        )
    return _text(f"🏆 Recorded! You reported **{place}** in **{_md(race.name)}**.")


def _wallet(ctx: Context) -> Reply:
    summary = wallet.wallet_summary(ctx.racer_id, uow=ctx.uow)
    message = say.wallet(
        name=summary.display_name,
        avatar_url=ctx.avatar_url,
        available_cents=summary.available_cents,
        held_cents=summary.held_cents,
        in_payout_cents=summary.in_payout_cents,
        debt_cents=summary.debt_cents,
        lifetime_earned_cents=summary.lifetime_earned_cents,
        payout_min_cents=summary.payout_min_cents,
        currency=summary.currency,
    )
    return Reply(message, ephemeral=True)


def _cashout(ctx: Context) -> Reply:
    amount_cents = parse_amount_cents(ctx.invocation.text("amount"))
    payout_id = payouts.request_payout(
        ctx.racer_id, amount_cents, key=f"discord:{ctx.invocation.interaction_id}", uow=ctx.uow
    )
    money = format_cents(amount_cents, ctx.settings.currency)
    return _text(
        f"🧾 Payout #{payout_id} of {money} requested. An admin will pay it; "
        f"the channel hears when you cash out.",
        ephemeral=True,
    )


def _cashout_cancel(ctx: Context) -> Reply:
    outcome = payouts.cancel_pending_payout(
        ctx.racer_id, ctx.invocation.number("payout", required=False), uow=ctx.uow
    )
    return _text(
        f"↩️ Payout #{outcome.payout_id} is cancelled; its money is back in your wallet. /wallet shows it.",
        ephemeral=True,
    )


def _standings(ctx: Context) -> Reply:
    view = standings.season_standings(uow=ctx.uow, limit=say.STANDINGS_ROWS_SHOWN_MAX)
    if view is None:
        return _text("No season has started yet; the first race opens one.")
    lines = [say.StandingLine(row.rank, row.name, row.points, row.wins, row.races) for row in view.rows]
    return Reply(
        say.standings(
            season_name=view.season.name,
            closed=view.is_frozen,
            lines=lines,
            sponsor_name=view.season.sponsor_name,
        )
    )


def _payout(ctx: Context) -> Reply:
    amount_cents = parse_amount_cents(ctx.invocation.text("amount"))
    method = require_payout_method(str(ctx.invocation.option("method") or "store_credit"))
    reference = str(ctx.invocation.option("reference") or "Discord /payout")
    payout_id = payouts.direct_payout_to_discord_user(
        ctx.racer_id,
        ctx.invocation.user_id("user"),
        amount_cents,
        method=method,
        reference=reference,
        key=f"discord:{ctx.invocation.interaction_id}",
        uow=ctx.uow,
    )
    money = format_cents(amount_cents, ctx.settings.currency)
    return _text(
        f"💸 Paid {say.mention(ctx.invocation.user_id('user'))} {money} by {PAYOUT_METHODS[method]} "
        f"(payout #{payout_id}); the channel hears about it.",
        ephemeral=True,
    )


def _admin_fix(ctx: Context) -> Reply:
    race, racer_id = league.admin_fix_discord_result(
        ctx.invocation.number("race"),
        ctx.invocation.user_id("user"),
        ctx.invocation.text("position"),
        reason=ctx.invocation.text("reason"),
        **ctx.kw(),
    )
    entry = race.entry_of(racer_id)
    assert entry is not None
    place = "DNF" if entry.dnf else f"#{entry.position}"
    return _text(
        f"🛠️ Result fixed in **{_md(race.name)}**: {_md(entry.racer.name)} is now **{place}** "
        f"({entry.points} pts). Reason: {_md(ctx.invocation.text('reason'))}"
    )


def _request_line(line: song_requests.RequestLine, currency: str) -> str:
    said = f" — “{_md(line.message)}”" if line.message else ""
    money = format_cents(line.tip_cents, currency)
    return f"#{line.request_id} **{_md(line.song)}** for {_md(line.fan_name)} ({money}){said}"


def _requests(ctx: Context) -> Reply:
    booth = song_requests.dj_booth(ctx.racer_id, uow=ctx.uow)
    if not booth.waiting:
        return _text("🎧 No song requests are waiting.", ephemeral=True)
    shown = booth.waiting[:REQUESTS_LISTED_MAX]
    lines = [_request_line(line, booth.currency) for line in shown]
    more = len(booth.waiting) - len(shown)
    if more > 0:
        lines.append(f"…and {more} more on /dj.")
    heading = f"🎧 {len(booth.waiting)} song request(s) waiting, oldest first (/played marks the first):"
    return _text(say.clip("\n".join([heading, *lines]), say.CONTENT_LENGTH_MAX), ephemeral=True)


def _played(ctx: Context) -> Reply:
    line = song_requests.play_next(ctx.racer_id, uow=ctx.uow)
    return _text(f"🎶 Now playing **{_md(line.song)}**, requested by {_md(line.fan_name)}.")


HANDLERS: dict[str, Callable[[Context], Reply]] = {
    "lobby create": _lobby_create,
    "join": _join,
    "leave": _leave,
    "start": _start,
    "end": _end,
    "result": _result,
    "wallet": _wallet,
    "cashout": _cashout,
    "cashout-cancel": _cashout_cancel,
    "standings": _standings,
    "payout": _payout,
    "admin-fix": _admin_fix,
    "requests": _requests,
    "played": _played,
}


def answer(interaction: dict, settings: Settings) -> dict:
    """The interaction response for a verified APPLICATION_COMMAND interaction."""
    try:
        invocation = read(interaction)
        handler = HANDLERS.get(invocation.name)
        if handler is None:
            raise UnknownCommand(invocation.name)
        user = invocation.user
        avatar_url = user.avatar_url()
        # Its own transaction, committed before the command's: the upsert locks the
        # racer's row, and a league command locks race, season, then racers; one
        # transaction for both would take the racer first and could deadlock a host's
        # start on PostgreSQL. A refused command still leaves the racer known.
        racer = league.get_or_create_racer(
            user.id, user.username, user.display_name, avatar_url, uow=default_uow(settings)
        )
        reply = handler(Context(invocation, racer.racer_id, avatar_url, settings))
    except CozyKartError as error:
        reply = _text(f"⚠️ {_md(error.message)}", ephemeral=True)  # a refusal may echo what was typed
    except Exception:  # a bug: logged with its trace; the racer gets a calm answer
        logger.exception("slash command failed")
        reply = _text("⚠️ Something went wrong on our side; try again in a minute.", ephemeral=True)
    return reply.response()


def already_handled() -> dict:
    """The answer to an interaction id seen before (a replay): ephemeral, and nothing was done.

    Discord itself sends an interaction once, so only a replayer sees this; it is a
    valid interaction response that repeats nothing of the first answer (which may
    have been private, like a wallet).
    """
    return _text(f"⚠️ {AlreadyHandled().message}", ephemeral=True).response()


def deferred(interaction: dict) -> dict:
    """ "Cozy-Kart is thinking...": the answer when the service needs longer than Discord waits."""
    name = str((interaction.get("data") or {}).get("name", ""))
    if name in PRIVATE_COMMANDS:
        return {"type": DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, "data": {"flags": EPHEMERAL}}
    return {"type": DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
