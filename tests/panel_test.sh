#!/usr/bin/env bash
# The control panel end to end against a real kura-server: its API over HTTPS as a browser
# uses it (api). Usage: panel_test.sh CASE
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

"case_$case_name"
