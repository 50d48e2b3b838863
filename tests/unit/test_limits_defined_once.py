"""Each limit has one home: defined once in cozykart/ (in the domain, which owns the rules), imported elsewhere."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from cozykart.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "cozykart"

# name -> the one module that defines it
LIMIT_HOMES = {
    "BPS_PER_WHOLE": "cozykart/domain/money.py",
    "RACE_SIZE_MAX": "cozykart/domain/league.py",  # the lobby size
    "DEFAULT_POINTS_TABLE": "cozykart/domain/league.py",
    "LOBBY_NAME_LENGTH_MAX": "cozykart/domain/league.py",
    "SEASON_NAME_LENGTH_MAX": "cozykart/domain/league.py",
    "FIX_REASON_LENGTH_MAX": "cozykart/domain/league.py",
    "MKT_NAME_LENGTH_MAX": "cozykart/domain/identity.py",
    "DISCORD_ID_LENGTH_MAX": "cozykart/domain/identity.py",
    "DISCORD_NAME_LENGTH_MAX": "cozykart/domain/identity.py",
    "AVATAR_URL_LENGTH_MAX": "cozykart/domain/identity.py",
    "REASON_LENGTH_MIN": "cozykart/domain/ledger.py",
    "REASON_LENGTH_MAX": "cozykart/domain/ledger.py",
    "PAYOUT_MIN_CENTS_MAX": "cozykart/settings.py",  # the money settings' ranges: the environment's
    "HOLD_DAYS_MAX": "cozykart/settings.py",
    "SPLIT_POLICIES": "cozykart/domain/league.py",
    "SPLIT_POLICY_DEFAULT": "cozykart/domain/league.py",
    "WINNER_BONUS_BPS_DEFAULT": "cozykart/domain/league.py",
    "KEY_LENGTH_MAX": "cozykart/domain/payments.py",  # a ledger idempotency key
    "ITEM_LENGTH_MAX": "cozykart/domain/payments.py",
    "FAN_NAME_LENGTH_MAX": "cozykart/domain/payments.py",
    "MESSAGE_LENGTH_MAX": "cozykart/domain/payments.py",
    "PROVIDER_LENGTH_MAX": "cozykart/domain/payments.py",
}
# Former second names of the same limits: gone for good.
RETIRED_NAMES = (
    "LOBBY_SIZE_MAX",
    "USER_FIELD_LENGTH_MAX",
    "SETTING_REASON_LENGTH_MAX",
    "REASON_INPUT_LENGTH_MAX",
)


def _module_level_names(path: Path) -> set[str]:
    """The names a module binds at its top level by assignment (imports are not definitions)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def _definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _module_level_names(path):
            found[name].append(str(path.relative_to(PROJECT_ROOT)))
    return found


@pytest.mark.parametrize("name", sorted(LIMIT_HOMES))
def test_each_limit_is_defined_once_in_its_home(name):
    assert _definitions()[name] == [LIMIT_HOMES[name]]


@pytest.mark.parametrize("name", RETIRED_NAMES)
def test_no_second_name_for_a_limit_comes_back(name):
    assert _definitions()[name] == []


def test_the_check_sees_a_definition_and_not_an_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from cozykart.domain.money import BPS_PER_WHOLE\nLIMIT_MAX = 3\nTYPED_MAX: int = 4\n")
    assert _module_level_names(sample) == {"LIMIT_MAX", "TYPED_MAX"}
