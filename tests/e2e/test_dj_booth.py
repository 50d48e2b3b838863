"""The DJ booth end to end, in Chromium against the served app: a signed Stripe tip with a song
reaches the DJ's open `/dj` without reloading, with the fan's name, song, message and amount;
Played takes it out of the queue and `/overlay/requests` shows it as now playing; a refunded
tip's request turns up struck out. A racer without the DJ role is told "only the DJ"."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from cozykart.ui import routes
from cozykart.ui.pages.overlay_requests import RequestsOverlayState
from cozykart.ui.pages.overlays import OverlayState
from tests.e2e.test_live_pot import _post_checkout, _post_full_refund
from tests.e2e.test_money_pages import PAGE_TIMEOUT_MS, _expect, _new_page, _open_as
from tests.fake_discord import FakeUser
from tests.reflex_viewer import Viewer, run_async

pytestmark = pytest.mark.e2e
PUSH_TIMEOUT_MS = 5_000
SOCKET_TIMEOUT_S = 30
HANDLER_SETTLE_S = 2.0  # long enough for a handler a client started to have run and pushed
# What a client might send to each RequestsOverlayState handler (setvar: make itself "loaded").
HANDLER_PAYLOADS = {"join": {}, "reload": {}, "setvar": {"var_name": "loaded", "value": True}}
DANA = FakeUser(id="80351110224678833", username="dj_dana", global_name="DJ Dana", avatar=None)


def _post_tip(
    served_app, *, song: str, fan_name: str, message: str, amount_cents: int = 700, dj: str | None = DANA.id
) -> str:
    """A signed Stripe tip for Dana (`dj` None: the DJ on duty); returns its payment intent."""
    named = {"dj": dj} if dj else {}
    metadata = {"kind": "tip", "song": song, "message": message, "fan_name": fan_name, **named}
    return _post_checkout(served_app, amount_cents, metadata)


def _make_dj(db, discord_id: str) -> None:
    with db.engine.begin() as connection:
        changed = connection.execute(
            text("update racer set is_dj = true where discord_id = :id"), {"id": discord_id}
        ).rowcount
    assert changed == 1


def _audited(db, song: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text("select kind, new_value from admin_action where subject like :subject"),
                {"subject": f"%{song}"},
            ).all()
        ]


def test_a_signed_tip_reaches_the_open_booth_live_and_played_shows_on_the_overlay(
    served_app, fake_discord_server, browser, db, overlay_key
):
    expect = _expect()
    booth, overlay = _new_page(browser), _new_page(browser)
    song = f"Rainbow Road {uuid.uuid4().hex[:6]}"
    try:
        _open_as(booth, served_app, fake_discord_server, DANA, "/dj")
        expect(booth.get_by_test_id("dj-refused")).to_contain_text("Only the DJ", timeout=PAGE_TIMEOUT_MS)
        assert booth.get_by_test_id("dj-booth").count() == 0

        _make_dj(db, DANA.id)
        booth.reload()
        expect(booth.get_by_test_id("dj-booth")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        expect(booth.get_by_test_id("dj-empty")).to_be_visible()
        overlay.goto(served_app.url(f"/overlay/requests?key={overlay_key}"), timeout=PAGE_TIMEOUT_MS)
        expect(overlay.get_by_test_id("requests-overlay")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        background = overlay.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background in {"rgba(0, 0, 0, 0)", "transparent"}

        _post_tip(served_app, song=song, fan_name="Fan <b>Fiona</b>", message="One more *lap*!")

        request = booth.get_by_test_id("dj-request").filter(has_text=song)
        expect(request).to_have_count(1, timeout=PUSH_TIMEOUT_MS)  # live: the booth was not reloaded
        expect(request).to_contain_text("Fan <b>Fiona</b>")  # text, not markup
        expect(request.get_by_test_id("dj-request-message")).to_contain_text("One more *lap*!")
        expect(request.get_by_test_id("dj-request-amount")).to_have_text("$7.00")

        request.get_by_test_id("dj-played").click()

        expect(request).to_have_count(0, timeout=PUSH_TIMEOUT_MS)
        expect(booth.get_by_test_id("dj-decided").filter(has_text=song)).to_contain_text("played")
        expect(overlay.get_by_test_id("requests-overlay-now-playing")).to_have_text(
            song, timeout=PUSH_TIMEOUT_MS
        )
        assert _audited(db, song) == [("song_played", "played")]
    finally:
        booth.context.close()
        overlay.context.close()


def test_a_refunded_tip_leaves_the_queue_struck_out_and_the_fan_unnamed(
    served_app, fake_discord_server, browser, db
):
    expect = _expect()
    booth = _new_page(browser)
    song = f"Koopa Cape {uuid.uuid4().hex[:6]}"
    try:
        _open_as(booth, served_app, fake_discord_server, DANA, "/dj")
        # The login's round trip through (fake) Discord ends on /dj: wait for it, or the reload
        # below can abort a navigation still under way (net::ERR_ABORTED, seen once in CI).
        booth_or_refused = booth.get_by_test_id("dj-booth").or_(booth.get_by_test_id("dj-refused"))
        expect(booth_or_refused).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        _make_dj(db, DANA.id)
        booth.reload()
        expect(booth.get_by_test_id("dj-booth")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        payment_intent = _post_tip(served_app, song=song, fan_name="Gus", message="for you")
        request = booth.get_by_test_id("dj-request").filter(has_text=song)
        expect(request).to_have_count(1, timeout=PUSH_TIMEOUT_MS)

        _post_full_refund(served_app, payment_intent, 700)

        expect(request).to_have_count(0, timeout=PUSH_TIMEOUT_MS)
        decided = booth.get_by_test_id("dj-decided").filter(has_text=song)
        expect(decided.get_by_test_id("dj-decided-status")).to_have_text("refunded", timeout=PUSH_TIMEOUT_MS)
        expect(decided).not_to_contain_text("Gus")
        style = decided.get_by_test_id("dj-decided-song").evaluate(
            "e => getComputedStyle(e).textDecorationLine"
        )
        assert style == "line-through"
    finally:
        booth.context.close()


@pytest.mark.parametrize("query", [{}, {"key": "wrong"}], ids=["no-key", "wrong-key"])
def test_a_client_without_the_key_calling_every_requests_overlay_handler_gets_no_song(served_app, db, query):
    assert set(RequestsOverlayState.event_handlers) == set(HANDLER_PAYLOADS), "a new handler: add it here"
    state_name = RequestsOverlayState.get_full_name()
    song = f"Intruder Song {uuid.uuid4().hex[:6]}"

    async def call_every_handler() -> Viewer:
        viewer = Viewer(
            served_app.base_url, routes.REQUESTS_OVERLAY, query, headers={"Origin": served_app.base_url}
        )
        await viewer.connect()
        try:
            # What the page sends the overlay shell's `open`: the key its address had (none, or a wrong one).
            await viewer.send(f"{OverlayState.get_full_name()}.open", {"key": query.get("key", "")})
            await viewer.wait_for(lambda v: v.var("overlay_state", "checked") is True, SOCKET_TIMEOUT_S)
            for handler, payload in HANDLER_PAYLOADS.items():
                await viewer.send(f"{state_name}.{handler}", payload)
            await asyncio.sleep(HANDLER_SETTLE_S)
            await asyncio.to_thread(
                _post_tip, served_app, song=song, fan_name="Intruder", message="hi", dj=None
            )
            await asyncio.sleep(HANDLER_SETTLE_S)
        finally:
            await viewer.disconnect()
        return viewer

    viewer = run_async(call_every_handler)

    assert viewer.var("overlay_state", "authorized") is False
    assert viewer.var("requests_overlay_state", "loaded") is not True
    assert not viewer.var("requests_overlay_state", "up_next")
    assert song not in str(viewer.var("requests_overlay_state", "now_playing"))
