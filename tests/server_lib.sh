# Helpers for kura-server integration tests. Source after lib.sh; set KURA_SERVER.
: "${KURA_SERVER:?set KURA_SERVER to the kura-server binary}"
ks() { "$KURA_SERVER" --data "$DATA" "$@"; }

# start_server [toml-edits...]: init a data folder in $WORK/data on a free port, apply
# "key = value" replacements to its configuration, start `kura-server run`; sets DATA, PORT,
# URL, FP (CA fingerprint), SERVER_PID, CA.
start_server() {
  DATA="$WORK/data"
  PORT=$(free_port)
  FP=$("$KURA_SERVER" --data "$DATA" init --listen "127.0.0.1:$PORT" 2>"$WORK/init.log")
  CA="$DATA/ca/ca.pem"
  local edit
  for edit in "$@"; do
    python3 - "$DATA/kura-server.toml" "$edit" <<'PY'
import re, sys
path, edit = sys.argv[1], sys.argv[2]
key = edit.split("=")[0].strip()
text = open(path).read()
text, n = re.subn(r"(?m)^" + re.escape(key) + r" = .*$", edit, text)
assert n == 1, "no setting " + key
open(path, "w").write(text)
PY
  done
  run_server
}
run_server() {
  "$KURA_SERVER" run --config "$DATA/kura-server.toml" 2>>"$WORK/server.log" &
  SERVER_PID=$!
  KILL_ON_EXIT="${KILL_ON_EXIT:-} $SERVER_PID"
  URL="https://127.0.0.1:$PORT"
  wait_port "$PORT"
}

# enroll_openssl TENANT REPO DEVICE [--maintenance]: a device enrolled the way a machine
# without kura does (openssl CSR + curl); writes $WORK/dev-DEVICE.pem (certificate + key).
enroll_openssl() {
  local t=$1 r=$2 d=$3 extra=${4:-}
  local code
  code=$(ks device enroll-code "$t" "$r" --name "$d" $extra 2>/dev/null)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$d" \
    -keyout "$WORK/dev-$d.key" -out "$WORK/dev-$d.csr" 2>/dev/null
  python3 -c 'import json,sys; print(json.dumps({"code":sys.argv[1],"csr":open(sys.argv[2]).read()}))' \
    "$code" "$WORK/dev-$d.csr" > "$WORK/enroll-$d.json"
  curl -sS --fail-with-body --cacert "$CA" -H 'Content-Type: application/json' \
    --data-binary @"$WORK/enroll-$d.json" "$URL/enroll" > "$WORK/enroll-$d.out" ||
    fail "enrollment of $d: $(cat "$WORK/enroll-$d.out")"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' \
    "$WORK/enroll-$d.out" > "$WORK/dev-$d.pem"
  cat "$WORK/dev-$d.key" >> "$WORK/dev-$d.pem"
}
# as DEVICE restic|kura ARGS...: the tool with that device's identity on its repository.
as() {
  local d=$1 tool=$2
  shift 2
  if [ "$tool" = restic ]; then
    restic --no-cache --cacert "$CA" --tls-client-cert "$WORK/dev-$d.pem" -r "$REPO" "$@"
  else
    "$KURA" --cacert "$CA" --tls-client-cert "$WORK/dev-$d.pem" -r "$REPO" "$@"
  fi
}
