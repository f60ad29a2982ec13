#!/usr/bin/env bash
# Interoperability with the stock restic binary (Debian restic 0.14), both ways.
# usage: KURA=build/bin/kura tests/interop_test.sh <case>
source "$(dirname "$0")/lib.sh"
need_restic
case_name="${1:?case}"
MB="${KURA_TEST_MB:-128}"

case "$case_name" in
kura_writes_restic_reads)
  make_corpus "$WORK/src" "$MB"
  kura -r "$WORK/repo" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/repo" backup --tag t1 src >/dev/null)
  step "restic check --read-data on a kura repository"
  rst -r "$WORK/repo" check --read-data > "$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; fail "restic check"; }
  grep -q "no errors were found" "$WORK/check.out" || fail "restic check output"
  step "restic restore of a kura snapshot is identical"
  rst -r "$WORK/repo" restore latest --target "$WORK/r-restic" >/dev/null
  same_tree "$WORK/src" "$WORK/r-restic/src"
  step "kura restore is identical too"
  kura -r "$WORK/repo" restore latest --target "$WORK/r-kura" --verify >/dev/null
  same_tree "$WORK/src" "$WORK/r-kura/src"
  step "restic can back up into, forget in and add keys to a kura repository"
  (cd "$WORK" && rst -r "$WORK/repo" backup src >/dev/null)
  rst -r "$WORK/repo" forget --keep-last 1 --prune >/dev/null
  rst -r "$WORK/repo" check --read-data >/dev/null
  echo other-password > "$WORK/pw2"
  rst -r "$WORK/repo" key add --new-password-file "$WORK/pw2" >/dev/null
  kura -r "$WORK/repo" -p "$WORK/pw2" snapshots >/dev/null
  [ "$(rst -r "$WORK/repo" key list --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')" = 2 ] || fail "key list"
  ;;

restic_writes_kura_reads)
  make_corpus "$WORK/src" "$MB"
  rst -r "$WORK/repo" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/repo" backup --tag t1 src >/dev/null)
  step "kura lists and restores a restic snapshot identically"
  kura -r "$WORK/repo" snapshots | grep -q "1 snapshots" || fail "snapshots"
  kura -r "$WORK/repo" ls latest | grep -q "^/src/small.txt$" || fail "ls"
  kura -r "$WORK/repo" restore latest --target "$WORK/r-kura" --verify >/dev/null
  same_tree "$WORK/src" "$WORK/r-kura/src"
  step "kura backs up into a restic repository; restic checks it"
  echo "changed" >> "$WORK/src/small.txt"
  (cd "$WORK" && kura -r "$WORK/repo" backup src >/dev/null)
  rst -r "$WORK/repo" check --read-data >/dev/null || fail "restic check after kura backup"
  rst -r "$WORK/repo" restore latest --target "$WORK/r-restic" >/dev/null
  same_tree "$WORK/src" "$WORK/r-restic/src"
  ;;

