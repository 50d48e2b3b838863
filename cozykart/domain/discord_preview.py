"""An announcement as Discord would show it: for the admin's outbox, before or without sending.

Discord renders a message's markdown; the admin console shows plain text, so
`preview` does what Discord's rendering does to the text we write:
- a mention `<@id>` shows as "@" and the person's name (the names are looked up
  by the caller; an id it does not know shows as "@unknown user");
- a masked link `[label](https://...)` shows its label;
- our own `**bold**` markers are not shown;
- a backslash escape (`discord_markdown.escape_markdown`: what a person typed)
  shows as the character itself, so "Shy\\_Guy" reads Shy_Guy.
An embed's footer is not markdown and is shown as it is. The result is plain
text; the page escapes it like any other text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_MENTION = re.compile(r"(?<!\\)<@!?([^>\s\\]+)>")
_MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(?<!\\)\*\*")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class PreviewField:
    name: str
    value: str


@dataclass(frozen=True)
class PreviewEmbed:
    title: str
    description: str
    fields: tuple[PreviewField, ...]
    footer: str


@dataclass(frozen=True)
class Preview:
    content: str
    embeds: tuple[PreviewEmbed, ...]


def _texts(message: Mapping) -> Iterable[str]:
    yield str(message.get("content") or "")
    for embed in message.get("embeds") or ():
        yield str(embed.get("title") or "")
        yield str(embed.get("description") or "")
        for field in embed.get("fields") or ():
            yield str(field.get("name") or "")
            yield str(field.get("value") or "")


def mentioned_ids(message: Mapping) -> set[str]:
    """The Discord ids a message mentions (`<@id>`), in its content and its embeds."""
    return {match for text in _texts(message) for match in _MENTION.findall(text)}


def as_shown(text: str, names: Mapping[str, str]) -> str:
    """Markdown text as Discord shows it: mentions as names, links as labels, escapes undone."""
    text = _MENTION.sub(lambda match: "@" + names.get(match.group(1), "unknown user"), text)
    text = _MASKED_LINK.sub(lambda match: match.group(1), text)
    text = _BOLD.sub("", text)
    return _ESCAPE.sub(lambda match: match.group(1), text)


def preview(message: Mapping, names: Mapping[str, str]) -> Preview:
    """The whole message as Discord would show it (`names`: Discord id -> display name)."""
    embeds = tuple(
        PreviewEmbed(
            title=as_shown(str(embed.get("title") or ""), names),
            description=as_shown(str(embed.get("description") or ""), names),
            fields=tuple(
                PreviewField(
                    as_shown(str(f.get("name") or ""), names), as_shown(str(f.get("value") or ""), names)
                )
                for f in embed.get("fields") or ()
            ),
            footer=str((embed.get("footer") or {}).get("text") or ""),
        )
        for embed in message.get("embeds") or ()
    )
    return Preview(content=as_shown(str(message.get("content") or ""), names), embeds=embeds)
