"""No function in cozykart/ is longer than 70 lines (TIGER_STYLE), read with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

from cozykart.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "cozykart"
FUNCTION_LINES_MAX = 70


def _long_functions(path: Path) -> list[str]:
    """Each function (decorators and docstring included) longer than the limit, named with its file and line."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first_line = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            line_count = node.end_lineno - first_line + 1
            if line_count > FUNCTION_LINES_MAX:
                shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
                found.append(f"{shown}:{node.lineno} {node.name} is {line_count} lines")
    return found


def test_no_function_in_the_package_is_longer_than_the_limit():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert modules, "the package exists"
    assert [found for path in modules for found in _long_functions(path)] == []


def test_the_check_names_a_long_function(tmp_path):
    sample = tmp_path / "sample.py"
    body = "".join(f"    x{index} = {index}\n" for index in range(FUNCTION_LINES_MAX))
    sample.write_text(f"def short():\n    return 1\n\n\n@decorated\ndef too_long():\n{body}")
    assert _long_functions(sample) == [f"{sample}:6 too_long is {FUNCTION_LINES_MAX + 2} lines"]
