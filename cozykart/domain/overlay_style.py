"""How an OBS overlay looks: its query parameters, read into a safe style.

The parameters every overlay URL may carry beside its `key`; the overlay shell
(ui/pages/overlays.py) applies them, and the admin overlays page builds them
(`style_query`).

| parameter    | values                                        | default        |
| ------------ | --------------------------------------------- | -------------- |
| `preset`     | `classic`, `neon`, `minimal`, `light`         | `classic`      |
| `theme`      | `dark`, `light`, `transparent`                | the preset's   |
| `width`      | 120 to 3840 (px)                              | the overlay's  |
| `height`     | 40 to 2160 (px)                               | the overlay's  |
| `font`       | `rounded`, `sans`, `serif`, `mono`, `display` | the preset's   |
| `scale`      | 50 to 300 (% of the normal text size)         | 100            |
| `text`       | a hex colour: `fff`, `ffffff`, `#ffffff`      | the preset's   |
| `accent`     | a hex colour                                  | the preset's   |
| `background` | a hex colour (the panel, never the page)      | the preset's   |
| `align`      | `left`, `center`, `right`                     | the preset's   |
| `sound`      | `on`, `off` (alerts only)                     | `off`          |
| `volume`     | 0 to 100 (%)                                  | 60             |

Explicit parameters override the preset. A `theme` other than the preset's also
brings that theme's text and panel colours (`THEME_COLOURS`), unless `text` or
`background` are given too. The page itself is always transparent: `theme` and
`background` paint the overlay's cards (`transparent`: no card, a text shadow). OBS shows what it can: a value that is
not one of these (unknown, out of range, or anything that could be CSS, like
`red;background:url(...)`) is ignored and its default used, never an error
page. Fonts are named from an allow-list of font stacks and colours are only
ever hex digits, so nothing a URL carries reaches a style sheet as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum


class Theme(StrEnum):
    DARK = "dark"
    LIGHT = "light"
    TRANSPARENT = "transparent"


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


FONT_STACKS: Mapping[str, str] = {
    "rounded": "'Nunito', 'Trebuchet MS', system-ui, sans-serif",
    "sans": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "serif": "Georgia, 'Times New Roman', serif",
    "mono": "ui-monospace, 'SFMono-Regular', Menlo, monospace",
    "display": "Impact, 'Arial Black', system-ui, sans-serif",
}

WIDTH_PX = (120, 3840)
HEIGHT_PX = (40, 2160)
SCALE_PERCENT = (50, 300)
VOLUME_PERCENT = (0, 100)
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_DIGITS = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class OverlayStyle:
    theme: Theme
    font: str  # a key of FONT_STACKS
    text: str  # "#rrggbb"
    accent: str
    background: str
    align: Align
    width_px: int
    height_px: int
    scale_percent: int = 100
    sound: bool = False
    volume_percent: int = 60

    @property
    def font_stack(self) -> str:
        return FONT_STACKS[self.font]


@dataclass(frozen=True)
class Look:
    """What a preset decides: everything but the size, which is the overlay's own."""

    theme: Theme
    font: str
    text: str
    accent: str
    background: str
    align: Align


PRESETS: Mapping[str, Look] = {
    "classic": Look(Theme.DARK, "rounded", "#ffffff", "#ffd700", "#14141e", Align.CENTER),
    "neon": Look(Theme.DARK, "display", "#f0f0ff", "#39ff14", "#0a0018", Align.CENTER),
    "minimal": Look(Theme.TRANSPARENT, "sans", "#ffffff", "#ffffff", "#000000", Align.LEFT),
    "light": Look(Theme.LIGHT, "sans", "#1a1a2e", "#d35400", "#fafafa", Align.CENTER),
}
DEFAULT_PRESET = "classic"
# A theme's own text and panel colours, for a theme asked for over a preset's.
THEME_COLOURS: Mapping[Theme, tuple[str, str]] = {
    Theme.DARK: ("#ffffff", "#14141e"),
    Theme.LIGHT: ("#1a1a2e", "#fafafa"),
    Theme.TRANSPARENT: ("#ffffff", "#000000"),
}
DEFAULT_VOLUME_PERCENT = 60
# The order `style_query` writes parameters in (every one `parse_overlay_style` reads).
PARAMETERS = (
    "preset",
    "theme",
    "width",
    "height",
    "font",
    "scale",
    "text",
    "accent",
    "background",
    "align",
    "sound",
    "volume",
)


