"""What `/lobby` shows each viewer of a race: controls, reports and the dispute state."""

from __future__ import annotations

from cozykart.services import league
from cozykart.services.identity import Viewer
from cozykart.services.reads.league_pages import lobby_board
from cozykart.ui.pages.lobby import _card
from tests.integration.league_support import make_league


def _viewer(racer_id: int, *, admin: bool = False) -> Viewer:
    return Viewer(
        racer_id=racer_id,
        discord_id=str(racer_id),
        username="u",
        display_name="U",
        avatar_url="",
        mkt_name="",
        is_admin=admin,
        is_host=False,
        is_dj=False,
    )


def test_a_disputed_race_says_what_conflicts_and_offers_the_host_the_whole_table(database):
    lg = make_league(database, 3)
    a, b, c = lg.racer_ids
    race_id = lg.ended_race([a, b, c])
    for racer_id, position in ((a, 1), (b, 1), (c, 3)):
        league.report_result(race_id, position, **lg.kw(racer_id))
    race = lobby_board(uow=database.uow()).races_in_play[0]
    assert race.race_id == race_id and race.disputed

    racer_card = _card(race, _viewer(a), in_a_lobby=False)
    host_card = _card(race, _viewer(lg.host_id), in_a_lobby=False)
    fan_card = _card(race, None, in_a_lobby=False)

    assert racer_card.disputed and racer_card.dispute == race.dispute and "#1" in racer_card.dispute
    assert racer_card.status_label == "Ended · waiting for results"
    assert (racer_card.is_member, racer_card.may_host, racer_card.your_report) == (True, False, "#1")
    assert racer_card.positions == ["1", "2", "3", "DNF"]
    assert [member.report for member in racer_card.members] == ["#1", "#1", "#3"]
    assert (host_card.is_member, host_card.may_host) == (False, True)
    assert _card(race, _viewer(c, admin=True), in_a_lobby=False).may_host
    assert (fan_card.is_member, fan_card.may_host, fan_card.can_join) == (False, False, False)


def test_only_a_racer_outside_every_lobby_may_join_one_with_room(database):
    lg = make_league(database, 2)
    a, b = lg.racer_ids
    race_id = lg.lobby([a], name="Friday")
    lobby = lobby_board(uow=database.uow()).lobbies[0]
    assert lobby.race_id == race_id

    member = _card(lobby, _viewer(a), in_a_lobby=True)
    outsider = _card(lobby, _viewer(b), in_a_lobby=False)
    elsewhere = _card(lobby, _viewer(b), in_a_lobby=True)

    assert (member.is_member, member.can_join, member.status_label) == (True, False, "Lobby open")
    assert (outsider.is_member, outsider.can_join) == (False, True)
    assert not elsewhere.can_join
