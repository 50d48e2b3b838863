"""Identity: Discord login, server-side sessions, roles and the racer's own profile.

Login (the OAuth2 authorization-code flow with `state` and PKCE S256):

    start = begin_login(next_path="/me", redirect_uri=..., client_address=..., uow=...)
    # the browser gets `start.browser_secret` in a short-lived HttpOnly cookie
    # and is sent to `start.authorize_url`; Discord sends it back with code+state
    signed_in = complete_login(state=..., code=..., browser_secret=..., redirect_uri=..., ...)
    # the browser gets `signed_in.session_token` in the session cookie

The `state` and the PKCE verifier are stored only as SHA-256 digests, expire
after `LOGIN_ATTEMPT_LIFETIME` (an expired attempt is refused and deleted at
its callback, and every new one first deletes all that expired), and are used
once. Starting a login needs no account, so what it writes is bounded: at most
`LOGIN_ATTEMPTS_PER_CLIENT_MAX` unfinished attempts live per client address
(an IPv6 /64 counts as one) and `LOGIN_ATTEMPTS_LIVE_MAX` in all; past either,
`TooManyLoginAttempts` (429) and nothing is written. The verifier is the secret
the browser keeps in its login cookie, so a login can only be finished by the
browser that started it (no login CSRF). A session is an opaque random id in a
cookie; the database keeps its digest, its racer and its expiry; logout
revokes it.

Every role is read on the server: admin from `COZYKART_ADMIN_DISCORD_IDS`,
host and DJ from the racer's row. Entry points never pass a role or a racer id
the client chose: they turn the session cookie into `acting_racer_id(...)` and
hand that to the service, which loads the actor and checks the permission.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cozykart.db.types import utc_now
from cozykart.db.uow import UnitOfWork
from cozykart.domain.errors import NotFound, PermissionDenied
from cozykart.domain.identity import (
    MKT_NAME_LENGTH_MAX,
    LoginFailed,
    LoginUnavailable,
    NotLoggedIn,
    Role,
    TooManyLoginAttempts,
    client_network,
    parse_role,
    safe_next,
    validate_mkt_name,
)
from cozykart.integrations.discord_oauth import (
    DiscordOAuth,
    DiscordOAuthError,
    code_challenge,
    new_code_verifier,
)
from cozykart.services.actors import load_admin
from cozykart.services.demo import DEMO_DISCORD_ID_PREFIX
from cozykart.settings import Settings

SESSION_COOKIE_NAME = "cozykart_session"
LOGIN_COOKIE_NAME = "cozykart_login"
LOGIN_COOKIE_PATH = "/auth/discord"
SESSION_LIFETIME = timedelta(days=30)
LOGIN_ATTEMPT_LIFETIME = timedelta(minutes=10)
# Unfinished logins one client (an IPv4 address or an IPv6 /64) may have waiting for Discord at once;
# a finished one frees its place, so a household or a LAN party behind one address is not refused.
LOGIN_ATTEMPTS_PER_CLIENT_MAX = 10
# Every live attempt, finished or not (about 300 bytes each): what many addresses together can write.
LOGIN_ATTEMPTS_LIVE_MAX = 10_000
# PostgreSQL: login starts take this transaction-scoped advisory lock, so two cannot both pass a bound.
LOGIN_START_LOCK_KEY = 0x636B_6C6F  # "cklo"
SESSION_TOKEN_BYTES = 32
STATE_BYTES = 32
SECRET_LENGTH_MAX = 128  # longer cookies or states are refused before any hashing
ROLE_HISTORY_COUNT_MAX = 50
ROLES_RACER_COUNT_MAX = 500
DEV_LOGIN_CHOICE_COUNT_MAX = 50

METHOD_DISCORD = "discord"
METHOD_DEV = "dev"
_OTHER_BROWSER = "This login was started in another browser, or took too long. Please log in again here."
_ROLE_COLUMNS = {Role.HOST: "is_host", Role.DJ: "is_dj"}


@dataclass(frozen=True)
class LoginStart:
    authorize_url: str = field(repr=False)
    browser_secret: str = field(repr=False)
    lifetime_s: int


@dataclass(frozen=True)
class SignedIn:
    session_token: str = field(repr=False)
    racer_id: int
    display_name: str
    next_path: str
    expires_at: datetime
    lifetime_s: int


@dataclass(frozen=True)
class Viewer:
    """The logged-in racer, with the roles the server gives them right now."""

    racer_id: int
    discord_id: str
    username: str
    display_name: str
    avatar_url: str
    mkt_name: str
    is_admin: bool
    is_host: bool
    is_dj: bool


@dataclass(frozen=True)
class Profile:
    racer_id: int
    username: str
    display_name: str
    avatar_url: str
    mkt_name: str


@dataclass(frozen=True)
class RoleRow:
    racer_id: int
    username: str
    display_name: str
    avatar_url: str
    is_admin: bool
    is_host: bool
    is_dj: bool


@dataclass(frozen=True)
class RoleChangeView:
    racer_name: str
    role: str
    old_value: bool
    new_value: bool
    actor_name: str
    created_at: datetime


@dataclass(frozen=True)
class RolesOverview:
    racers: tuple[RoleRow, ...]
    history: tuple[RoleChangeView, ...]


@dataclass(frozen=True)
class DevLoginChoice:
    discord_id: str
    display_name: str
    username: str
    roles: str


# --- secrets ------------------------------------------------------------------


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def session_token_from_cookie_header(cookie_header: str | None) -> str | None:
    """The session id in a raw `Cookie:` header, or None.

    Parsed by hand (not `http.cookies`), so one malformed cookie of another
    site component cannot hide ours.
    """
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE_NAME and value:
            return value.strip('"') or None
    return None


def _usable(secret: str | None) -> bool:
    return secret is not None and 0 < len(secret) <= SECRET_LENGTH_MAX


def _discord(settings: Settings) -> DiscordOAuth:
    if not (settings.discord_client_id and settings.discord_client_secret):
        raise LoginUnavailable(
            "Discord login is not configured on this server "
            "(set DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET)."
        )
    return DiscordOAuth(
        client_id=settings.discord_client_id,
        client_secret=settings.discord_client_secret,
        api_base=settings.discord_api_base,
    )


# --- login ----------------------------------------------------------------------


def begin_login(
    *,
    next_path: str | None,
    redirect_uri: str,
    client_address: str,
    uow: UnitOfWork,
    site_hostname: str | None = None,
    now: datetime | None = None,
) -> LoginStart:
    """Start a Discord login: remember its state and verifier (hashed), build the Discord URL.

    `next_path` is where the browser returns afterwards: a path on this site,
    or an absolute URL on `site_hostname` (see `safe_next`); anything else is `/`.
    `client_address` is the address the request came from, which the bounds count.
    """
    now = now or utc_now()
    oauth = _discord(uow.base_settings)
    state = secrets.token_urlsafe(STATE_BYTES)
    verifier = new_code_verifier()
    client_hash = digest(client_network(client_address))
    with uow:
        uow.identity.lock_login_starts(LOGIN_START_LOCK_KEY)
        uow.identity.delete_expired_login_attempts(now)
        _refuse_past_the_bounds(uow, client_hash, now)
        uow.identity.add_login_attempt(
            state_hash=digest(state),
            verifier_hash=digest(verifier),
            next_path=safe_next(next_path, site_hostname=site_hostname),
            client_hash=client_hash,
            created_at=now,
            expires_at=now + LOGIN_ATTEMPT_LIFETIME,
        )
        uow.commit()
    return LoginStart(
        authorize_url=oauth.authorize_url(
            state=state, code_challenge=code_challenge(verifier), redirect_uri=redirect_uri
        ),
        browser_secret=verifier,
        lifetime_s=int(LOGIN_ATTEMPT_LIFETIME.total_seconds()),
    )


def _refuse_past_the_bounds(uow: UnitOfWork, client_hash: str, now: datetime) -> None:
    """TooManyLoginAttempts when this client, or everyone together, has as many live attempts as allowed."""
    waiting = uow.identity.waiting_login_attempts(client_hash, now)
    retry_after_s = int(LOGIN_ATTEMPT_LIFETIME.total_seconds())
    if waiting >= LOGIN_ATTEMPTS_PER_CLIENT_MAX:
        raise TooManyLoginAttempts(
            "Too many logins were started from your network and not finished. "
            "Finish one, or try again in a few minutes.",
            retry_after_s=retry_after_s,
        )
    if uow.identity.live_login_attempts(now) >= LOGIN_ATTEMPTS_LIVE_MAX:
        raise TooManyLoginAttempts(
            "Too many logins are in progress right now. Please try again in a few minutes.",
            retry_after_s=retry_after_s,
        )


def complete_login(
    *,
    state: str | None,
    code: str | None,
    browser_secret: str | None,
    redirect_uri: str,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> SignedIn:
    """Finish a Discord login: check the state once, trade the code, create or update the racer.

    Two short transactions around the calls to Discord, never one held open
    across the network: the first consumes the login attempt (so a replayed
    callback fails even if Discord is slow), the second writes the racer and
    the session.
    """
    now = now or utc_now()
    oauth = _discord(uow.base_settings)
    if not (_usable(state) and _usable(code)):
        raise LoginFailed("This login link is incomplete or has expired. Please log in again.")
    if not _usable(browser_secret):
        raise LoginFailed(_OTHER_BROWSER)
    assert state is not None and code is not None and browser_secret is not None
    next_path = _consume_attempt(state, browser_secret, uow=uow, now=now)
    try:
        access_token = oauth.exchange_code(code=code, code_verifier=browser_secret, redirect_uri=redirect_uri)
        user = oauth.fetch_user(access_token)
    except DiscordOAuthError as error:
        raise LoginFailed(f"Discord did not confirm the login ({error}). Please log in again.") from None
    with uow:
        racer = uow.league.upsert_racer(
            discord_id=user.id,
            username=user.username,
            display_name=user.display_name,
            avatar_url=user.avatar_url(),
            now=now,
        )
        token, expires_at = _new_session(uow, racer.id, METHOD_DISCORD, now)
        uow.commit()
    return SignedIn(
        session_token=token,
        racer_id=racer.id,
        display_name=racer.display_name,
        next_path=next_path,
        expires_at=expires_at,
        lifetime_s=int(SESSION_LIFETIME.total_seconds()),
    )


def _consume_attempt(state: str, browser_secret: str, *, uow: UnitOfWork, now: datetime) -> str:
    stale = "This login link has expired or was already used. Please log in again."
    with uow:
        attempt = uow.identity.login_attempt(digest(state))
        if attempt is not None and attempt.expires_at <= now:
            uow.identity.delete_login_attempt(attempt.id)
            uow.commit()  # the refusal below keeps the deletion
            raise LoginFailed(stale)
        if attempt is None or attempt.used_at is not None:
            raise LoginFailed(stale)
        if not hmac.compare_digest(attempt.verifier_hash, digest(browser_secret)):
            raise LoginFailed(_OTHER_BROWSER)
        # Only one of two racing callbacks can flip used_at from NULL.
        if not uow.identity.use_login_attempt(attempt.id, now):
            raise LoginFailed(stale)
        next_path = attempt.next_path
        uow.commit()
    return next_path


def _new_session(uow: UnitOfWork, racer_id: int, method: str, now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(SESSION_TOKEN_BYTES)
    expires_at = now + SESSION_LIFETIME
    uow.identity.add_session(
        token_hash=digest(token), racer_id=racer_id, method=method, created_at=now, expires_at=expires_at
    )
    return token, expires_at


# --- developer login ------------------------------------------------------------


def _require_dev_login(settings: Settings) -> None:
    if not settings.dev_login:
        raise LoginUnavailable(
            "The developer login is off (it needs COZYKART_DEV_LOGIN=1, for local use only)."
        )


def dev_login_choices(*, uow: UnitOfWork) -> list[DevLoginChoice]:
    """The demo racers one can log in as with the developer login."""
    settings = uow.base_settings
    _require_dev_login(settings)
    with uow:
        racers = uow.identity.racers_with_discord_prefix(DEMO_DISCORD_ID_PREFIX, DEV_LOGIN_CHOICE_COUNT_MAX)
        return [
            DevLoginChoice(
                discord_id=racer.discord_id,
                display_name=racer.display_name,
                username=racer.username,
                roles=", ".join(_role_names(racer, settings)),
            )
            for racer in racers
        ]


def dev_login(
    discord_id: str,
    *,
    next_path: str | None = None,
    uow: UnitOfWork,
    site_hostname: str | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Log in as a demo racer without Discord: only with COZYKART_DEV_LOGIN=1, only demo racers."""
    now = now or utc_now()
    _require_dev_login(uow.base_settings)
    if not discord_id.startswith(DEMO_DISCORD_ID_PREFIX):
        raise PermissionDenied("The developer login only signs in demo racers.")
    with uow:
        racer = uow.league.racer_by_discord_id(discord_id)
        if racer is None:
            raise NotFound("No such demo racer; load the demo data with `python -m cozykart seed-demo`.")
        token, expires_at = _new_session(uow, racer.id, METHOD_DEV, now)
        uow.commit()
    return SignedIn(
        session_token=token,
        racer_id=racer.id,
        display_name=racer.display_name,
        next_path=safe_next(next_path, site_hostname=site_hostname),
        expires_at=expires_at,
        lifetime_s=int(SESSION_LIFETIME.total_seconds()),
    )


