"""Discord OAuth2: the authorization-code flow with PKCE (S256), scope `identify`.

The one place that talks to Discord's OAuth endpoints. Everything goes to
`api_base` (`DISCORD_API_BASE`), so tests point it at a local fake server:

    oauth = DiscordOAuth(client_id=..., client_secret=..., api_base=...)
    url = oauth.authorize_url(state=..., code_challenge=..., redirect_uri=...)
    token = oauth.exchange_code(code=..., code_verifier=..., redirect_uri=...)
    user = oauth.fetch_user(token)          # -> DiscordUser

Every failure (network, timeout, refusal, a malformed answer) is a
`DiscordOAuthError` whose message never contains a secret or a token.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from cozykart.domain.identity import DISCORD_NAME_LENGTH_MAX

OAUTH_SCOPE = "identify"
CDN_BASE_DEFAULT = "https://cdn.discordapp.com"
REQUEST_TIMEOUT_S = 10.0
AVATAR_SIZE_PX = 128
DEFAULT_AVATAR_COUNT = 6  # Discord's embed/avatars/0..5
LEGACY_DEFAULT_AVATAR_COUNT = 5  # users with a discriminator: 0..4
DISCORD_EPOCH_SHIFT_BITS = 22
PKCE_VERIFIER_BYTES = 48  # 64 characters, inside RFC 7636's 43..128
ERROR_CODE_LENGTH_MAX = 40
_AVATAR_HASH = re.compile(r"(a_)?[0-9a-f]{32}")
_API_PATH = re.compile(r"/api(/v\d+)?$")


class DiscordOAuthError(Exception):
    """Discord refused or could not be reached; the message is safe to log."""


@dataclass(frozen=True)
class DiscordUser:
    id: str
    username: str
    global_name: str | None
    avatar_hash: str | None
    discriminator: str = "0"

    @property
    def display_name(self) -> str:
        return self.global_name or self.username

    def avatar_url(self, cdn_base: str = CDN_BASE_DEFAULT) -> str:
        """The user's avatar on Discord's CDN, or their default avatar when they have none."""
        if self.avatar_hash:
            return f"{cdn_base}/avatars/{self.id}/{self.avatar_hash}.png?size={AVATAR_SIZE_PX}"
        if self.discriminator not in ("", "0"):
            index = int(self.discriminator) % LEGACY_DEFAULT_AVATAR_COUNT
        else:
            index = (int(self.id) >> DISCORD_EPOCH_SHIFT_BITS) % DEFAULT_AVATAR_COUNT
        return f"{cdn_base}/embed/avatars/{index}.png"


def new_code_verifier() -> str:
    return secrets.token_urlsafe(PKCE_VERIFIER_BYTES)


def code_challenge(verifier: str) -> str:
    """PKCE S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DiscordOAuth:
    def __init__(
        self, *, client_id: str, client_secret: str, api_base: str, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._api_base = api_base.rstrip("/")
        # The page a person approves on lives beside the API, not under it:
        # https://discord.com/api/v10 -> https://discord.com/oauth2/authorize.
        self._site_base = _API_PATH.sub("", self._api_base)
        self._timeout_s = timeout_s

    def authorize_url(self, *, state: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "scope": OAUTH_SCOPE,
                "state": state,
                "redirect_uri": redirect_uri,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
                "prompt": "none",
            }
        )
        return f"{self._site_base}/oauth2/authorize?{query}"

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> str:
        """Trade an authorization code for an access token (the code works once)."""
        body = self._call(
            "POST",
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            auth=(self._client_id, self._client_secret),
        )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise DiscordOAuthError("Discord's token answer has no access token")
        if str(body.get("token_type", "")).lower() != "bearer":
            raise DiscordOAuthError("Discord's token answer is not a bearer token")
        return token

    def fetch_user(self, access_token: str) -> DiscordUser:
        body = self._call("GET", "/users/@me", headers={"Authorization": f"Bearer {access_token}"})
        user_id, username = body.get("id"), body.get("username")
        if not (isinstance(user_id, str) and user_id.isdigit() and isinstance(username, str) and username):
            raise DiscordOAuthError("Discord's user answer has no valid id or username")
        global_name = body.get("global_name")
        avatar_hash = body.get("avatar")
        discriminator = body.get("discriminator") or "0"
        return DiscordUser(
            id=user_id,
            username=username[:DISCORD_NAME_LENGTH_MAX],
            global_name=global_name[:DISCORD_NAME_LENGTH_MAX]
            if isinstance(global_name, str) and global_name
            else None,
            avatar_hash=avatar_hash
            if isinstance(avatar_hash, str) and _AVATAR_HASH.fullmatch(avatar_hash)
            else None,
            discriminator=discriminator
            if isinstance(discriminator, str) and discriminator.isdigit()
            else "0",
        )

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = httpx.request(
                method,
                f"{self._api_base}{path}",
                timeout=self._timeout_s,
                follow_redirects=False,
                headers={"Accept": "application/json", **kwargs.pop("headers", {})},
                **kwargs,
            )
        except httpx.HTTPError as error:
            raise DiscordOAuthError(f"Discord could not be reached ({type(error).__name__})") from None
        if response.status_code != 200:
            raise DiscordOAuthError(
                f"Discord answered {response.status_code} {_error_code(response)}".strip()
            )
        try:
            body = response.json()
        except ValueError:
            raise DiscordOAuthError("Discord's answer is not JSON") from None
        if not isinstance(body, dict):
            raise DiscordOAuthError("Discord's answer is not a JSON object")
        return body


def _error_code(response: httpx.Response) -> str:
    """The OAuth error code of a refusal (`invalid_grant`...), never the body itself."""
    try:
        body = response.json()
    except ValueError:
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    return code[:ERROR_CODE_LENGTH_MAX] if isinstance(code, str) and code.isascii() else ""
