"""The full schema: importing this module registers every table."""

from __future__ import annotations

from sqlmodel import SQLModel

import cozykart.db.audit_tables  # the admin actions' trail
import cozykart.db.discord_interaction_tables  # interaction ids already taken (replays)
import cozykart.db.identity_tables  # registers login, session and role-audit tables
import cozykart.db.inbox_tables
import cozykart.db.ledger_tables
import cozykart.db.money_settings_tables  # the admin's money-setting changes
import cozykart.db.notice_tables  # racers' private notices
import cozykart.db.outbox_tables
import cozykart.db.overlay_tables  # registers the OBS overlay key
import cozykart.db.pot_goal_tables  # races' pot goals and the goals reached
import cozykart.db.song_request_tables  # the DJ booth's song requests
import cozykart.db.stripe_connect_tables  # noqa: F401  (racers' connected Stripe accounts)
from cozykart.db import tables  # noqa: F401  (registers the tables)

metadata = SQLModel.metadata
