"""The layers, read from the imports: arrows point inward.

domain imports nothing of the app and no framework; ui, api and the CLI reach
the database only through services; services and db never import an entry point;
services outside the read models (`services/reads/`) speak no SQL: they reach the
database through the unit of work's repositories.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from cozykart.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "cozykart"
DATABASE_MODULES = ("cozykart.db", "sqlmodel", "sqlalchemy", "alembic", "sqlite3", "psycopg")
# What a service outside services/reads/ may not import: SQL, the tables, the query modules.
SQL_MODULES = (
    "sqlalchemy",
    "sqlmodel",
    "cozykart.db.tables",
    "cozykart.db.lean",
    "cozykart.db.league_repo",
    "cozykart.db.ledger_repo",
)
ENTRY_POINT_MODULES = ("cozykart.ui", "cozykart.api", "cozykart.cli", "cozykart.cozykart", "reflex")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("<relative>")
    return names


def _modules(*parts: str) -> list[Path]:
    found: list[Path] = []
    for part in parts:
        target = PACKAGE / part
        found.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target] if target.exists() else [])
    return found


def _is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _display(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _violations(paths: list[Path], forbidden) -> list[str]:
    return [
        f"{_display(path)} imports {name}"
        for path in paths
        for name in sorted(_imports(path))
        if forbidden(name)
    ]


def test_domain_imports_only_the_standard_library_and_itself():
    def forbidden(name: str) -> bool:
        if name == "<relative>":
            return True
        if _is_under(name, ("cozykart.domain",)):
            return False
        return name.split(".")[0] not in sys.stdlib_module_names

    assert _modules("domain"), "the domain package exists"
    assert _violations(_modules("domain"), forbidden) == []


@pytest.mark.parametrize("layer", ["ui", "api", "cli.py", "cozykart.py", "__main__.py"])
def test_entry_points_reach_the_database_only_through_services(layer):
    assert _violations(_modules(layer), lambda name: _is_under(name, DATABASE_MODULES)) == []


@pytest.mark.parametrize("layer", ["services", "db", "domain", "integrations", "settings.py"])
def test_inner_layers_never_import_an_entry_point(layer):
    assert _violations(_modules(layer), lambda name: _is_under(name, ENTRY_POINT_MODULES)) == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import reflex\nfrom cozykart.db.tables import Racer\n")
    assert _violations([sample], lambda name: _is_under(name, DATABASE_MODULES)) == [
        f"{_display(sample)} imports cozykart.db.tables"
    ]


def _is_sql(name: str) -> bool:
    return _is_under(name, SQL_MODULES) or (name.startswith("cozykart.db.") and name.endswith("_tables"))


def test_services_outside_the_read_models_speak_no_sql():
    services = [path for path in _modules("services") if "reads" not in path.relative_to(PACKAGE).parts]
    assert len(services) > 10, "the services package exists"
    assert _violations(services, _is_sql) == []


def test_the_sql_rule_knows_the_table_modules():
    assert (
        _is_sql("cozykart.db.ledger_tables") and _is_sql("sqlalchemy.exc") and _is_sql("cozykart.db.tables")
    )
    assert not _is_sql("cozykart.db.uow") and not _is_sql("cozykart.db.types")
