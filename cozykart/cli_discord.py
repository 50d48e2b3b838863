"""Discord commands: `discord register-commands [--guild ID]`, `outbox [--status S]`, `outbox resend ID`.

Imports stay inside the commands, as in the other CLI modules, so `--help` and
`trigger` start fast.
"""

from __future__ import annotations

import argparse
import json

from cozykart.domain.discord_messages import DiscordNotConfigured, OutboxStatus
from cozykart.settings import load_settings


def _cmd_register_commands(args: argparse.Namespace) -> int:
    from cozykart.integrations import discord_interactions

    settings = load_settings()
    if not settings.discord_client_id or not settings.discord_bot_token:
        raise DiscordNotConfigured(
            "Set DISCORD_CLIENT_ID and DISCORD_BOT_TOKEN to register the slash commands."
        )
    try:
        registered = discord_interactions.register_commands(
            api_base=settings.discord_api_base,
            client_id=settings.discord_client_id,
            bot_token=settings.discord_bot_token,
            guild_id=args.guild,
        )
    except discord_interactions.RegistrationFailed as error:
        print(f"error: {error}")
        return 1
    print(
        f"registered {len(registered.names)} {registered.scope} command(s): "
        + ", ".join(f"/{name}" for name in registered.names)
    )
    return 0


def _cmd_outbox(args: argparse.Namespace) -> int:
    from cozykart.services import default_uow, outbox

    if args.outbox_action == "resend":
        row = outbox.resend(args.id, actor_id=None, uow=default_uow())
        print(f"#{row.outbox_id} {row.kind} is queued again: {row.summary}")
        return 0
    rows = outbox.list_outbox(uow=default_uow(), status=args.status, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": row.outbox_id,
                        "kind": row.kind,
                        "status": row.status,
                        "attempts": row.attempts,
                        "last_error": row.last_error,
                        "summary": row.summary,
                        "created_at": row.created_at.isoformat(),
                        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
                    }
                    for row in rows
                ]
            )
        )
        return 0
    for row in rows:
        error = f"  {row.last_error}" if row.last_error else ""
        print(
            f"#{row.outbox_id} {row.created_at:%Y-%m-%d %H:%M:%S} {row.kind} {row.status} "
            f"(tries {row.attempts}) {row.summary}{error}"
        )
    return 0


def add_discord_commands(commands) -> None:
    discord = commands.add_parser("discord", help="Discord: register the slash commands")
    actions = discord.add_subparsers(dest="discord_action", required=True, metavar="ACTION")
    register = actions.add_parser("register-commands", help="send the slash commands to Discord")
    register.add_argument("--guild", help="register in one server (instant) instead of globally")
    register.set_defaults(handler=_cmd_register_commands)

    box = commands.add_parser(
        "outbox", help="Discord announcements and where they stand; resend a failed one"
    )
    box.add_argument("--status", choices=[status.value for status in OutboxStatus])
    box.add_argument("--limit", type=int, default=50)
    box.add_argument("--json", action="store_true")
    box.set_defaults(handler=_cmd_outbox, outbox_action=None)
    box_actions = box.add_subparsers(dest="outbox_action", metavar="ACTION")
    resend = box_actions.add_parser("resend", help="queue a failed announcement again")
    resend.add_argument("id", type=int)
