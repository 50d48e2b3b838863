"""Route constants: every link and redirect uses these."""

WATCH = "/"
LOBBY = "/lobby"
STANDINGS = "/standings"
WALLET = "/wallet"
TIP = "/tip"
