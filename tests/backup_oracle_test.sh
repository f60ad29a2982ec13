#!/usr/bin/env bash
# kura backup against restic 0.14 on the same input: both run, and what a user or a monitoring
# script sees (exit codes, snapshot paths, tree listings, data_added) must agree.
# Usage: backup_oracle_test.sh CASE
source "$(dirname "$0")/lib.sh"
need_restic

# Two repositories with the same keys and chunker polynomial (one copied before first use), so
# the same files give the same blobs: RA for restic, RK for kura.
twin_repos() {
  rst -r "$WORK/base" init >/dev/null
  cp -a "$WORK/base" "$WORK/ra"
  cp -a "$WORK/base" "$WORK/rk"
  RA="$WORK/ra" RK="$WORK/rk"
}
nsnaps() { ls "$1/snapshots" | wc -l; }
# paths REPO: the latest snapshot's paths, one a line
paths() {
  rst -r "$1" snapshots latest --json | python3 -c 'import json,sys
for p in json.load(sys.stdin)[0]["paths"]: print(p)'
}
# listing REPO: path, type and size of every node of the latest snapshot (no times, no ids)
listing() {
  rst -r "$1" ls latest --json | python3 -c 'import json,sys
for line in sys.stdin:
    o=json.loads(line)
    if o.get("struct_type")=="node": print(o["path"], o["type"], o.get("size",""), oct(o["mode"] & 0o777))'
}
same_listing() {
  listing "$RA" > "$WORK/list.restic"
  listing "$RK" > "$WORK/list.kura"
  diff -u "$WORK/list.restic" "$WORK/list.kura" >&2 || fail "$1: tree listings differ (restic -, kura +)"
}
# run_both NAME ARGS...: the same backup with restic (into RA) and kura (into RK), from $WORK;
# exit codes in RC_RESTIC / RC_KURA, output in $WORK/NAME.{restic,kura}.{out,err}.
run_both() {
  local name=$1
  shift
  RC_RESTIC=0 RC_KURA=0
  (cd "$WORK" && rst -r "$RA" backup "$@" > "$WORK/$name.restic.out" 2> "$WORK/$name.restic.err") || RC_RESTIC=$?
  (cd "$WORK" && kura -r "$RK" backup "$@" > "$WORK/$name.kura.out" 2> "$WORK/$name.kura.err") || RC_KURA=$?
  [ "$RC_KURA" -lt 128 ] || { cat "$WORK/$name.kura.err" >&2; fail "$name: kura crashed ($RC_KURA)"; }
  [ "$RC_RESTIC" = "$RC_KURA" ] || {
    cat "$WORK/$name.restic.err" "$WORK/$name.kura.err" >&2
    fail "$name: exit code restic $RC_RESTIC, kura $RC_KURA"
  }
}
# stdin_both NAME INPUT ARGS...: run_both with INPUT as standard input
stdin_both() {
  local name=$1 input=$2
  shift 2
  RC_RESTIC=0 RC_KURA=0
  (cd "$WORK" && rst -r "$RA" backup "$@" < "$input" > "$WORK/$name.restic.out" 2> "$WORK/$name.restic.err") || RC_RESTIC=$?
  (cd "$WORK" && kura -r "$RK" backup "$@" < "$input" > "$WORK/$name.kura.out" 2> "$WORK/$name.kura.err") || RC_KURA=$?
  [ "$RC_KURA" -lt 128 ] || fail "$name: kura crashed ($RC_KURA)"
  [ "$RC_RESTIC" = "$RC_KURA" ] || {
    cat "$WORK/$name.restic.err" "$WORK/$name.kura.err" >&2
    fail "$name: exit code restic $RC_RESTIC, kura $RC_KURA"
  }
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks: $2"; }; }

case "${1:?case}" in
stdin_filename)
  twin_repos
  echo "dump of the day" > "$WORK/dump.sql"
  for name in dir/x.sql ../../up.sql a/b/../c.sql /abs/z.sql; do
    step "--stdin-filename $name"
    stdin_both stdin "$WORK/dump.sql" --stdin --stdin-filename "$name"
    [ "$RC_KURA" = 0 ] || fail "kura backup --stdin-filename $name exits $RC_KURA"
    diff <(paths "$RA") <(paths "$RK") >&2 || fail "$name: snapshot paths differ"
    same_listing "$name"
    rst -r "$RK" check >/dev/null || fail "$name: restic check"
    # Both restorers accept the snapshot kura wrote.
    rm -rf "$WORK/r1" "$WORK/r2"
    rst -r "$RK" restore latest --target "$WORK/r1" >/dev/null || fail "$name: restic cannot restore it"
    kura -r "$RK" restore latest --target "$WORK/r2" >/dev/null || fail "$name: kura cannot restore it"
    p=$(paths "$RK")
    cmp "$WORK/dump.sql" "$WORK/r1$p" || fail "$name: restic restored other bytes at $p"
    cmp "$WORK/dump.sql" "$WORK/r2$p" || fail "$name: kura restored other bytes at $p"
  done
  step "a name that leaves nothing is refused, and nothing is written"
  n=$(nsnaps "$RK")
  rc=0
  kura -r "$RK" backup --stdin --stdin-filename .. < "$WORK/dump.sql" > /dev/null 2> "$WORK/err" || rc=$?
  [ "$rc" = 1 ] || fail "--stdin-filename .. exits $rc"
  [ "$(nsnaps "$RK")" = "$n" ] || fail "--stdin-filename .. wrote a snapshot"
  ;;
