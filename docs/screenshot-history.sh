#!/usr/bin/env bash
# A PNG of the history page for notes and reviews: Debian's chromium, headless, renders the page that a
# run wrote (default .local/reports/history.html, after `make demo`; run it twice for two runs of history).
# Installs chromium with apt-get when it is missing (needs root). Not used by the tests.
#   docs/screenshot-history.sh [PAGE] [PNG]       # PNG defaults to /tmp/history.png
set -euo pipefail
page="$(realpath "${1:-.local/reports/history.html}")"
png="${2:-/tmp/history.png}"
[ -f "$page" ] || { echo "no page at $page: run \`make demo\` first" >&2; exit 2; }
if ! command -v chromium >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "chromium is missing and installing it needs root (apt-get install chromium)" >&2; exit 2; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The page is one self-contained file: no network, no profile state is needed.
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,3300 \
  --screenshot="$png" "file://$page" 2>/dev/null
echo "$png"
