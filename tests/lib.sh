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
  rm -rf "$WORK"
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
