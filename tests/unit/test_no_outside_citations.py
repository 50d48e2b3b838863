"""No comment or docstring in cozykart/ cites a file outside the repository: it quotes the fact."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from cozykart.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "cozykart"
# Paths that live outside this repository: the shared workspace, installed packages, other projects' trees.
OUTSIDE_PATH = re.compile(
    r"\bshared/|site-packages|\.venv/|\breflex_base/|\breflex/\S+\.py|\bistate/|\bnode_modules/"
)


def _prose(path: Path) -> list[tuple[int, str]]:
    """The module's comments and docstrings, each with its line."""
    source = path.read_text()
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                found.append((getattr(node, "lineno", 1), docstring))
    return found


def _citations(path: Path) -> list[str]:
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path.name
    return [
        f"{shown}:{line} {match.group(0)}"
        for line, text in _prose(path)
        for match in OUTSIDE_PATH.finditer(text)
    ]


def test_no_comment_or_docstring_cites_a_file_outside_the_repository():
    assert [found for path in sorted(PACKAGE.rglob("*.py")) for found in _citations(path)] == []


def test_the_check_sees_a_cited_outside_file(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""See shared/SPEC.md."""\n\nx = 1  # as reflex_base/state.py does\ny = "shared/ in a string is code"\n'
    )
    assert _citations(sample) == ["sample.py:3 reflex_base/", "sample.py:1 shared/"]
