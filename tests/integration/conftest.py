"""Fixtures several integration modules share: a fake Discord on loopback, the login world on it, and
`reconciled` (a money module's `pytestmark = pytest.mark.usefixtures("reconciled")`: the ledger
reconciles after each of its tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cozykart.services.reads.reconcile import reconcile
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


@pytest.fixture
def reconciled(database) -> Iterator[None]:
    """After the test, the ledger reconciles: every balance proved from the postings."""
    yield
    report = reconcile(uow=database.uow())
    assert report.clean, report
