"""Identity rules without a database: next paths, names, roles, PKCE, avatars, the dev-login guard."""

from __future__ import annotations

import pytest

from cozykart.domain.errors import InvalidInput
from cozykart.domain.identity import (
    DevLoginInProduction,
    Role,
    parse_role,
    refuse_dev_login_in_production,
    safe_next,
    safe_next_path,
    validate_mkt_name,
)
from cozykart.integrations.discord_oauth import DiscordOAuth, DiscordUser, code_challenge, new_code_verifier


@pytest.mark.parametrize("path", ["/", "/me", "/admin/roles", "/standings?season=2", "/racers/7#stats"])
def test_a_path_on_this_site_is_kept(path):
    assert safe_next_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        None,
        "",
        "me",
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
        "/auth/logout",
        "/" + "a" * 600,
    ],
)
def test_any_other_next_goes_home(path):
    assert safe_next_path(path) == "/"


def test_mario_kart_tour_names():
    assert validate_mkt_name("  Koopa   Kid 77 ", length_max=32) == "Koopa Kid 77"
    assert validate_mkt_name("Peach★ブロッサム", length_max=32) == "Peach★ブロッサム"
    assert validate_mkt_name("   ", length_max=32) is None
    assert validate_mkt_name(None, length_max=32) is None
    for bad in ("x" * 33, "new\nline", "zero\u200bwidth"):
        with pytest.raises(InvalidInput):
            validate_mkt_name(bad, length_max=32)


def test_roles_parse_case_insensitively():
    assert parse_role("DJ") is Role.DJ
    assert parse_role(" host ") is Role.HOST
    with pytest.raises(InvalidInput):
        parse_role("admin")


def test_pkce_challenge_matches_rfc_7636():
    assert code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    verifier = new_code_verifier()
    assert 43 <= len(verifier) <= 128 and verifier != new_code_verifier()


def test_authorize_url_asks_for_identify_with_s256():
    oauth = DiscordOAuth(client_id="123", client_secret="s3cret", api_base="http://127.0.0.1:1/api/")
    url = oauth.authorize_url(state="st", code_challenge="ch", redirect_uri="http://127.0.0.1:2/cb")
    assert url.startswith("http://127.0.0.1:1/oauth2/authorize?")
    for part in (
        "scope=identify",
        "state=st",
        "code_challenge=ch",
        "code_challenge_method=S256",
        "client_id=123",
    ):
        assert part in url
    assert "s3cret" not in url


def test_the_approval_page_is_beside_the_api():
    for api_base in (
        "https://discord.com/api/v10",
        "https://discord.com/api",
        "https://discord.com/api/v10/",
    ):
        oauth = DiscordOAuth(client_id="1", client_secret="s", api_base=api_base)
        url = oauth.authorize_url(state="s", code_challenge="c", redirect_uri="https://x/cb")
        assert url.startswith("https://discord.com/oauth2/authorize?")
    fake = DiscordOAuth(client_id="1", client_secret="s", api_base="http://127.0.0.1:5000")
    assert fake.authorize_url(state="s", code_challenge="c", redirect_uri="x").startswith(
        "http://127.0.0.1:5000/oauth2/authorize?"
    )


def test_avatar_urls_from_discord_users():
    with_avatar = DiscordUser(
        id="80351110224678912", username="n", global_name=None, avatar_hash="a_" + "0" * 32
    )
    assert with_avatar.avatar_url() == (
        "https://cdn.discordapp.com/avatars/80351110224678912/a_" + "0" * 32 + ".png?size=128"
    )
    assert with_avatar.display_name == "n"
    new_default = DiscordUser(id="80351110224678912", username="n", global_name="N", avatar_hash=None)
    assert (
        new_default.avatar_url()
        == f"https://cdn.discordapp.com/embed/avatars/{(80351110224678912 >> 22) % 6}.png"
    )
    legacy = DiscordUser(id="1", username="n", global_name=None, avatar_hash=None, discriminator="1337")
    assert legacy.avatar_url() == "https://cdn.discordapp.com/embed/avatars/2.png"


def test_dev_login_refused_only_in_production():
    refuse_dev_login_in_production(dev_login=True, production=False)
    refuse_dev_login_in_production(dev_login=False, production=True)
    with pytest.raises(DevLoginInProduction, match="COZYKART_DEV_LOGIN"):
        refuse_dev_login_in_production(dev_login=True, production=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/me", "/me"),
        ("http://localhost:3000/me", "http://localhost:3000/me"),
        ("HTTP://LocalHost:3000/me?x=1", "http://localhost:3000/me?x=1"),
        ("http://localhost:3000", "http://localhost:3000/"),
        ("http://localhost:3000//evil.example", "http://localhost:3000/"),
        ("http://evil.example/me", "/"),
        ("http://localhost.evil.example/me", "/"),
        ("http://localhost:3000@evil.example/me", "/"),
        ("http://user@localhost:3000/me", "/"),
        ("http://localhost:notaport/me", "/"),
        ("ftp://localhost/me", "/"),
    ],
)
def test_an_absolute_way_back_must_stay_on_this_host(raw, expected):
    assert safe_next(raw, site_hostname="localhost") == expected


def test_without_a_known_host_only_paths_are_kept():
    assert safe_next("http://localhost:3000/me", site_hostname=None) == "/"
    assert safe_next("/me", site_hostname=None) == "/me"