empty_stdin)
  twin_repos
  : > "$WORK/empty"
  stdin_both empty "$WORK/empty" --stdin --stdin-filename db.sql
  [ "$RC_KURA" = 1 ] || fail "empty stdin exits $RC_KURA, want 1"
  [ "$(nsnaps "$RK")" = 0 ] || fail "kura saved a snapshot of empty stdin"
  contains "$WORK/empty.kura.err" "snapshot is empty"
  contains "$WORK/empty.kura.err" "read /db.sql: no data read"
  step "--json: the error is restic's object, on stderr"
  stdin_both emptyjson "$WORK/empty" --json --stdin --stdin-filename db.sql
  grep '"message_type":"error"' "$WORK/emptyjson.restic.err" > "$WORK/e.restic"
  grep '"message_type":"error"' "$WORK/emptyjson.kura.err" > "$WORK/e.kura"
  diff -u "$WORK/e.restic" "$WORK/e.kura" >&2 || fail "JSON error lines differ"
  ! grep -q '"message_type":"error"' "$WORK/emptyjson.kura.out" || fail "JSON error on stdout"
  ;;
missing_target)
  twin_repos
  mkdir -p "$WORK/src/d"
  echo a > "$WORK/src/d/a"
  echo b > "$WORK/src/b"
  step "one of three targets missing: warned about, skipped, the rest saved"
  run_both one src/d "$WORK/gone" src/b
  [ "$RC_KURA" = 0 ] || fail "exit $RC_KURA"
  contains "$WORK/one.restic.err" "$WORK/gone does not exist, skipping"
  contains "$WORK/one.kura.err" "$WORK/gone does not exist, skipping"
  diff <(paths "$RA") <(paths "$RK") >&2 || fail "snapshot paths differ"
  same_listing "one missing"
  step "a folder given after a target inside it is backed up whole"
  run_both nested src/d/a src
  same_listing "nested targets"
  step "all targets missing: an error, no snapshot"
  run_both all "$WORK/gone" "$WORK/gone2"
  [ "$RC_KURA" = 1 ] || fail "exit $RC_KURA with all targets missing"
  contains "$WORK/all.kura.err" "all target directories/files do not exist"
  [ "$(nsnaps "$RK")" = 2 ] || fail "a snapshot was written with all targets missing"
  ;;
