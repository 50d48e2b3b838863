"""Who a person is and what they may call themselves: pure rules of identity.

The roles a racer can be granted, the shape of a Mario Kart Tour name, where a
login may send the browser back to, and the errors a login can end in. Nothing
here knows about HTTP, Discord or the database.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from urllib.parse import urlsplit

from cozykart.domain.errors import CozyKartError, InvalidInput, PermissionDenied, TooManyRequests, Unavailable

NEXT_PATH_LENGTH_MAX = 512
DISCORD_ID_LENGTH_MAX = 32  # a snowflake has at most 20 digits; the column holds 32
DISCORD_NAME_LENGTH_MAX = 64  # a Discord username or display name as stored (longer ones are cut)
AVATAR_URL_LENGTH_MAX = 512  # a longer avatar address is dropped, not cut
MKT_NAME_LENGTH_MAX = 32  # a Mario Kart Tour name
NEXT_PATH_DEFAULT = "/"
# One IPv6 subscriber is given a whole /64, so its addresses count as one client.
IPV6_CLIENT_PREFIX_LENGTH = 64


class Role(StrEnum):
    """A role an admin grants or revokes. Admins themselves come from the settings."""

    HOST = "host"
    DJ = "dj"


ROLE_LABELS = {Role.HOST: "host", Role.DJ: "DJ"}


class LoginFailed(CozyKartError):
    """A login could not be completed (stale or forged state, a refused code, Discord down)."""


class LoginUnavailable(Unavailable):
    """This way of logging in is not configured on this deployment."""


class TooManyLoginAttempts(TooManyRequests):
    """Too many logins are waiting for Discord (from this client, or in all); answered 429."""


class NotLoggedIn(PermissionDenied):
    """The action needs a logged-in racer and there is none (or the session ended)."""

    http_status = 401


class DevLoginInProduction(CozyKartError):
    """The developer login is switched on in production mode; the app refuses to start."""


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise InvalidInput(f"Unknown role {raw!r}: choose host or DJ.") from None


def validate_mkt_name(raw: str | None, *, length_max: int) -> str | None:
    """A Mario Kart Tour name as stored: printable, spaces trimmed and collapsed, at most `length_max`.

    An empty name clears it (None).
    """
    raw = raw or ""
    if not raw.isprintable():
        raise InvalidInput("A Mario Kart Tour name can only hold letters, digits, symbols and spaces.")
    name = " ".join(raw.split())
    if not name:
        return None
    if len(name) > length_max:
        raise InvalidInput(f"A Mario Kart Tour name has at most {length_max} characters.")
    return name


def client_network(address: str) -> str:
    """The client a request counts against: its IPv4 address, or its IPv6 /64 network.

    An IPv4 address mapped into IPv6 counts as the IPv4 address. Something that is
    not an address (a test client's name) is its own client.
    """
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX_LENGTH}", strict=False))


def safe_next_path(raw: str | None) -> str:
    """Where to send the browser after login or logout: a path on this site, or `/`.

    Only a relative path that starts with a single `/` is kept, so a crafted
    `next` can never redirect to another site (`//evil.example`, `/\\evil`,
    `https://...`) or smuggle a header (control characters).
    """
    path = (raw or "").strip()
    if (
        not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or len(path) > NEXT_PATH_LENGTH_MAX
        or not path.isprintable()
        or path.startswith("/auth/")
    ):
        return NEXT_PATH_DEFAULT
    return path


def safe_next(raw: str | None, *, site_hostname: str | None) -> str:
    """`safe_next_path`, or an absolute http(s) URL on this very host (another port allowed).

    When the pages and the server run on two ports of one host (Reflex's dev
    mode: pages on :3000, server on :8000), the way back after login is an
    absolute URL to the pages' port. Any other host is refused, so this is
    never an open redirect.
    """
    text = (raw or "").strip()
    if not text.lower().startswith(("http://", "https://")) or not site_hostname:
        return safe_next_path(text)
    if "\\" in text or not text.isprintable() or len(text) > NEXT_PATH_LENGTH_MAX:
        return NEXT_PATH_DEFAULT
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError:
        return NEXT_PATH_DEFAULT
    if "@" in url.netloc or (url.hostname or "").lower() != site_hostname.lower():
        return NEXT_PATH_DEFAULT
    path = safe_next_path((url.path or "/") + (f"?{url.query}" if url.query else ""))
    hostname = url.hostname or ""  # equal to site_hostname, checked above
    host = f"[{hostname}]" if ":" in hostname else hostname
    netloc = host + (f":{port}" if port else "")
    return f"{url.scheme.lower()}://{netloc}{path}"


def refuse_dev_login_in_production(*, dev_login: bool, production: bool) -> None:
    if dev_login and production:
        raise DevLoginInProduction(
            "COZYKART_DEV_LOGIN=1 lets anyone log in as a demo racer; it is for local use only "
            "and the app refuses to start with it in production mode (reflex run --env prod). "
            "Unset COZYKART_DEV_LOGIN."
        )
