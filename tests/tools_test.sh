#!/usr/bin/env bash
# kura diff, stats, find and dump against restic 0.14 on one repository that kura wrote:
# output must match restic's byte for byte (find, whose snapshot order is restic's listing
# order, is compared one snapshot at a time). About 30 program runs.
# usage: KURA=build/bin/kura tests/tools_test.sh
source "$(dirname "$0")/lib.sh"
need_restic

S="$WORK/src"
mkdir -p "$S/docs/sub" "$S/gone" "$S/same"
head -c 3000000 /dev/urandom > "$S/docs/big.bin"
echo hello > "$S/docs/a.txt"
echo hello > "$S/docs/b.txt"
echo world > "$S/docs/sub/c.txt"
ln "$S/docs/sub/c.txt" "$S/docs/hard"
ln -s a.txt "$S/docs/link"
echo bye > "$S/gone/x"
echo same > "$S/same/s"
echo 日本 > "$S/docs/日本語.txt"

R="$WORK/repo"
rst -r "$R" init >/dev/null  # restic's calibrated KDF: cheaper to open ~30 times than kura's
kura -r "$R" backup "$S" >/dev/null
echo changed > "$S/docs/a.txt"
rm -r "$S/gone"
mkdir -p "$S/new/deep" && echo n > "$S/new/deep/f"
touch -d 2020-01-01 "$S/docs/b.txt"
rm "$S/docs/link" && echo notalink > "$S/docs/link"
cp "$S/same/s" "$S/docs/copy-of-s"
kura -r "$R" backup "$S" >/dev/null
set -- $(kura -r "$R" --json snapshots | python3 -c 'import json,sys; print(" ".join(s["short_id"] for s in json.load(sys.stdin)))')
first=$1 second=$2
same() {  # same DESCRIPTION ARGS...: kura and restic print the same for ARGS
  local what=$1
  shift
  # One after the other: run together, one may see the other's lock and print retry lines.
  kura -r "$R" "$@" > "$WORK/same.kura" 2>&1 || true
  rst -r "$R" "$@" > "$WORK/same.restic" 2>&1 || true
  diff "$WORK/same.kura" "$WORK/same.restic" >&2 || fail "$what: kura and restic differ"
}

step "diff"
same "diff" diff $first $second
same "diff --json --metadata" diff --json --metadata $first $second

step "stats"
same "stats" stats
# blobs-per-file depends on the order of the snapshots; restic's own order without IDs is the
# order its parallel loader happens to deliver them in.
for mode in files-by-contents blobs-per-file; do same "stats $mode" stats --mode $mode $second $first; done
same "stats --json latest" stats --json latest
# raw-data: kura adds restic 0.16's compression figures; the rest must agree.
python3 - "$(kura -r "$R" --json stats --mode raw-data)" "$(rst -r "$R" --json stats --mode raw-data)" <<'PY' || fail "stats raw-data"
import json, sys
k, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for key in r:
    assert k[key] == r[key], (key, k[key], r[key])
PY

step "find"
same "find *.txt" find -s $second "*.txt"
same "find --json -l" find -s $first --json -l link
same "find --newest" find -s $second --newest 2021-01-01 "*"
hello=$(echo hello | sha256sum | cut -c1-8)
same "find --blob" find -s $first --blob $hello

step "dump"
kura -r "$R" dump latest "$S/docs/big.bin" | cmp - "$S/docs/big.bin" || fail "dump big.bin"
kura -r "$R" dump latest "$S/docs/日本語.txt" | cmp - "$S/docs/日本語.txt" || fail "dump 日本語.txt"
mkdir "$WORK/xk" "$WORK/xr"
kura -r "$R" dump latest "$S" > "$WORK/k.tar"
rst -r "$R" dump latest "$S" > "$WORK/r.tar"
diff <(tar -tvf "$WORK/k.tar") <(tar -tvf "$WORK/r.tar") >&2 || fail "tar listings differ"
tar -xf "$WORK/k.tar" -C "$WORK/xk" && tar -xf "$WORK/r.tar" -C "$WORK/xr"
diff -r "$WORK/xk" "$WORK/xr" >&2 || fail "extracted trees differ"
kura -r "$R" dump -a zip latest "$S/docs" > "$WORK/k.zip"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.read(sys.argv[2].lstrip("/")) == open(sys.argv[2], "rb").read()' \
  "$WORK/k.zip" "$S/docs/big.bin" || fail "zip content"

step "bad input"
kura -r "$R" dump latest "$S/nope" 2>"$WORK/err" && fail "dump of a missing path succeeded"
grep -q "not found" "$WORK/err" || fail "dump: unclear error: $(cat "$WORK/err")"
kura -r "$R" find '[oops' 2>"$WORK/err" && fail "find with a bad pattern succeeded"
grep -q "invalid pattern" "$WORK/err" || fail "find: unclear error: $(cat "$WORK/err")"
kura -r "$R" stats --mode nope 2>/dev/null && fail "stats with a bad mode succeeded"
kura -r "$R" diff $first 2>/dev/null && fail "diff with one snapshot succeeded"
echo "tools_test: ok"
