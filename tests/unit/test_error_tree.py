"""The error tree in `cozykart.domain.errors`'s docstring is the whole truth.

Every `CozyKartError` subclass anywhere in `cozykart/` is defined in the domain
and drawn in the tree, under its real base, in the module the drawing names,
with the HTTP status the drawing shows (and only where the class sets one).
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

import cozykart.domain
from cozykart.api._http import error_response_for
from cozykart.domain import errors
from cozykart.domain.errors import CozyKartError
from cozykart.domain.identity import NotLoggedIn, TooManyLoginAttempts
from cozykart.domain.league import LobbyFull, RaceNotFound, ReasonRequired
from cozykart.domain.payments import TipsUnavailable

PACKAGE_ROOT = Path(cozykart.domain.__file__).resolve().parent.parent
DOMAIN_ROOT = PACKAGE_ROOT / "domain"
_TREE_LINE = re.compile(
    r"^ {4}(?P<prefix>(?:[│ ] {3}|[├└]── )*)(?P<name>[A-Z][A-Za-z]+)(?: {2}(?P<status>\d{3}))?"
    r" +(?P<module>[a-z_]+)\b"
)


def _drawn_tree() -> dict[str, tuple[str | None, str, int | None]]:
    """name -> (parent name, module, status drawn) as the docstring draws it."""
    drawn: dict[str, tuple[str | None, str, int | None]] = {}
    parents: list[str] = []
    lines = (errors.__doc__ or "").splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip().startswith("CozyKartError "))
    for line in lines[start:]:
        match = _TREE_LINE.match(line)
        if match is None:
            assert not line.strip(), f"a line of the tree that does not read as one: {line!r}"
            continue
        depth = len(match["prefix"]) // 4
        del parents[depth:]
        name = match["name"]
        assert name not in drawn, f"{name} is drawn twice"
        status = int(match["status"]) if match["status"] else None
        drawn[name] = (parents[-1] if parents else None, match["module"], status)
        parents.append(name)
    return drawn


def _drawn_class(name: str, module: str) -> type:
    return getattr(importlib.import_module(f"cozykart.domain.{module}"), name)


def _subclasses(root: type) -> set[type]:
    found: set[type] = set()
    pending = [root]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass not in found and subclass.__module__.startswith("cozykart."):
                found.add(subclass)
                pending.append(subclass)
    return found


def _error_classes_in_source() -> dict[str, Path]:
    """Every class under cozykart/ that derives, by its bases' names, from CozyKartError."""
    bases_of: dict[str, set[str]] = {}
    where: dict[str, list[Path]] = {}
    for path in PACKAGE_ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                names = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
                bases_of.setdefault(node.name, set()).update(names)
                where.setdefault(node.name, []).append(path)
    errors_found = {"CozyKartError"}
    grew = True
    while grew:
        grew = False
        for name, bases in bases_of.items():
            if name not in errors_found and bases & errors_found:
                errors_found.add(name)
                grew = True
    for name in errors_found:
        assert len(where[name]) == 1, f"{name} is defined more than once: {where[name]}"
    return {name: where[name][0] for name in errors_found}


def test_every_drawn_error_is_where_and_under_what_the_tree_says() -> None:
    drawn = _drawn_tree()
    assert next(iter(drawn)) == "CozyKartError" and drawn["CozyKartError"][0] is None
    for name, (parent, module, status) in drawn.items():
        error_class = _drawn_class(name, module)
        assert error_class.__module__ == f"cozykart.domain.{module}", (name, error_class.__module__)
        assert issubclass(error_class, CozyKartError), name
        if parent is not None:
            parent_class = _drawn_class(parent, drawn[parent][1])
            assert error_class.__bases__ == (parent_class,), (name, error_class.__bases__, parent)
        assert error_class.__dict__.get("http_status") == status, (name, status)
        assert 400 <= error_class.http_status <= 599, name


def test_every_error_class_in_the_code_is_defined_in_the_domain_and_drawn() -> None:
    drawn = _drawn_tree()
    for name, path in _error_classes_in_source().items():
        assert path.is_relative_to(DOMAIN_ROOT), f"{name} is defined outside cozykart/domain: {path}"
        assert name in drawn, f"{name} ({path}) is missing from the tree in cozykart/domain/errors.py"


def test_every_imported_error_class_is_drawn() -> None:
    for module in pkgutil.iter_modules(cozykart.domain.__path__):
        importlib.import_module(f"cozykart.domain.{module.name}")
    drawn = _drawn_tree()
    missing = sorted(cls.__qualname__ for cls in _subclasses(CozyKartError) if cls.__name__ not in drawn)
    assert not missing, f"missing from the tree: {missing}"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ReasonRequired(), 400),
        (NotLoggedIn("Log in first."), 401),
        (RaceNotFound(7), 404),
        (LobbyFull("Cup"), 409),
        (TooManyLoginAttempts("Wait a minute.", retry_after_s=60), 429),
        (TipsUnavailable("Tips are unavailable here right now."), 503),
    ],
)
def test_error_response_for_answers_with_the_class_status_and_the_message(
    error: CozyKartError, status: int
) -> None:
    response = error_response_for(error)
    assert response.status_code == status
    assert json.loads(response.body) == {"error": error.message}


def test_a_refusal_that_says_when_to_retry_carries_retry_after() -> None:
    response = error_response_for(TooManyLoginAttempts("Wait a minute.", retry_after_s=60))
    assert response.headers["Retry-After"] == "60"
