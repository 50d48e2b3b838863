"""The audit trail's words: the kinds of admin action, and how a line of the trail reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ActionKind(StrEnum):
    """What an admin did. The first three keep their own tables; the rest are `admin_action` rows."""

    RESULT_FIX = "result_fix"
    MONEY_SETTING = "money_setting"
    ROLE = "role"
    PAYOUT_PAID = "payout_paid"
    PAYOUT_REJECTED = "payout_rejected"
    PAYOUT_DIRECT = "payout_direct"
    SEASON_CREATED = "season_created"
    SEASON_ACTIVATED = "season_activated"
    SEASON_CLOSED = "season_closed"
    OVERLAY_KEY = "overlay_key"
    WEBHOOK_REPLAY = "webhook_replay"
    OUTBOX_RESEND = "outbox_resend"
    RESULTS_CORRECTED = "results_corrected"
    POT_GOAL = "pot_goal"
    SONG_PLAYED = "song_played"  # the DJ booth: by the request's DJ, or an admin
    SONG_SKIPPED = "song_skipped"


ACTION_LABELS: dict[ActionKind, str] = {
    ActionKind.RESULT_FIX: "Result fixed",
    ActionKind.MONEY_SETTING: "Money setting changed",
    ActionKind.ROLE: "Role changed",
    ActionKind.PAYOUT_PAID: "Payout paid",
    ActionKind.PAYOUT_REJECTED: "Payout rejected",
    ActionKind.PAYOUT_DIRECT: "Direct payout",
    ActionKind.SEASON_CREATED: "Season created",
    ActionKind.SEASON_ACTIVATED: "Season activated",
    ActionKind.SEASON_CLOSED: "Season closed",
    ActionKind.OVERLAY_KEY: "Overlay key regenerated",
    ActionKind.WEBHOOK_REPLAY: "Webhook event replayed",
    ActionKind.OUTBOX_RESEND: "Announcement resent",
    ActionKind.RESULTS_CORRECTED: "Results table corrected",
    ActionKind.POT_GOAL: "Pot goal set",
    ActionKind.SONG_PLAYED: "Song request played",
    ActionKind.SONG_SKIPPED: "Song request skipped",
}


def action_label(kind: str) -> str:
    """The words for a kind of action; an unknown stored kind reads as itself."""
    try:
        return ACTION_LABELS[ActionKind(kind)]
    except ValueError:
        return kind


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail: who, when, what, old -> new, why, and the race and racer it touched."""

    at: datetime
    kind: str
    actor_name: str
    subject: str
    old_value: str
    new_value: str
    reason: str
    race_id: int | None = None
    racer_id: int | None = None

    @property
    def label(self) -> str:
        return action_label(self.kind)

    @property
    def change(self) -> str:
        """ "old → new", or whichever side there is, or ""."""
        if self.old_value and self.new_value:
            return f"{self.old_value} → {self.new_value}"
        return self.new_value or self.old_value

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "what": self.label,
            "who": self.actor_name,
            "subject": self.subject,
            "old": self.old_value,
            "new": self.new_value,
            "why": self.reason,
            "race_id": self.race_id,
            "racer_id": self.racer_id,
        }