files_from)
  twin_repos
  mkdir -p "$WORK/src/a.d" "$WORK/src/b.d" "$WORK/src/.hidden.d" "$WORK/src/other"
  echo 1 > "$WORK/src/a.d/x"
  echo 2 > "$WORK/src/b.d/y"
  echo 3 > "$WORK/src/.hidden.d/z"
  echo 4 > "$WORK/src/other/w"
  echo 5 > "$WORK/src/with space"
  echo 6 > "$WORK/src/  padded  "
  printf '  src/*.d  \n# a comment\n\n\tsrc/nomatch*\nsrc/with space\r\n' > "$WORK/list"
  step "--files-from: patterns expanded, spaces trimmed, comments skipped"
  run_both ff --files-from list
  [ "$RC_KURA" = 0 ] || fail "exit $RC_KURA"
  contains "$WORK/ff.kura.err" 'pattern "src/nomatch*" does not match any files, skipping'
  diff <(paths "$RA") <(paths "$RK") >&2 || fail "--files-from: snapshot paths differ"
  same_listing "--files-from"
  step "--files-from-verbatim: lines as they are"
  printf 'src/  padded  \nsrc/other\n\n' > "$WORK/verbatim"
  run_both fv --files-from-verbatim verbatim
  diff <(paths "$RA") <(paths "$RK") >&2 || fail "--files-from-verbatim: snapshot paths differ"
  same_listing "--files-from-verbatim"
  step "--files-from-raw: NUL-separated, combined with an argument"
  printf 'src/  padded  \0src/with space\0' > "$WORK/raw"
  run_both fr --files-from-raw raw src/other
  diff <(paths "$RA") <(paths "$RK") >&2 || fail "--files-from-raw: snapshot paths differ"
  same_listing "--files-from-raw"
  printf 'src/other' > "$WORK/raw.bad"
  run_both frbad --files-from-raw raw.bad
  contains "$WORK/frbad.kura.err" "--files-from-raw: trailing zero byte missing"
  step "--files-from - reads standard input"
  printf 'src/a.d\n' > "$WORK/stdin.list"
  stdin_both ffstdin "$WORK/stdin.list" --files-from -
  diff <(paths "$RA") <(paths "$RK") >&2 || fail "--files-from -: snapshot paths differ"
  ;;
data_added)
  twin_repos
  mkdir -p "$WORK/src/sub"
  head -c $((20 << 20)) /dev/urandom > "$WORK/src/big.bin"
  python3 -c 'import sys; sys.stdout.write("compressible line of text\n" * 200000)' > "$WORK/src/sub/text.txt"
  echo small > "$WORK/src/sub/small"
  touch -d 2021-01-01 "$WORK/src" "$WORK/src/sub"
  for round in first second; do
    step "$round backup: data_added and \"Added to the repository\" as restic's"
    run_both "$round" --json src
    a=$(summary_field "$WORK/$round.restic.out" data_added)
    k=$(summary_field "$WORK/$round.kura.out" data_added)
    [ "$a" = "$k" ] || fail "$round: data_added restic $a, kura $k"
    for f in files_new files_changed files_unmodified dirs_new dirs_changed dirs_unmodified data_blobs tree_blobs total_files_processed total_bytes_processed; do
      [ "$(summary_field "$WORK/$round.restic.out" $f)" = "$(summary_field "$WORK/$round.kura.out" $f)" ] ||
        fail "$round: $f restic $(summary_field "$WORK/$round.restic.out" $f), kura $(summary_field "$WORK/$round.kura.out" $f)"
    done
    python3 - "$WORK/$round.kura.out" <<'EOF' || fail "$round: kura's summary keys differ from restic 0.14's"
import json, sys
keys = ["message_type", "files_new", "files_changed", "files_unmodified", "dirs_new", "dirs_changed",
        "dirs_unmodified", "data_blobs", "tree_blobs", "data_added", "total_files_processed",
        "total_bytes_processed", "total_duration", "snapshot_id"]
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["message_type"] == "summary":
        sys.exit(0 if list(o) == keys and len(o["snapshot_id"]) == 8 else 1)
