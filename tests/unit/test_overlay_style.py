"""An overlay URL's style parameters: presets, overrides, bounds, and nothing that could be CSS."""

from __future__ import annotations

import pytest

from cozykart.domain.overlay_style import (
    FONT_STACKS,
    PRESETS,
    Align,
    Theme,
    bounded_int,
    hex_colour,
    parse_overlay_style,
    style_query,
)

SIZE = {"width_px": 600, "height_px": 160}


def test_no_parameters_is_the_classic_preset_at_the_overlays_own_size():
    style = parse_overlay_style({}, **SIZE)
    classic = PRESETS["classic"]
    assert (style.theme, style.font, style.text, style.accent, style.background, style.align) == (
        classic.theme,
        classic.font,
        classic.text,
        classic.accent,
        classic.background,
        classic.align,
    )
    assert (style.width_px, style.height_px, style.scale_percent) == (600, 160, 100)
    assert style.sound is False and style.volume_percent == 60


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_each_preset_is_applied(preset):
    style = parse_overlay_style({"preset": preset}, **SIZE)
    assert style.theme == PRESETS[preset].theme
    assert style.accent == PRESETS[preset].accent
    assert style.font_stack == FONT_STACKS[PRESETS[preset].font]


def test_explicit_parameters_override_the_preset():
    params = {
        "preset": "neon",
        "theme": "light",
        "font": "serif",
        "text": "123",
        "accent": "#ABCDEF",
        "background": "000000",
        "align": "right",
        "width": "800",
        "height": "90",
        "scale": "150",
        "sound": "on",
        "volume": "0",
    }
    style = parse_overlay_style(params, **SIZE)
    assert style.theme is Theme.LIGHT and style.align is Align.RIGHT and style.font == "serif"
    assert (style.text, style.accent, style.background) == ("#112233", "#abcdef", "#000000")
    assert (style.width_px, style.height_px, style.scale_percent) == (800, 90, 150)
    assert style.sound is True and style.volume_percent == 0


@pytest.mark.parametrize(
    "params",
    [
        {"preset": "nope", "theme": "blue", "align": "justify", "font": "Comic Sans"},
        {"text": "red;background:url(https://example.invalid/x)", "accent": "fff;}", "background": "#12"},
        {"font": "sans; } body { display:none", "accent": "javascript:alert(1)", "text": "#1234567"},
        {"width": "-5", "height": "99999", "scale": "12.5", "volume": "101"},
        {"width": "100px", "height": "1e3", "scale": "", "volume": "loud", "sound": "yes"},
        {"width": "0", "height": "39", "scale": "49", "volume": " "},
    ],
)
def test_bad_values_are_ignored_for_the_defaults(params):
    assert parse_overlay_style(params, **SIZE) == parse_overlay_style({}, **SIZE)


def test_values_are_trimmed_and_case_folded():
    style = parse_overlay_style({"preset": " Light ", "align": "LEFT", "width": " 300 "}, **SIZE)
    assert style.theme is Theme.LIGHT and style.align is Align.LEFT and style.width_px == 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fff", "#ffffff"),
        ("#FFAA00", "#ffaa00"),
        ("#abc", "#aabbcc"),
        ("ggg", None),
        (None, None),
        ("", None),
    ],
)
def test_hex_colour(value, expected):
    assert hex_colour(value) == expected


def test_bounded_int_keeps_its_bounds_inclusive():
    assert bounded_int("120", (120, 3840)) == 120
    assert bounded_int("3840", (120, 3840)) == 3840
    assert bounded_int("3841", (120, 3840)) is None
    assert bounded_int("+200", (120, 3840)) is None


def test_a_theme_other_than_the_presets_brings_its_own_text_and_panel_colours():
    style = parse_overlay_style({"preset": "classic", "theme": "light"}, **SIZE)
    assert (style.theme, style.text, style.background) == (Theme.LIGHT, "#1a1a2e", "#fafafa")
    assert style.accent == PRESETS["classic"].accent  # the accent stays the preset's
    chosen = parse_overlay_style({"theme": "light", "text": "123", "background": "#abcdef"}, **SIZE)
    assert (chosen.text, chosen.background) == ("#112233", "#abcdef")  # explicit colours win


def test_the_presets_own_theme_keeps_the_presets_colours():
    style = parse_overlay_style({"preset": "neon", "theme": "dark"}, **SIZE)
    assert (style.text, style.background) == (PRESETS["neon"].text, PRESETS["neon"].background)


def test_style_query_keeps_only_what_takes_effect_in_a_fixed_order():
    query = style_query(
        {
            "volume": "40",
            "preset": "NEON",
            "accent": "#FF0000",
            "width": "99999",  # out of range: the overlay would ignore it
            "font": "comic; background:url(x)",
            "sound": "on",
            "key": "never-copied",
        }
    )
    assert query == "preset=neon&accent=ff0000&sound=on&volume=40"


def test_style_query_round_trips_through_the_parser():
    params = {"preset": "light", "theme": "transparent", "width": "700", "align": "right", "scale": "150"}
    query = style_query(params)
    parsed = dict(part.split("=", 1) for part in query.split("&"))
    assert parse_overlay_style(parsed, **SIZE) == parse_overlay_style(params, **SIZE)
    assert style_query({}) == ""
