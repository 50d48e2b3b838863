"""What Cozy-Kart says on Discord: announcements and command replies, as plain message dicts.

Pure functions from plain values to Discord message bodies (`content`, `embeds`,
`allowed_mentions`), the shape both an announcement webhook and an interaction
reply take. Money is gold, the league is Discord blue, and every amount goes
through `format_cents`. Discord's own limits are named here; text longer than a
limit is cut with an ellipsis rather than refused by Discord.

Every text a person chose (race, season and sponsor names, racer names, a fan's
name, song and message) goes through `escape_markdown` (`_md`) where Discord
renders markdown, so it shows as typed and never becomes a link, a heading or a
spoiler. Footers are shown raw by Discord and are not escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from cozykart.domain.discord_markdown import escape_markdown as _md
from cozykart.domain.errors import Conflict, CozyKartError, Unavailable
from cozykart.domain.money import format_cents


class OutboxStatus(StrEnum):
    """Where a queued announcement stands (the outbox row's `status`, stored as its text)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxChannel(StrEnum):
    """Where a queued message goes: the announcement channel's webhook, or a racer's DMs through the bot."""

    ANNOUNCE = "announce"
    DIRECT = "direct"


GOLD = 0xFFD700
DISCORD_BLUE = 0x5865F2
TITLE_LENGTH_MAX = 256
DESCRIPTION_LENGTH_MAX = 4096
FIELD_NAME_LENGTH_MAX = 256
FIELD_VALUE_LENGTH_MAX = 1024
FOOTER_LENGTH_MAX = 2048
CONTENT_LENGTH_MAX = 2000
COMMAND_NAME_SHOWN_MAX = 40
STANDINGS_ROWS_SHOWN_MAX = 10
PODIUM_SIZE = 3
MEDALS = ("🥇", "🥈", "🥉")


# --- refusals said on Discord (drawn in the tree of `cozykart.domain.errors`) ---


class AlreadyHandled(Conflict):
    def __init__(self) -> None:
        super().__init__("This command was already handled; nothing was done again.")


class UnknownCommand(CozyKartError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Cozy-Kart does not know the command /{name[:COMMAND_NAME_SHOWN_MAX]}.")


class OutboxNotResendable(Conflict):
    def __init__(self, outbox_id: int, status: str) -> None:
        super().__init__(
            f"Announcement #{outbox_id} is {status}; only a failed announcement can be sent again."
        )


class DiscordNotConfigured(Unavailable):
    """The Discord application's id or bot token is not set."""


# --- messages -----------------------------------------------------------------


def clip(text: str, length_max: int) -> str:
    """`text` cut to `length_max` characters, ending in an ellipsis when cut."""
    return text if len(text) <= length_max else text[: length_max - 1] + "…"


def mention(discord_id: str) -> str:
    return f"<@{discord_id}>"


def _field(name: str, value: str, *, inline: bool = False) -> dict:
    return {
        "name": clip(name, FIELD_NAME_LENGTH_MAX),
        "value": clip(value or "—", FIELD_VALUE_LENGTH_MAX),
        "inline": inline,
    }


def _embed(
    title: str,
    *,
    color: int,
    description: str | None = None,
    fields: Sequence[dict] = (),
    url: str | None = None,
    thumbnail_url: str | None = None,
    footer: str | None = None,
) -> dict:
    embed: dict = {"title": clip(title, TITLE_LENGTH_MAX), "color": color, "fields": list(fields)}
    if description:
        embed["description"] = clip(description, DESCRIPTION_LENGTH_MAX)
    if url:
        embed["url"] = url
    if thumbnail_url:
        embed["thumbnail"] = {"url": thumbnail_url}
    if footer:
        embed["footer"] = {"text": clip(footer, FOOTER_LENGTH_MAX)}
    return embed


def message(
    *, content: str | None = None, embeds: Sequence[dict] = (), mentioned_ids: Sequence[str] = ()
) -> dict:
    """A Discord message body; only the users named in `mentioned_ids` are pinged."""
    body: dict = {"embeds": list(embeds), "allowed_mentions": {"parse": [], "users": list(mentioned_ids)}}
    if content:
        body["content"] = clip(content, CONTENT_LENGTH_MAX)
    return body


def direct_message(*, recipient_discord_id: str, title: str, body: str) -> dict:
    """A private notice as a Discord direct message: the bold title, then the body, escaped; pings no one."""
    body_text = clip(f"**{_md(title)}**\n{_md(body)}", CONTENT_LENGTH_MAX)
    return {"recipient_id": recipient_discord_id, "content": body_text, "allowed_mentions": {"parse": []}}


# --- announcements ---------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    discord_id: str


@dataclass(frozen=True)
class Finish:
    racer: Person
    position: int | None  # None: DNF
    points: int
    share_cents: int


def race_started(
    *, race_name: str, season_name: str | None, host: Person, roster: Sequence[Person], watch_url: str | None
) -> dict:
    lines = "\n".join(f"• {_md(person.name)}" for person in roster)
    fields = [_field(f"Roster ({len(roster)})", lines), _field("Host", _md(host.name), inline=True)]
    if season_name:
        fields.append(_field("Season", _md(season_name), inline=True))
    if watch_url:
        fields.append(_field("Watch", f"[Watch the race live]({watch_url})", inline=True))
    embed = _embed(
        f"🏁 {_md(race_name)} is live!",
        color=DISCORD_BLUE,
        url=watch_url,
        fields=fields,
        description="Merch bought while the race is live feeds the racers' Live Pot.",
    )
    return message(embeds=[embed])


def race_results(
    *,
    race_name: str,
    season_name: str | None,
    finishes: Sequence[Finish],
    pot_cents: int,
    currency: str,
    receipt_url: str | None = None,
) -> dict:
    """The podium and points (league blue), and how the Live Pot was split (gold).

    `receipt_url` (the race's public receipt, an address the settings checked) links both embeds.
    """
    ranked = sorted(finishes, key=lambda f: (f.position is None, f.position or 0, f.racer.name))
    podium = [(f.position, f) for f in ranked if f.position is not None][:PODIUM_SIZE]
    podium_text = "\n".join(
        f"{MEDALS[position - 1] if position <= PODIUM_SIZE else ''} **{_md(f.racer.name)}**"
        for position, f in podium
    )
    table = "\n".join(
        f"{'DNF' if f.position is None else f'#{f.position}'} {_md(f.racer.name)} — {f.points} pts"
        for f in ranked
    )
    league_embed = _embed(
        f"🏆 Results: {_md(race_name)}",
        color=DISCORD_BLUE,
        footer=season_name,
        url=receipt_url,
        fields=[_field("Podium", podium_text), _field("Points", table)],
    )
    receipt = (
        [_field("Receipt", f"[Every share and sale, to the cent]({receipt_url})")] if receipt_url else []
    )
    if pot_cents > 0:
        split = "\n".join(
            f"{_md(f.racer.name)}: **{format_cents(f.share_cents, currency)}**"
            for f in sorted(ranked, key=lambda f: -f.share_cents)
            if f.share_cents
        )
        money_embed = _embed(
            f"💰 Live Pot: {format_cents(pot_cents, currency)}",
            color=GOLD,
            description="Split among the racers of the race.",
            url=receipt_url,
            fields=[_field("Shares", split), *receipt],
        )
    else:
        money_embed = _embed(
            "💰 Live Pot: nothing this time",
            color=GOLD,
            description="No merch was sold during this race.",
            url=receipt_url,
            fields=receipt,
        )
    return message(embeds=[league_embed, money_embed])


def race_results_corrected(
    *,
    race_name: str,
    season_name: str | None,
    finishes: Sequence[Finish],
    pot_cents: int,
    reason: str,
    currency: str,
) -> dict:
    """A final race's results set again by an admin: the new table and shares, and why."""
    body = race_results(
        race_name=race_name,
        season_name=season_name,
        finishes=finishes,
        pot_cents=pot_cents,
        currency=currency,
    )
    league_embed = body["embeds"][0]
    league_embed["title"] = clip(f"✏️ Results corrected: {_md(race_name)}", TITLE_LENGTH_MAX)
    league_embed["description"] = clip(f"Why: {_md(reason)}", DESCRIPTION_LENGTH_MAX)
    return body


def dj_tip(
    *,
    dj: Person,
    fan_name: str | None,
    tip_cents: int,
    dj_cents: int,
    song: str,
    note: str | None,
    currency: str,
) -> dict:
    fan = _md(fan_name) if fan_name else "A fan"
    fields = [
        _field("Song", _md(song) or "—", inline=True),
        _field("To the DJ", format_cents(dj_cents, currency), inline=True),
    ]
    if note:
        fields.append(_field("Message", _md(note)))
    embed = _embed(f"🎵 {fan} tipped {format_cents(tip_cents, currency)}", color=GOLD, fields=fields)
    return message(
        content=f"{mention(dj.discord_id)} you got a tip!", embeds=[embed], mentioned_ids=[dj.discord_id]
    )


def pot_goal_reached(*, race_name: str, goal_cents: int, pool_cents: int, currency: str) -> dict:
    """The race's pot reached the goal the host set: "🎉 Pot goal reached in Mario Circuit!"."""
    goal = format_cents(goal_cents, currency)
    embed = _embed(
        f"🎉 Pot goal reached: {format_cents(pool_cents, currency)}",
        color=GOLD,
        description=f"The fans took the pot of {_md(race_name)} to its goal of {goal}. Thank you!",
    )
    return message(content=f"🎉 Pot goal reached in {_md(race_name)}!", embeds=[embed])


def cash_out(*, racer: Person, amount_cents: int, currency: str) -> dict:
    """The seed's "💸 @User just cashed out $50.00!"."""
    money = format_cents(amount_cents, currency)
    embed = _embed(
        "💸 Cash-out", color=GOLD, description=f"{_md(racer.name)} turned race earnings into {money}."
    )
    return message(
        content=f"💸 {mention(racer.discord_id)} just cashed out {money}!",
        embeds=[embed],
        mentioned_ids=[racer.discord_id],
    )


def season_champion(
    *,
    season_name: str,
    champion: Person | None,
    points: int | None,
    wins: int | None,
    sponsor_name: str | None,
    sponsor_url: str | None,
) -> dict:
    if champion is None:
        embed = _embed(
            f"🏁 {_md(season_name)} is closed", color=DISCORD_BLUE, description="No races were finished."
        )
        return message(embeds=[embed])
    fields = [_field("Points", str(points or 0), inline=True), _field("Wins", str(wins or 0), inline=True)]
    if sponsor_name:
        link = (
            sponsor_url.replace("(", "%28").replace(")", "%29").replace(" ", "%20") if sponsor_url else None
        )
        sponsor = f"[{_md(sponsor_name)}]({link})" if link else _md(sponsor_name)
        fields.append(_field("Presented by", sponsor, inline=True))
    embed = _embed(
        f"👑 {_md(champion.name)} is the champion of {_md(season_name)}!", color=DISCORD_BLUE, fields=fields
    )
    return message(
        content=f"👑 Congratulations {mention(champion.discord_id)}!",
        embeds=[embed],
        mentioned_ids=[champion.discord_id],
    )


# --- command replies -----------------------------------------------------------------


def wallet(
    *,
    name: str,
    avatar_url: str | None,
    available_cents: int,
    held_cents: int,
    in_payout_cents: int,
    debt_cents: int,
    lifetime_earned_cents: int,
    payout_min_cents: int,
    currency: str,
) -> dict:
    """The seed's `/wallet` embed, with the ledger's real balances."""

    def money(cents: int) -> str:
        return format_cents(cents, currency)

    fields = [
        _field("Available", f"**{money(available_cents)}**", inline=True),
        _field("Held (refund window)", money(held_cents), inline=True),
        _field("In payout", money(in_payout_cents), inline=True),
        _field("Lifetime earnings", money(lifetime_earned_cents), inline=True),
    ]
    if debt_cents:
        fields.append(_field("Debt", f"{money(debt_cents)} (nets against future earnings)", inline=True))
    if available_cents >= payout_min_cents:
        footer = f"You can cash out now with /cashout (from {money(payout_min_cents)})."
    else:
        footer = f"Payouts from {money(payout_min_cents)}: {money(payout_min_cents - available_cents)} to go."
    embed = _embed(
        f"💰 {_md(name)}'s racer wallet",
        color=GOLD,
        thumbnail_url=avatar_url,
        fields=fields,
        footer=footer,
        description="Your share of the merch sold during your races, and your tips.",
    )
    return message(embeds=[embed])


@dataclass(frozen=True)
class StandingLine:
    rank: int
    name: str
    points: int
    wins: int
    races: int


def standings(
    *, season_name: str, closed: bool, lines: Sequence[StandingLine], sponsor_name: str | None
) -> dict:
    shown = lines[:STANDINGS_ROWS_SHOWN_MAX]
    table = (
        "\n".join(
            f"#{line.rank} **{_md(line.name)}** — {line.points} pts, {line.wins} wins, {line.races} races"
            for line in shown
        )
        or "No results yet."
    )
    footer = f"Presented by {sponsor_name}" if sponsor_name else None
    title = f"🏆 {_md(season_name)} standings" + (" (final)" if closed else "")
    return message(embeds=[_embed(title, color=DISCORD_BLUE, description=table, footer=footer)])
