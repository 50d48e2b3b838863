"""Fixtures several integration modules share: a fake Discord on loopback, and the login world on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.integration.identity_support import AuthWorld, build_world


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    with running_fake_discord() as fake:
        yield fake


@pytest.fixture
def world(database, fake_discord) -> Iterator[AuthWorld]:
    """The login routes on the `database` fixture's database, talking to `fake_discord`."""
    yield from build_world(database, fake_discord)
