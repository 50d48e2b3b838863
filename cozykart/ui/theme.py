"""The look: dark and playful, gold for money, Discord blue for the league."""

GOLD = "#ffd700"
GOLD_DEEP = "#ffae00"
DISCORD_BLUE = "#5865f2"
INK = "#0f0d1a"
PANEL = "#1c1930"
PANEL_BORDER = "#2e2a4a"
TEXT_MUTED = "#b8b4d6"
LIVE_RED = "#ff4d5e"
TEXT = "#f4f2ff"  # the body text on the dark pages
WHITE = "#fff"
BLACK = "#000"  # text on gold
GLOW = "#2a1f5c"  # the page background's purple glow
STANDINGS_PANEL = "#222"  # the founder's standings panel: dark, with a Discord-blue border
CHART_GRID = "#444"
MINT = "#3ddc97"
VIOLET = "#c77dff"
SKY = "#4cc9f0"
ORANGE = "#ff9f1c"
GOLD_GRADIENT = f"linear-gradient(135deg, {GOLD}, {GOLD_DEEP})"
# One line colour per racer on the standings chart, in this order.
CHART_COLORS = (GOLD, DISCORD_BLUE, LIVE_RED, MINT, VIOLET, SKY, ORANGE, TEXT)

PAGE_MAX_WIDTH = "72rem"

# A native <select> on the dark panels (the admin console's forms).
SELECT_STYLE = {
    "padding": "0.4rem",
    "border_radius": "8px",
    "background": INK,
    "color": TEXT,
    "border": f"1px solid {PANEL_BORDER}",
}

base_style = {
    "font_family": "'Trebuchet MS', 'Segoe UI', system-ui, sans-serif",
    "background": f"radial-gradient(circle at 20% 0%, {GLOW} 0%, {INK} 55%)",
    "min_height": "100vh",
    "color": TEXT,
}

panel_style = {
    "background": PANEL,
    "border": f"2px solid {PANEL_BORDER}",
    "border_radius": "16px",
    "padding": "1.25rem",
    "width": "100%",
}

league_panel_style = panel_style | {"border": f"2px solid {DISCORD_BLUE}"}
