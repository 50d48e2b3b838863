"""Discord markdown escaping: text a person typed shows exactly as typed, never as formatting.

Discord shows a backslash followed by a symbol as the symbol alone (its escape
rule: `\\` then any character that is not a letter, a digit or whitespace), so
`escape_markdown` puts a backslash before every character that can start or
delimit markdown and the visible text stays the same characters: "Shy_Guy"
reads Shy_Guy, and "[Free Nitro](https://evil.example)" reads as exactly that,
not as a link.

What it defeats, and how:
- emphasis and the like: `*` `_` (bold, italics, `__underline__`), `~` (`~~strike~~`),
  `|` (`||spoilers||`), `` ` `` (code), and `\\` itself (so a typed backslash cannot
  escape our own formatting);
- line starts: `#` (headings, `-#` subtext), `>` (block quotes), `-` `*` `+` (lists),
  and the `.` of `1.` at the start of a line (numbered lists); other full stops stay;
- links: `[` `]` `(` `)` (masked links), `:` (raw `https://...` URLs are no longer
  linked, nor `:emoji:` codes), `<` (`<https://...>`, `<@id>` mentions, `<#channel>`,
  `<t:...>` timestamps), `@` (no `@everyone` highlight; pings are already off).
Letters, digits, spaces, newlines, other punctuation (`.` `,` `!` `?` `'`) and all
non-ASCII text (accents, emoji, CJK) are kept as they are.

Only for text Discord renders as markdown (message content, embed titles,
descriptions, field names and values). An embed's footer is shown raw: there the
backslashes would show, and nothing in it can become a link, so it is not escaped.
"""

from __future__ import annotations

import re

MARKDOWN_CHARACTERS = frozenset("\\*_~`|>#-+[]()<:@")
_NUMBERED_LIST_START = re.compile(r"^([ \t]*[0-9]+)\.", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """`text` with every markdown character escaped; Discord shows the same characters."""
    escaped = "".join(
        f"\\{character}" if character in MARKDOWN_CHARACTERS else character for character in text
    )
    return _NUMBERED_LIST_START.sub(r"\1\\.", escaped)
