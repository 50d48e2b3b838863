"""The Discord markdown escaper (issue 14, item 4): same visible characters, no construct survives.

`_shown` is Discord's escape rule (simple-markdown's `escape`: a backslash before
any character that is not a letter, digit or whitespace shows that character
alone); `_constructs_left` says which markdown characters an escaped text still
leaves unescaped.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cozykart.domain.discord_markdown import MARKDOWN_CHARACTERS, escape_markdown

_DISCORD_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
_NUMBERED_LINE = re.compile(r"^[ \t]*[0-9]+\.", re.MULTILINE)

# Text a fan or racer might type, heavy on what Discord treats as markup.
_typed = st.text(
    st.one_of(st.sampled_from(sorted(MARKDOWN_CHARACTERS) + list(".\n \t19aZ/é🍄")), st.characters()),
    max_size=80,
)


def _shown(markdown: str) -> str:
    return _DISCORD_ESCAPE.sub(r"\1", markdown)


def _constructs_left(markdown: str) -> list[str]:
    left, index = [], 0
    while index < len(markdown):
        character = markdown[index]
        if character == "\\":
            assert index + 1 < len(markdown), "an escape is never left dangling"
            index += 2
            continue
        if character in MARKDOWN_CHARACTERS:
            left.append(character)
        index += 1
    return left + [match.group() for match in _NUMBERED_LINE.finditer(markdown)]


@given(_typed)
def test_escaped_text_shows_the_same_characters(text):
    assert _shown(escape_markdown(text)) == text


@given(_typed)
def test_no_markdown_construct_survives_escaping(text):
    escaped = escape_markdown(text)
    assert _constructs_left(escaped) == []
    unescaped = re.sub(r"\\.", "", escaped)  # what is left once every escaped pair is taken out
    assert "://" not in unescaped and "](" not in unescaped


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("[Free Nitro](https://evil.example)", r"\[Free Nitro\]\(https\://evil.example\)"),
        ("Shy_Guy", r"Shy\_Guy"),
        (
            "**bold** __under__ ~~gone~~ ||secret|| `code`",
            r"\*\*bold\*\* \_\_under\_\_ \~\~gone\~\~ \|\|secret\|\| \`code\`",
        ),
        (
            "# Heading\n> quote\n- item\n1. first\n  12. nested",
            "\\# Heading\n\\> quote\n\\- item\n1\\. first\n  12\\. nested",
        ),
        ("<@123> @everyone :tada: C:\\new", r"\<\@123\> \@everyone \:tada\: C\:\\new"),
        ("Play Mushroom Gorge! 3.5 stars, ok?", "Play Mushroom Gorge! 3.5 stars, ok?"),
        ("Ünïcödé 🍄 キノコ", "Ünïcödé 🍄 キノコ"),
    ],
)
def test_each_construct_is_escaped_and_plain_text_is_kept(typed, sent):
    assert escape_markdown(typed) == sent
    assert _shown(sent) == typed
