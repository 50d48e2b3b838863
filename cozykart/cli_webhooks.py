"""Webhook commands: `trigger` signed test events, and product costs for commissions."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from cozykart.domain.money import format_cents, parse_amount_cents
from cozykart.domain.payments import InboxStatus
from cozykart.integrations import trigger
from cozykart.settings import load_settings


def _instant(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time like 2026-11-21T18:30:00+00:00"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give the time zone, e.g. 2026-11-21T18:30:00Z")
    return parsed


def _cmd_trigger(args: argparse.Namespace) -> int:
    request = trigger.TriggerRequest(
        action=args.action,
        provider=args.provider,
        url=args.url,
        amount=args.amount,
        payment=args.payment,
        item=args.item,
        sku=args.sku,
        song=args.song,
        message=args.message,
        fan_name=args.fan,
        dj=args.dj,
        at=args.at,
        won=args.won,
    )
    result = trigger.send(request, load_settings())
    print(f"POST {result.endpoint} -> {result.status_code} {result.body}")
    print(f"payment: {result.payment}")
    return 0 if 200 <= result.status_code < 300 else 1


def _cmd_set_product_cost(args: argparse.Namespace) -> int:
    from cozykart.services import default_uow, webhooks

    cost_cents = parse_amount_cents(args.cost)
    webhooks.set_product_cost(args.sku, cost_cents, uow=default_uow())
    print(f"{args.sku} costs {format_cents(cost_cents, load_settings().currency)} to make")
    return 0


def _cmd_inbox(args: argparse.Namespace) -> int:
    from cozykart.services import default_uow, webhooks

    rows = webhooks.list_inbox(uow=default_uow(), status=args.status, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **row.__dict__,
                        "received_at": row.received_at.isoformat(),
                        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
                        "applied_at": row.applied_at.isoformat() if row.applied_at else None,
                    }
                    for row in rows
                ]
            )
        )
        return 0
    for row in rows:
        error = f"  {row.last_error}" if row.last_error else ""
        print(
            f"#{row.inbox_id} {row.received_at:%Y-%m-%d %H:%M:%S} {row.provider} {row.event_type} "
            f"{row.status} (tries {row.attempts}){error}"
        )
    return 0


def add_webhook_commands(commands) -> None:
    fire = commands.add_parser(
        "trigger", help="post a signed test event to a running server, like a provider's trigger command"
    )
    fire.add_argument("action", choices=trigger.ACTIONS)
    fire.add_argument("--url", required=True, help="the server, e.g. http://localhost:8000")
    fire.add_argument("--provider", choices=("stripe", "kofi", "shopify"), default="stripe")
    fire.add_argument("--amount", default="25.00", help="e.g. 25.00 (a refund or dispute: its amount)")
    fire.add_argument("--payment", help="the payment a refund or dispute is about (printed by a sale or tip)")
    fire.add_argument("--item", default="Cozy-Kart tee")
    fire.add_argument("--sku")
    fire.add_argument("--song", default="Coconut Mall")
    fire.add_argument("--message")
    fire.add_argument("--fan", default="Fan Fiona", help="the fan's name")
    fire.add_argument("--dj", help="the DJ's Discord id (default: the DJ on duty)")
    fire.add_argument("--at", type=_instant, help="when the sale happened (ISO, with zone); default now")
    fire.add_argument("--won", action="store_true", help="dispute: the dispute was won (funds reinstated)")
    fire.set_defaults(handler=_cmd_trigger)

    cost = commands.add_parser("set-product-cost", help="what one unit of a SKU costs to make")
    cost.add_argument("sku")
    cost.add_argument("cost", help="e.g. 10.00")
    cost.set_defaults(handler=_cmd_set_product_cost)

    inbox = commands.add_parser("inbox", help="the newest webhook events and where they stand")
    inbox.add_argument(
        "--status", choices=[status.value for status in InboxStatus if status != InboxStatus.RECEIVED]
    )
    inbox.add_argument("--limit", type=int, default=50)
    inbox.add_argument("--json", action="store_true")
    inbox.set_defaults(handler=_cmd_inbox)
