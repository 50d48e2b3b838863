"""The confirmation dialog's words for results: built from a service's dry run, never guessed here.

`results_preview` (and `results_admin` for a correction) run the real services
and the ledger's real split in a transaction that is rolled back; these
functions only put their figures into sentences.
"""

from __future__ import annotations

from cozykart.domain.money import format_cents
from cozykart.services import results_preview
from cozykart.services.results_admin import FixPreview
from cozykart.services.results_preview import EndPreview, ResultsPreview
from cozykart.settings import load_settings
from cozykart.ui.service_call import call_service

SPLIT_WORDS = {
    "even": "split evenly among the racers",
    "winner_bonus": "the winner's bonus first, the rest split evenly",
    "by_points": "split in proportion to the race's points",
}


def results_lines(preview: ResultsPreview, currency: str, *, confirming: bool) -> list[str]:
    lines: list[str] = []
    if confirming and preview.missing:
        lines.append(
            f"{len(preview.missing)} of {len(preview.places)} racers have not reported: "
            f"{', '.join(preview.missing)}. They will finish DNF (0 points)."
        )
    lines.append(f"{preview.race_name} becomes final now:")
    lines.extend(
        f"{place.place_words} {place.name}: {place.points} pts, {format_cents(place.share_cents, currency)}"
        for place in preview.places
    )
    if preview.pot_cents:
        policy = SPLIT_WORDS.get(preview.split_policy, preview.split_policy)
        lines.append(
            f"The pot of {format_cents(preview.pot_cents, currency)} is paid into their wallets ({policy})."
        )
    else:
        lines.append("No merch sold during this race: there is no pot to split.")
    lines.append("Only an admin can change a final race afterwards, with a correction.")
    return lines


def end_lines(preview: EndPreview, currency: str) -> list[str]:
    lines = [
        f"{preview.race_name} stops being live now: sales from this moment go to the house, not the pot.",
        f"The pot so far: {format_cents(preview.pot_cents, currency)}, for "
        f"{len(preview.racer_names)} racers ({', '.join(preview.racer_names)}).",
    ]
    if preview.becomes_final:
        lines.append("Every racer has reported: the race becomes final at once and the pot is split.")
    else:
        lines.append("The racers then report their finish; the pot is split once the results are final.")
    return lines


def fix_lines(preview: FixPreview, reason: str, currency: str) -> list[str]:
    lines = [f"One correction of {preview.race_name}, kept with the reason {reason.strip()!r}:"]
    lines.extend(
        f"{change.name}: {change.old_words} → {change.new_words}, {change.old_points} → {change.new_points} pts"
        + (
            f", {'+' if cents > 0 else ''}{format_cents(cents, currency)}"
            if (cents := preview.moved_cents.get(change.racer_id, 0))
            else ""
        )
        for change in preview.changes
    )
    if preview.pot_held_cents:
        lines.append(
            f"The racers hold {format_cents(preview.pot_held_cents, currency)} of this race's pot: one correcting "
            "ledger transaction moves the shares (a racer already paid out may go into debt)."
        )
    else:
        lines.append("No money was paid out for this race: only places and points change.")
    lines.append("The standings follow and Discord is told the corrected results.")
    return lines


async def ask_confirm_results(state, race_id: int):
    """Open `state`'s dialog before confirming a race's reports (the lobby's and the results desk's):
    who has not reported, and each racer's place, points and share from a dry run; "Confirm" calls
    `state.confirm(race_id, acknowledge_missing)`, which checks it all again."""
    previewed = await call_service(
        state,
        lambda actor_id, uow, _settings: results_preview.preview_confirm(
            int(race_id), actor_id=actor_id, uow=uow
        ),
    )
    if previewed.refused:
        return previewed.toast()
    preview = previewed.value
    missing = len(preview.missing)
    state._ask(
        title=f"Confirm the results of {preview.race_name}?",
        lines=results_lines(preview, load_settings().currency, confirming=True),
        label=f"Confirm: {missing} racer(s) DNF" if missing else "Confirm the results",
        handler="confirm",
        args={"race_id": preview.race_id, "acknowledge_missing": bool(missing)},
    )
    return None