dedup_both_ways)
  make_corpus "$WORK/src" 48
  step "kura first, then restic adds no data and no trees"
  kura -r "$WORK/a" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/a" backup src >/dev/null)
  (cd "$WORK" && rst -r "$WORK/a" backup --force --json src > "$WORK/a.json")
  [ "$(summary_field "$WORK/a.json" data_blobs)" = 0 ] || fail "restic added data blobs after kura"
  [ "$(summary_field "$WORK/a.json" tree_blobs)" = 0 ] || fail "restic added tree blobs after kura"
  step "restic first, then kura adds no data and no trees"
  rst -r "$WORK/b" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/b" backup src >/dev/null)
  (cd "$WORK" && kura -r "$WORK/b" backup --force --json src > "$WORK/b.json")
  [ "$(summary_field "$WORK/b.json" data_blobs)" = 0 ] || fail "kura added data blobs after restic"
  [ "$(summary_field "$WORK/b.json" tree_blobs)" = 0 ] || fail "kura added tree blobs after restic"
  step "unchanged files keep their parent's extended attributes (kura reads none for them)"
  (cd "$WORK" && kura -r "$WORK/b" backup --json src > "$WORK/b2.json")
  [ "$(summary_field "$WORK/b2.json" tree_blobs)" = 0 ] || fail "kura no-change backup wrote trees"
  (cd "$WORK" && kura -r "$WORK/b" backup --ignore-ctime --json src > "$WORK/b3.json")
  [ "$(summary_field "$WORK/b3.json" tree_blobs)" = 0 ] || fail "kura --ignore-ctime backup wrote trees"
  step "a changed extended attribute is seen (it changes ctime), as restic sees it"
  python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.comment", b"changed")' "$WORK/src/small.txt"
  (cd "$WORK" && kura -r "$WORK/b" backup src >/dev/null)
  (cd "$WORK" && rst -r "$WORK/b" backup --force --json src > "$WORK/b4.json")
  [ "$(summary_field "$WORK/b4.json" tree_blobs)" = 0 ] || fail "restic's tree differs after an xattr change"
  step "absolute paths too (chain of parent directories)"
  # The directories above the target (/, /tmp, ...) may change between the two runs when
  # other processes create files there; only those trees may differ, never the target's.
  target="$WORK/src/dir"
  kura -r "$WORK/a" backup "$target" >/dev/null
  rst -r "$WORK/a" backup --force --json "$target" > "$WORK/c.json"
  chain=$(python3 -c 'import sys;print(len([p for p in sys.argv[1].split("/") if p]))' "$target")
  [ "$(summary_field "$WORK/c.json" tree_blobs)" -le "$chain" ] || fail "absolute-path trees differ"
  [ "$(summary_field "$WORK/c.json" data_blobs)" = 0 ] || fail "absolute-path data differs"
  ;;

old_formats)
  make_corpus "$WORK/src" 16
  step "a v1 repository made by restic"
  rst -r "$WORK/v1" init --repository-version 1 >/dev/null
  (cd "$WORK" && rst -r "$WORK/v1" backup src >/dev/null)
  kura -r "$WORK/v1" restore latest --target "$WORK/r1" >/dev/null
  same_tree "$WORK/src" "$WORK/r1/src"
  step "kura writes into the v1 repository uncompressed; restic checks it"
  echo more >> "$WORK/src/small.txt"
  (cd "$WORK" && kura -r "$WORK/v1" backup src >/dev/null)
  rst -r "$WORK/v1" check --read-data >/dev/null || fail "restic check v1"
  step "a v2 repository with compression off"
  rst -r "$WORK/off" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/off" backup --compression off src >/dev/null)
  kura -r "$WORK/off" restore latest --target "$WORK/r2" >/dev/null
  same_tree "$WORK/src" "$WORK/r2/src"
  step "kura --compression off and max are readable by restic"
  kura -r "$WORK/k" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/k" --compression off backup src >/dev/null)
  echo again >> "$WORK/src/small.txt"
  (cd "$WORK" && kura -r "$WORK/k" --compression max backup src >/dev/null)
  rst -r "$WORK/k" check --read-data >/dev/null || fail "restic check compression off/max"
  step "kura init --repository-version 1"
  kura -r "$WORK/k1" init --repository-version 1 >/dev/null
  (cd "$WORK" && kura -r "$WORK/k1" backup src >/dev/null)
  rst -r "$WORK/k1" check --read-data >/dev/null || fail "restic check kura v1"
  ;;

rest_rclone)
  make_corpus "$WORK/src" 32
  serve_rclone "$WORK/served"
  url="rest:http://127.0.0.1:$PORT/"
  step "kura over REST (rclone serve restic)"
  kura -r "$url" init >/dev/null
  (cd "$WORK" && kura -r "$url" backup src >/dev/null)
  (cd "$WORK" && kura -r "$url" backup src >/dev/null)
  kura -r "$url" restore latest --target "$WORK/r" >/dev/null
  same_tree "$WORK/src" "$WORK/r/src"
  step "restic reads what kura stored through REST"
  rst -r "$url" check --read-data >/dev/null || fail "restic check over REST"
  rst -r "$WORK/served" check >/dev/null || fail "restic check on the served folder"
  ;;

*) fail "unknown case $case_name" ;;
esac
echo "PASS $case_name"