sys.exit(1)
EOF
    head -c 1000 /dev/urandom >> "$WORK/src/sub/text.txt"
    touch -d 2021-01-01 "$WORK/src" "$WORK/src/sub"
  done
  step "text output: the same Added line for new data"
  head -c $((3 << 20)) /dev/urandom > "$WORK/src/new.bin"
  touch -d 2021-01-01 "$WORK/src"
  run_both text src
  a=$(grep -o 'Added to the repository: [0-9.]* [KMG]*i*B' "$WORK/text.restic.out")
  k=$(grep -o 'Added to the repository: [0-9.]* [KMG]*i*B' "$WORK/text.kura.out")
  [ -n "$a" ] && [ "$a" = "$k" ] || fail "restic says '$a', kura '$k'"
  ;;
exclude_caches)
  twin_repos
  mkdir -p "$WORK/src/cache/sub" "$WORK/src/keep" "$WORK/src/fake" "$WORK/src/marked"
  printf 'Signature: 8a477f597d28d172789f06886806bc55\n# cache\n' > "$WORK/src/cache/CACHEDIR.TAG"
  echo x > "$WORK/src/cache/data"
  echo y > "$WORK/src/cache/sub/z"
  echo k > "$WORK/src/keep/k"
  printf 'Signature: not the one we want, no\n' > "$WORK/src/fake/CACHEDIR.TAG"
  echo f > "$WORK/src/fake/f"
  touch "$WORK/src/marked/.nobackup"
  echo m > "$WORK/src/marked/m"
  head -c 5000 /dev/urandom > "$WORK/src/keep/large"
  step "--exclude-caches keeps the folder and its CACHEDIR.TAG"
  run_both ec --exclude-caches src
  [ "$RC_KURA" = 0 ] || fail "exit $RC_KURA"
  same_listing "--exclude-caches"
  grep -q '^/src/cache dir' "$WORK/list.kura" || fail "the cache folder itself is missing"
  grep -q '^/src/cache/CACHEDIR.TAG file' "$WORK/list.kura" || fail "CACHEDIR.TAG is missing"
  ! grep -q '^/src/cache/data' "$WORK/list.kura" || fail "the cache's content was backed up"
  step "--exclude-if-present and --exclude-larger-than"
  run_both eip --exclude-if-present .nobackup --exclude-if-present "CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55" --exclude-larger-than 4k src
  same_listing "--exclude-if-present/--exclude-larger-than"
  step "the rules apply to the targets themselves (the folders above them stay)"
  run_both targets --exclude-larger-than 4k -e 'm' src/keep/large src/keep/k src/marked/m src/cache/data
  same_listing "excluded targets"
  ;;
options)
  twin_repos
  mkdir -p "$WORK/src"
  echo a > "$WORK/src/a"
  step "--time sets the snapshot time (local time), --host and --tag are recorded"
  run_both t1 --time "2021-03-04 05:06:07" --host clinic-pc --tag daily,db src
  for repo in "$RA" "$RK"; do
    rst -r "$repo" snapshots --json | python3 -c 'import json,sys
