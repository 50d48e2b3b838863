"""The identity repository: logins, sessions, login attempts and roles."""

from __future__ import annotations

from cozykart.db.repositories import Repository


class IdentityRepository(Repository):
    pass
