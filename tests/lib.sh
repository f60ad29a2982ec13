# Shared helpers for kura's shell integration tests. Source it; set KURA to the binary.
set -euo pipefail
export TZ=UTC
export KURA_PASSWORD=test-password RESTIC_PASSWORD=test-password
export KURA_LANG=en
unset RESTIC_REPOSITORY KURA_REPOSITORY
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${KURA:?set KURA to the kura binary}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kura-it.XXXXXX")
# kura's local cache stays inside the test (restic's is off: see rst).
export KURA_CACHE_DIR="$WORK/kura-cache"
cleanup() {
  local pid
  for pid in ${KILL_ON_EXIT:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  chmod -R u+rwX "$WORK" 2>/dev/null || true
  [ -n "${KURA_KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*" >&2; }
need_restic() { command -v restic >/dev/null || { echo "restic not installed: skipped"; exit 77; }; }

# make_corpus DIR [MB]
make_corpus() { python3 "$HERE/make_corpus.py" "$1" "${2:-64}"; }
# same_tree A B: identical content and metadata (atime aside)
same_tree() {
  python3 "$HERE/tree_manifest.py" "$1" > "$WORK/manifest.a"
  python3 "$HERE/tree_manifest.py" "$2" > "$WORK/manifest.b"
  diff -u "$WORK/manifest.a" "$WORK/manifest.b" >&2 || fail "trees differ: $1 vs $2"
}
# free_port: a TCP port free on 127.0.0.1 now; wait_port PORT: until something listens on it.
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; fail "port $1"; }
# serve_rclone DIR: `rclone serve restic` on DIR, stopped at exit (the test is skipped without
# rclone); sets PORT.
serve_rclone() {
  command -v rclone >/dev/null || { echo "rclone not installed: skipped"; exit 77; }
  PORT=$(free_port)
  mkdir -p "$1"
  rclone serve restic --addr "127.0.0.1:$PORT" "$1" 2>"$WORK/rclone.log" &
  KILL_ON_EXIT="${KILL_ON_EXIT:-} $!"
  wait_port "$PORT"
}
# flip_byte FILE OFFSET: changes one byte in place, whatever it was (writing a fixed byte
# into ciphertext would leave it as it was once in 256 runs); read-only files too.
flip_byte() {
  python3 - "$1" "$2" <<'EOF'
import os, sys
p, off = sys.argv[1], int(sys.argv[2])
os.chmod(p, 0o600)
with open(p, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0x55]))
EOF
}
kura() { "$KURA" "$@"; }
rst() { restic --no-cache "$@"; }
# json_field FILE KEY: value of KEY in the last JSON line of FILE with message_type summary
summary_field() {
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    line=line.strip()
    if not line.startswith("{"): continue
    o=json.loads(line)
    if o.get("message_type")=="summary": s=o
print(s[sys.argv[2]])' "$1" "$2"
}
