"""Every colour of the pages is named in ui/theme.py: no hex literal elsewhere in cozykart/ui."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cozykart.settings import PROJECT_ROOT

UI = PROJECT_ROOT / "cozykart" / "ui"
THEME = UI / "theme.py"
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})\b")


def _hex_literals(path: Path) -> list[str]:
    """Each hex colour written in a string of the module, with its line."""
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path.name
    return [
        f"{shown}:{node.lineno} {match}"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for match in HEX_COLOUR.findall(node.value)
    ]


def test_no_page_writes_a_hex_colour_outside_the_theme():
    modules = [path for path in sorted(UI.rglob("*.py")) if path != THEME]
    assert modules
    assert [found for path in modules for found in _hex_literals(path)] == []


def test_the_check_sees_a_hex_colour_in_a_string(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('color = "#f4f2ff"\nborder = "1px solid #222"\nroute = "/a#top"\n')
    assert _hex_literals(sample) == ["sample.py:1 #f4f2ff", "sample.py:2 #222"]
