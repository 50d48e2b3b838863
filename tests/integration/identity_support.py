"""Shared set-up for the identity tests: a fake Discord, settings, and the auth routes over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cozykart.api import auth
from cozykart.db.tables import Racer
from cozykart.services.identity import LOGIN_COOKIE_NAME, SESSION_COOKIE_NAME
from cozykart.settings import Settings, load_settings
from tests.fake_discord import CLIENT_ID, CLIENT_SECRET, FakeDiscord

ADMIN_DISCORD_ID = "900000000000000001"
HTTP_TIMEOUT_S = 5


@dataclass
class AuthWorld:
    database: object
    fake: FakeDiscord
    settings: Settings
    client: TestClient

    def uow(self, settings: Settings | None = None):
        return self.database.uow(settings)

    def start_login(self, next_path: str | None = "/me") -> str:
        """GET /auth/discord/login; returns where Discord sends the browser back (the callback URL)."""
        params = {"next": next_path} if next_path is not None else {}
        start = self.client.get(auth.LOGIN_PATH, params=params)
        assert start.status_code == 302, start.text
        assert start.headers["location"].startswith(f"{self.fake.base_url}/oauth2/authorize?")
        approved = httpx.get(start.headers["location"], follow_redirects=False, timeout=HTTP_TIMEOUT_S)
        assert approved.status_code == 302
        return approved.headers["location"]

    def callback(self, callback_url: str) -> httpx.Response:
        url = urlsplit(callback_url)
        return self.client.get(f"{url.path}?{url.query}")

    def log_in(self, next_path: str | None = "/me") -> httpx.Response:
        return self.callback(self.start_login(next_path))

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get(SESSION_COOKIE_NAME)

    @property
    def login_cookie(self) -> str | None:
        return self.client.cookies.get(LOGIN_COOKIE_NAME, path="/auth/discord")

    def racer(self, discord_id: str) -> Racer | None:
        with self.uow() as uow:
            racer = uow.session.exec(select(Racer).where(Racer.discord_id == discord_id)).first()
            if racer is not None:
                uow.session.expunge(racer)
            return racer


def make_settings(db_url: str, fake_base_url: str, **extra: str) -> Settings:
    env = {
        "REFLEX_DB_URL": db_url,
        "DISCORD_CLIENT_ID": CLIENT_ID,
        "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
        "DISCORD_API_BASE": fake_base_url,
        "COZYKART_ADMIN_DISCORD_IDS": ADMIN_DISCORD_ID,
    }
    env.update(extra)
    return load_settings(env)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def build_world(database, fake: FakeDiscord, **extra_env: str) -> Iterator[AuthWorld]:
    settings = make_settings(database.url, fake.base_url, **extra_env)
    app = Starlette(routes=auth.routes)
    app.state.settings = settings
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield AuthWorld(database=database, fake=fake, settings=settings, client=client)
