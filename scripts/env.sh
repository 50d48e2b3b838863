# Shared environment for the project's scripts: sourced, never run.
# The project's own tools (.venv, bun from the npm registry) come first on PATH,
# and Reflex is told to use that bun and to stay off the network for telemetry
# and version checks.
COZYKART_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export COZYKART_ROOT
export PATH="$COZYKART_ROOT/.venv/bin:$COZYKART_ROOT/.tools/node_modules/.bin:$PATH"
export REFLEX_USE_SYSTEM_BUN=1
export REFLEX_TELEMETRY_ENABLED=0
export REFLEX_CHECK_LATEST_VERSION=0
export PYTHONDONTWRITEBYTECODE=1