# --- sessions -------------------------------------------------------------------


def viewer_for_session(
    session_token: str | None, *, uow: UnitOfWork, now: datetime | None = None
) -> Viewer | None:
    """Who holds this session id, with their roles now; None when unknown, expired or revoked."""
    if not _usable(session_token):
        return None
    assert session_token is not None
    now = now or utc_now()
    with uow:
        row = uow.identity.session_and_racer(digest(session_token))
        if row is None:
            return None
        auth_session, racer = row
        if auth_session.revoked_at is not None or auth_session.expires_at <= now:
            return None
        return Viewer(
            racer_id=racer.id,
            discord_id=racer.discord_id,
            username=racer.username,
            display_name=racer.display_name,
            avatar_url=racer.avatar_url or "",
            mkt_name=racer.mkt_name or "",
            is_admin=racer.discord_id in uow.base_settings.admin_discord_ids,
            is_host=racer.is_host,
            is_dj=racer.is_dj,
        )


def acting_racer_id(session_token: str | None, *, uow: UnitOfWork, now: datetime | None = None) -> int:
    """The racer behind a live session, for an entry point about to act; NotLoggedIn otherwise."""
    viewer = viewer_for_session(session_token, uow=uow, now=now)
    if viewer is None:
        raise NotLoggedIn("Please log in first (your session may have ended).")
    return viewer.racer_id