def hex_colour(value: str | None) -> str | None:
    """`value` as "#rrggbb" when it is a 3- or 6-digit hex colour (with or without '#'), else None."""
    match = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def bounded_int(value: str | None, bounds: tuple[int, int]) -> int | None:
    """`value` as a whole number within `bounds`, else None (no sign, no decimals, no units)."""
    if not isinstance(value, str) or _DIGITS.fullmatch(value.strip()) is None:
        return None
    number = int(value.strip())
    low, high = bounds
    return number if low <= number <= high else None


def _choice(value: str | None, allowed) -> str | None:
    cleaned = value.strip().lower() if isinstance(value, str) else None
    return cleaned if cleaned in allowed else None


def parse_overlay_style(params: Mapping[str, str], *, width_px: int, height_px: int) -> OverlayStyle:
    """The style `params` (an overlay URL's query parameters) ask for, on the overlay's default size."""
    look = PRESETS[_choice(params.get("preset"), PRESETS) or DEFAULT_PRESET]
    theme = _choice(params.get("theme"), {theme.value for theme in Theme})
    if theme and Theme(theme) != look.theme:
        text, background = THEME_COLOURS[Theme(theme)]
        look = replace(look, theme=Theme(theme), text=text, background=background)
    align = _choice(params.get("align"), {align.value for align in Align})
    look = replace(
        look,
        font=_choice(params.get("font"), FONT_STACKS) or look.font,
        text=hex_colour(params.get("text")) or look.text,
        accent=hex_colour(params.get("accent")) or look.accent,
        background=hex_colour(params.get("background")) or look.background,
        align=Align(align) if align else look.align,
    )
    volume = bounded_int(params.get("volume"), VOLUME_PERCENT)
    return OverlayStyle(
        **asdict(look),
        width_px=bounded_int(params.get("width"), WIDTH_PX) or width_px,
        height_px=bounded_int(params.get("height"), HEIGHT_PX) or height_px,
        scale_percent=bounded_int(params.get("scale"), SCALE_PERCENT) or 100,
        sound=_choice(params.get("sound"), {"on", "off"}) == "on",
        volume_percent=DEFAULT_VOLUME_PERCENT if volume is None else volume,
    )


def style_query(params: Mapping[str, str]) -> str:
    """The query string (without `key`) for the parameters of `params` that are valid, in `PARAMETERS` order.

    What an admin typed that the overlay would ignore is left out, so the URL
    shows only what takes effect; values are the parsed ones (`#` dropped from
    colours, words lower-cased), which need no escaping.
    """
    parts = []
    for name in PARAMETERS:
        value = _valid(name, params.get(name))
        if value is not None:
            parts.append(f"{name}={value}")
    return "&".join(parts)


def _valid(name: str, value: str | None) -> str | None:
    if name == "preset":
        return _choice(value, PRESETS)
    if name == "theme":
        return _choice(value, {theme.value for theme in Theme})
    if name == "align":
        return _choice(value, {align.value for align in Align})
    if name == "font":
        return _choice(value, FONT_STACKS)
    if name == "sound":
        return _choice(value, {"on", "off"})
    if name in {"text", "accent", "background"}:
        colour = hex_colour(value)
        return colour[1:] if colour else None
    bounds = {"width": WIDTH_PX, "height": HEIGHT_PX, "scale": SCALE_PERCENT, "volume": VOLUME_PERCENT}[name]
    number = bounded_int(value, bounds)
    return None if number is None else str(number)