s=json.load(sys.stdin)[-1]
print(s["time"][:19], s["hostname"], ",".join(s.get("tags",[])))'
  done > "$WORK/t1"
  [ "$(sort -u "$WORK/t1" | wc -l)" = 1 ] || { cat "$WORK/t1" >&2; fail "--time/--host/--tag differ"; }
  rc=0
  kura -r "$RK" backup --time "yesterday" src > /dev/null 2> "$WORK/err" || rc=$?
  [ "$rc" = 1 ] || fail "--time yesterday exits $rc"
  step "an older --time does not take a newer snapshot as parent"
  run_both t2 --time "2020-01-01 00:00:00" --host clinic-pc src
  if grep -q "using parent" "$WORK/t2.restic.out"; then want=using; else want=no; fi
  grep -q "$want parent" "$WORK/t2.kura.out" || fail "parent choice differs from restic's ($want parent)"
  step "--ignore-inode and --ignore-ctime: an unchanged file with a new ctime is unmodified"
  run_both i0 --host h src
  chmod 600 "$WORK/src/a"
  run_both i1 --host h --ignore-ctime --json src
  [ "$(summary_field "$WORK/i1.kura.out" files_unmodified)" = "$(summary_field "$WORK/i1.restic.out" files_unmodified)" ] ||
    fail "--ignore-ctime: files_unmodified differs"
  chmod 644 "$WORK/src/a"
  run_both i2 --host h --ignore-inode --json src
  [ "$(summary_field "$WORK/i2.kura.out" files_unmodified)" = "$(summary_field "$WORK/i2.restic.out" files_unmodified)" ] ||
    fail "--ignore-inode: files_unmodified differs"
  step "every flag of restic help backup is a flag of kura backup"
  rst help backup | sed -n '/^Flags:/,/^$/p' | grep -oE -- '--[a-z-]+' | sort -u > "$WORK/flags.restic"
  kura backup --help | grep -oE -- '--[a-z-]+' | sort -u > "$WORK/flags.kura"
  missing=$(comm -23 "$WORK/flags.restic" "$WORK/flags.kura")
  [ -z "$missing" ] || fail "kura backup lacks: $missing"
  ;;
json_errors)
  # Unreadable files need a user the file system refuses: drop root if we are root.
  mkdir -p "$WORK/pd/src/closed"
  chmod 755 "$WORK" "$WORK/pd"
  echo ok > "$WORK/pd/src/ok"
  echo secret > "$WORK/pd/src/secret"
  echo inside > "$WORK/pd/src/closed/h"
  chmod 000 "$WORK/pd/src/secret" "$WORK/pd/src/closed"
  as=()
  if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || { echo "setpriv missing, cannot drop root: skipped"; exit 77; }
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    "${as[@]}" true 2>/dev/null || { echo "cannot run as nobody: skipped"; exit 77; }
  fi
  rst -r "$WORK/pd/base" init >/dev/null
  cp -a "$WORK/pd/base" "$WORK/pd/ra"
  cp -a "$WORK/pd/base" "$WORK/pd/rk"
  chown -R nobody "$WORK/pd" 2>/dev/null || true
  "${as[@]}" cat "$WORK/pd/src/secret" >/dev/null 2>&1 && { echo "the file is readable anyway: skipped"; exit 77; }
  rc_r=0 rc_k=0
  (cd "$WORK/pd" && "${as[@]}" env HOME="$WORK/pd" restic --no-cache -r ra backup --json src > r.out 2> r.err) || rc_r=$?
  (cd "$WORK/pd" && "${as[@]}" "$KURA" -r rk backup --json src > k.out 2> k.err) || rc_k=$?
  [ "$rc_r" = "$rc_k" ] || fail "exit code restic $rc_r, kura $rc_k"
  step "the error objects (archival) are restic's, on stderr, and nothing else differs in shape"
  extract='import json,sys
for line in open(sys.argv[1]):
    if not line.startswith("{"): continue
    o=json.loads(line)
    if o.get("message_type")=="error" and o["during"]=="archival": print(json.dumps(o, sort_keys=True))'
  python3 -c "$extract" "$WORK/pd/r.err" | sort > "$WORK/e.restic"
  python3 -c "$extract" "$WORK/pd/k.err" | sort > "$WORK/e.kura"
  diff -u "$WORK/e.restic" "$WORK/e.kura" >&2 || fail "JSON error objects differ (restic -, kura +)"
  ! grep -q '"message_type":"error"' "$WORK/pd/k.out" || fail "an error object on stdout"
  step "an unreadable file is not counted as new"
  for f in files_new files_changed files_unmodified total_files_processed; do
    [ "$(summary_field "$WORK/pd/r.out" $f)" = "$(summary_field "$WORK/pd/k.out" $f)" ] ||
      fail "$f: restic $(summary_field "$WORK/pd/r.out" $f), kura $(summary_field "$WORK/pd/k.out" $f)"
  done
  ;;
*)
  fail "unknown case $1"
  ;;
esac
echo ok
