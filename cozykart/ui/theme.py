"""The look: dark and playful, gold for money, Discord blue for the league."""

GOLD = "#ffd700"
GOLD_DEEP = "#ffae00"
DISCORD_BLUE = "#5865f2"
INK = "#0f0d1a"
PANEL = "#1c1930"
PANEL_BORDER = "#2e2a4a"
TEXT_MUTED = "#b8b4d6"
LIVE_RED = "#ff4d5e"

PAGE_MAX_WIDTH = "72rem"

# A native <select> on the dark panels (the admin console's forms).
SELECT_STYLE = {
    "padding": "0.4rem",
    "border_radius": "8px",
    "background": INK,
    "color": "#f4f2ff",
    "border": f"1px solid {PANEL_BORDER}",
}

base_style = {
    "font_family": "'Trebuchet MS', 'Segoe UI', system-ui, sans-serif",
    "background": f"radial-gradient(circle at 20% 0%, #2a1f5c 0%, {INK} 55%)",
    "min_height": "100vh",
    "color": "#f4f2ff",
}

panel_style = {
    "background": PANEL,
    "border": f"2px solid {PANEL_BORDER}",
    "border_radius": "16px",
    "padding": "1.25rem",
    "width": "100%",
}

league_panel_style = panel_style | {"border": f"2px solid {DISCORD_BLUE}"}
