#!/usr/bin/env bash
# The control panel end to end against a real kura-server: its API over HTTPS as a browser
# uses it (api), and in a real browser (browser: tests/browser/panel.spec.mjs in Debian's
# chromium). Usage: panel_test.sh CASE
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
case_name=${1:?case}

case_api() {
  # Cheap Argon2 so that the test spends its time on the rules, not the hashing.
  start_server "argon2_t_cost = 1" "argon2_m_cost_kib = 8192"
  python3 "$HERE/panel_api.py" --url "$URL" --data "$DATA" --server "$KURA_SERVER" \
    --init-log "$WORK/init.log" || fail "panel API"
  kill -0 "$SERVER_PID" || fail "server died"
}

case_browser() {
  local chromium=${CHROMIUM:-/usr/bin/chromium}
  if [ ! -x "$chromium" ] || [ ! -d "$HERE/browser/node_modules/playwright-core" ] ||
     [ ! -d "$HERE/browser/node_modules/axe-core" ] || ! command -v node >/dev/null; then
    echo "##################################################################################" >&2
    echo "SKIPPED: the panel's browser tests need chromium ($chromium), node and" >&2
    echo "tests/browser/node_modules (run scripts/setup, or npm ci --prefix tests/browser)" >&2
    echo "##################################################################################" >&2
    exit 77
  fi
  # Cheap Argon2 and a one-minute idle limit, so that the idle timeout can be watched.
  start_server "argon2_t_cost = 1" "argon2_m_cost_kib = 8192" "session_idle_minutes = 1"
  # The panel's address is a host name: browsers refuse an IP address as a WebAuthn relying
  # party (the server's certificate names localhost too).
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  sed -i "s|^panel_origin = .*|panel_origin = \"https://localhost:$PORT\"|" "$DATA/kura-server.toml"
  grep -q "^panel_origin = \"https://localhost:$PORT\"" "$DATA/kura-server.toml" || fail "no panel_origin setting"
  run_server
  URL="https://localhost:$PORT"
  # A second institution with a repository, made the way the provider does it without the panel.
  ks tenant create minato-dental --quota 20GiB --region jp-east --display-name "みなと歯科" 2>/dev/null
  ks repo create minato-dental main 2>/dev/null
  local shots=${KURA_PANEL_SCREENSHOTS:-$WORK/screenshots}
  mkdir -p "$shots"
  rm -f "$shots"/*.png
  CHROMIUM="$chromium" node "$HERE/browser/panel.spec.mjs" --url "$URL" --data "$DATA" \
    --init-log "$WORK/init.log" --kura "$KURA" --fp "$FP" --shots "$shots" || {
    kill -0 "$SERVER_PID" 2>/dev/null || echo "kura-server died: $(tail -3 "$WORK/server.log")" >&2
    fail "panel in the browser (screenshots: $shots)"
  }
  echo "screenshots: $shots"
  kill -0 "$SERVER_PID" || fail "server died"
}

"case_$case_name"