def logout(session_token: str | None, *, uow: UnitOfWork, now: datetime | None = None) -> bool:
    """Revoke a session; True when a live one was revoked. Unknown ids change nothing."""
    if not _usable(session_token):
        return False
    assert session_token is not None
    now = now or utc_now()
    with uow:
        revoked = uow.identity.revoke_session(digest(session_token), now)
        uow.commit()
    return revoked


# --- roles and profile -----------------------------------------------------------


def _role_names(racer, settings: Settings) -> list[str]:
    names = ["admin"] if racer.discord_id in settings.admin_discord_ids else []
    return names + [label for label, held in (("host", racer.is_host), ("DJ", racer.is_dj)) if held]


def _role_row(racer, settings: Settings) -> RoleRow:
    return RoleRow(
        racer_id=racer.id,
        username=racer.username,
        display_name=racer.display_name,
        avatar_url=racer.avatar_url or "",
        is_admin=racer.discord_id in settings.admin_discord_ids,
        is_host=racer.is_host,
        is_dj=racer.is_dj,
    )


def set_role(
    actor_racer_id: int,
    racer_id: int,
    role: str,
    *,
    granted: bool,
    uow: UnitOfWork,
    now: datetime | None = None,
) -> RoleRow:
    """An admin grants (`granted=True`) or revokes a role; a change is audited, a no-op is not."""
    now = now or utc_now()
    parsed = parse_role(role)
    column = _ROLE_COLUMNS[parsed]
    with uow:
        load_admin(uow, actor_racer_id)
        racer = uow.identity.racer_for_update(racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        old_value = bool(getattr(racer, column))
        if old_value != granted:
            uow.identity.set_racer_flag(racer, column, granted)
            uow.identity.add_role_change(
                racer_id=racer.id,
                role=parsed.value,
                old_value=old_value,
                new_value=granted,
                actor_racer_id=actor_racer_id,
                created_at=now,
            )
        row = _role_row(racer, uow.base_settings)
        uow.commit()
    return row


def preview_set_role(
    actor_racer_id: int, racer_id: int, role: str, *, granted: bool, uow: UnitOfWork
) -> tuple[RoleRow, bool]:
    """What `set_role` would do, run and rolled back: the racer after it, and whether anything changes."""
    column = _ROLE_COLUMNS[parse_role(role)]
    with uow:
        before = uow.identity.racer_for_update(racer_id)
        held_before = bool(before is not None and getattr(before, column))
        # set_role joins this transaction (and checks the actor): leaving the block rolls it back.
        row = set_role(actor_racer_id, racer_id, role, granted=granted, uow=uow)
        return row, held_before != granted


def roles_overview(actor_racer_id: int, *, uow: UnitOfWork) -> RolesOverview:
    """Every racer's roles and the latest role changes: for admins only."""
    settings = uow.base_settings
    with uow:
        load_admin(uow, actor_racer_id)
        racers = uow.identity.racers_by_name(ROLES_RACER_COUNT_MAX)
        names = {racer.id: racer.display_name for racer in racers}
        changes = uow.identity.latest_role_changes(ROLE_HISTORY_COUNT_MAX)
        missing = {change.racer_id for change in changes} | {change.actor_racer_id for change in changes}
        missing -= names.keys()
        if missing:
            names.update(uow.identity.racer_names(missing))
        return RolesOverview(
            racers=tuple(_role_row(racer, settings) for racer in racers),
            history=tuple(
                RoleChangeView(
                    racer_name=names.get(change.racer_id, "?"),
                    role=change.role,
                    old_value=change.old_value,
                    new_value=change.new_value,
                    actor_name=names.get(change.actor_racer_id, "?"),
                    created_at=change.created_at,
                )
                for change in changes
            ),
        )


def _profile(racer) -> Profile:
    return Profile(
        racer_id=racer.id,
        username=racer.username,
        display_name=racer.display_name,
        avatar_url=racer.avatar_url or "",
        mkt_name=racer.mkt_name or "",
    )


def profile(racer_id: int, *, uow: UnitOfWork) -> Profile:
    with uow:
        racer = uow.league.racer(racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        return _profile(racer)


def update_profile(racer_id: int, *, mkt_name: str | None, uow: UnitOfWork) -> Profile:
    """A racer edits their own profile; `racer_id` always comes from their session."""
    name = validate_mkt_name(mkt_name, length_max=MKT_NAME_LENGTH_MAX)
    with uow:
        racer = uow.league.racer(racer_id)
        if racer is None:
            raise NotFound("That racer does not exist.")
        if racer.mkt_name != name:
            uow.identity.set_mkt_name(racer, name)  # the standings show it
        result = _profile(racer)
        uow.commit()
    return result
