#!/usr/bin/env bash
# kura check on damaged repositories; where restic is installed, restic check must agree on
# the exit status of every case.
# usage: KURA=build/bin/kura tests/check_test.sh
source "$(dirname "$0")/lib.sh"
have_restic=0
command -v restic >/dev/null && have_restic=1

mkdir -p "$WORK/src/a/b" "$WORK/src/c"
for i in 1 2 3; do head -c 300000 /dev/urandom > "$WORK/src/a/f$i"; done
echo hello > "$WORK/src/a/b/small"
seq 1 100000 > "$WORK/src/c/seq"
: > "$WORK/src/empty"
# restic's calibrated KDF is cheaper than kura's default, which matters over ~30 runs.
if [ $have_restic = 1 ]; then rst -r "$WORK/base" init >/dev/null; else kura -r "$WORK/base" init >/dev/null; fi
(cd "$WORK" && kura -r "$WORK/base" backup src >/dev/null)
echo more > "$WORK/src/c/new"
(cd "$WORK" && kura -r "$WORK/base" backup src >/dev/null)

# Packs of each kind, from the index.
# The largest pack of each kind, from the index.
for f in "$WORK"/base/index/*; do kura -r "$WORK/base" --no-lock cat index "$(basename "$f")"; echo; done > "$WORK/index.json"
biggest() {  # biggest data|tree
  python3 -c 'import json,sys
best = (-1, "")
for line in open(sys.argv[2]):
    line = line.strip()
    if not line: continue
    for p in json.loads(line)["packs"]:
        if p["blobs"][0]["type"] == sys.argv[1]:
            best = max(best, (sum(b["length"] for b in p["blobs"]), p["id"]))
print(best[1])' "$1" "$WORK/index.json"
}
DATA=$(biggest data)
TREE=$(biggest tree)
pack_path() { echo "$1/data/${2:0:2}/$2"; }

# scenario NAME DAMAGE-COMMAND: a fresh copy of the repository at $R, then damaged.
fresh() { R="$WORK/$1"; rm -rf "$R"; cp -a "$WORK/base" "$R"; chmod -R u+w "$R"; }
# expect REPO EXIT "FLAGS" PATTERN...: kura's exit code, and a line matching each PATTERN;
# restic's exit code must be the same. --no-lock keeps the test fast (locking has its own
# tests; the first case does lock).
expect() {
  local repo=$1 code=$2 flags=$3; shift 3
  local got=0
  # shellcheck disable=SC2086
  kura -r "$repo" check $flags > "$WORK/out" 2>&1 || got=$?
  [ "$got" = "$code" ] || { cat "$WORK/out" >&2; fail "kura check $flags on $(basename "$repo"): exit $got, want $code"; }
  local pattern
  for pattern in "$@"; do
    grep -q -- "$pattern" "$WORK/out" || { cat "$WORK/out" >&2; fail "kura check $flags: no line matching '$pattern'"; }
  done
  if [ $have_restic = 1 ] && [ -z "${NO_RESTIC:-}" ]; then
    got=0
    # shellcheck disable=SC2086
    rst -r "$repo" check $flags > "$WORK/rout" 2>&1 || got=$?
    [ "$got" = "$code" ] || { cat "$WORK/rout" >&2; fail "restic check $flags on $(basename "$repo"): exit $got, want $code"; }
  fi
}

step "clean repository"
expect "$WORK/base" 0 "--read-data" "create exclusive lock" "no errors were found"
expect "$WORK/base" 0 "--no-lock --read-data-subset 1/2" "read group #1 of"
expect "$WORK/base" 0 "--no-lock --read-data-subset 50%" "no errors were found"

step "deleted data pack"
fresh delpack; rm -f "$(pack_path "$R" "$DATA")"
expect "$R" 1 "--no-lock" "pack $DATA: does not exist" "is stored only in the damaged pack $DATA"

step "truncated pack"
fresh trunc; f=$(pack_path "$R" "$DATA"); truncate -s $(( $(stat -c %s "$f") - 50 )) "$f"
expect "$R" 1 "--no-lock" "pack $DATA: unexpected file size"

step "flipped byte: only --read-data sees it"
fresh flip; f=$(pack_path "$R" "$DATA"); flip_byte "$f" 1000
expect "$R" 0 "--no-lock" "no errors were found"
expect "$R" 1 "--no-lock --read-data" "pack $DATA: content does not match its ID" "is damaged"

step "deleted tree pack"
fresh deltree; rm -f "$(pack_path "$R" "$TREE")"
# (not compared with restic: it retries loading the missing pack for about a minute)
NO_RESTIC=1 expect "$R" 1 "--no-lock" "pack $TREE: does not exist" "tree .* cannot be loaded"

step "deleted index files: unreferenced packs and missing trees"
fresh delindex; rm -f "$R"/index/*
expect "$R" 1 "--no-lock" "not referenced in any index" "not found in the index"

step "unreferenced packs alone are not errors"
fresh orphan
(cd "$WORK" && echo extra > src/extra && kura -r "$R" backup src >/dev/null)
new_index=$(cd "$R/index" && ls -t | head -1); new_snap=$(cd "$R/snapshots" && ls -t | head -1)
rm -f "$R/index/$new_index" "$R/snapshots/$new_snap"
expect "$R" 0 "--no-lock" "additional files were found"

step "corrupted snapshot file"
fresh snap; f=$(ls "$R"/snapshots/* | head -1); flip_byte "$f" 40
expect "$R" 1 "--no-lock" "snapshot $(basename "$f") cannot be loaded"

step "garbage index file"
fresh garbage; f=$(ls "$R"/index/* | head -1); head -c 200 /dev/urandom > "$f"
expect "$R" 1 "--no-lock" "index $(basename "$f") cannot be loaded"

step "--json summary"
kura -r "$WORK/flip" --no-lock check --read-data --json > "$WORK/json" 2>/dev/null || true
[ "$(summary_field "$WORK/json" num_errors)" -ge 1 ] || fail "num_errors"
[ "$(summary_field "$WORK/json" broken_packs)" = "['$DATA']" ] || fail "broken_packs"

step "bad flags"
expect "$WORK/base" 1 "--no-lock --read-data --read-data-subset 1/2" "cannot be used together"
expect "$WORK/base" 1 "--no-lock --read-data-subset 0/2" "invalid value"
echo "check_test: ok"
