#!/usr/bin/env bash
# Small restic 0.14 behaviours, restic itself as the oracle: the RESTIC_* environment
# variables, the password typed again on a terminal, and more (one case per argument).
# usage: KURA=build/bin/kura tests/gaps_test.sh CASE
source "$(dirname "$0")/lib.sh"
need_restic

# count_packs REPO: the number of pack files
count_packs() { find "$1/data" -type f | wc -l; }
# data_bytes REPO: the bytes of all pack files
data_bytes() { find "$1/data" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

case "${1:?case}" in
env)
  # Every variable restic 0.14 reads for its global flags (cmd/restic/global.go, progress.go,
  # internal/cache/dir.go), each alone, KURA_* before RESTIC_*.
  R="$WORK/repo"
  kura -r "$R" init >/dev/null
  mkdir -p "$WORK/src"
  python3 -c 'import sys; sys.stdout.write("all work and no play makes jack a dull boy\n" * 60000)' > "$WORK/src/text"
  step "RESTIC_COMPRESSION=off stores the text as it is"
  RESTIC_COMPRESSION=off kura -r "$R" backup "$WORK/src" >/dev/null
  [ "$(data_bytes "$R")" -gt 2500000 ] || fail "RESTIC_COMPRESSION=off: data compressed ($(data_bytes "$R") bytes)"
  step "KURA_COMPRESSION wins over RESTIC_COMPRESSION"
  R2="$WORK/repo2"
  kura -r "$R2" init >/dev/null
  KURA_COMPRESSION=max RESTIC_COMPRESSION=off kura -r "$R2" backup "$WORK/src" >/dev/null
  [ "$(data_bytes "$R2")" -lt 500000 ] || fail "KURA_COMPRESSION=max not used ($(data_bytes "$R2") bytes)"
  step "an invalid RESTIC_COMPRESSION is ignored, as restic does"
  RESTIC_COMPRESSION=bogus kura -r "$R2" snapshots >/dev/null || fail "RESTIC_COMPRESSION=bogus refused"
  RESTIC_COMPRESSION=bogus rst -r "$R2" snapshots >/dev/null || fail "restic refused RESTIC_COMPRESSION=bogus (oracle)"

  step "RESTIC_PACK_SIZE=4 cuts 12.5 MiB into several packs"
  mkdir -p "$WORK/big"
  # 32 incompressible files of 400 KiB, each below the 512 KiB minimum chunk size, so every
  # file is one blob whatever the repository's chunker polynomial. A 4 MiB pack closes after
  # 11 blobs: 3 data packs and 1 tree pack. With 16 MiB: 1 data pack and 1 tree pack.
  python3 -c '
import random, sys
r = random.Random(12)
for i in range(32):
    open(sys.argv[1] + "/f%02d" % i, "wb").write(r.randbytes(400 * 1024))' "$WORK/big"
  R3="$WORK/repo3"
  kura -r "$R3" init >/dev/null
  RESTIC_PACK_SIZE=4 kura -r "$R3" backup "$WORK/big" >/dev/null
  [ "$(count_packs "$R3")" -ge 4 ] || fail "RESTIC_PACK_SIZE=4: only $(count_packs "$R3") packs"
  R4="$WORK/repo4"
  kura -r "$R4" init >/dev/null
  KURA_PACK_SIZE=16 RESTIC_PACK_SIZE=4 kura -r "$R4" backup "$WORK/big" >/dev/null
  [ "$(count_packs "$R4")" -le 2 ] || fail "KURA_PACK_SIZE=16 not used: $(count_packs "$R4") packs"
  step "pack sizes out of range fail as in restic; unparsable ones are ignored"
  for v in 200 2 bogus; do
    RESTIC_PACK_SIZE=$v rst -r "$R" snapshots > "$WORK/restic.out" 2> "$WORK/restic.err" && r=0 || r=$?
    RESTIC_PACK_SIZE=$v kura -r "$R" snapshots > "$WORK/kura.out" 2> "$WORK/kura.err" && k=0 || k=$?
    [ "$r" = "$k" ] || fail "RESTIC_PACK_SIZE=$v: exit $k, restic $r"
    if [ "$r" != 0 ]; then
      want=$(sed 's/^Fatal: //' "$WORK/restic.err")
      grep -qF "$want" "$WORK/kura.err" || fail "RESTIC_PACK_SIZE=$v: kura says $(cat "$WORK/kura.err"), restic $want"
    fi
  done
  kura -r "$R" --pack-size 200 snapshots 2> "$WORK/kura.err" >/dev/null && fail "--pack-size 200 accepted"
  grep -qF "pack size larger than limit of 128 MiB" "$WORK/kura.err" || fail "--pack-size 200: $(cat "$WORK/kura.err")"

  step "the password, the repository and the key hint from RESTIC_* variables"
  echo "$KURA_PASSWORD" > "$WORK/pw"
  echo "$R" > "$WORK/repofile"
  keyid=$(basename "$(ls "$R/keys" | head -1)")
  clean=(env -u KURA_PASSWORD -u RESTIC_PASSWORD)
  "${clean[@]}" RESTIC_REPOSITORY="$R" RESTIC_PASSWORD_FILE="$WORK/pw" "$KURA" snapshots >/dev/null ||
    fail "RESTIC_REPOSITORY + RESTIC_PASSWORD_FILE"
  "${clean[@]}" RESTIC_REPOSITORY_FILE="$WORK/repofile" RESTIC_PASSWORD_COMMAND="cat $WORK/pw" \
    RESTIC_KEY_HINT="$keyid" "$KURA" snapshots >/dev/null ||
    fail "RESTIC_REPOSITORY_FILE + RESTIC_PASSWORD_COMMAND + RESTIC_KEY_HINT"
  "${clean[@]}" RESTIC_PASSWORD="$KURA_PASSWORD" KURA_CACHE_DIR= RESTIC_CACHE_DIR="$WORK/rcache" \
    "$KURA" -r "$R" snapshots >/dev/null || fail "RESTIC_PASSWORD + RESTIC_CACHE_DIR"
  [ -n "$(ls "$WORK/rcache" 2>/dev/null)" ] ||
    fail "RESTIC_CACHE_DIR not used"
  step "RESTIC_PROGRESS_FPS prints the status as lines where stdout is no terminal"
  # The input takes half a second to arrive, so several status lines are due.
  (echo a; sleep 0.5; echo b) | RESTIC_PROGRESS_FPS=20 kura -r "$R" backup --stdin > "$WORK/fps.out"
  grep -q "files.*total.*errors" "$WORK/fps.out" || { cat "$WORK/fps.out" >&2; fail "no status lines with RESTIC_PROGRESS_FPS"; }
  ;;
password_prompt)
  # restic asks three times for a password typed on a terminal, then fails.
  R="$WORK/repo"
  rst -r "$R" init >/dev/null
  run_pty() {  # run_pty LINES PROGRAM ARGS...: stdin a terminal, no password in the environment
    local lines=$1
    shift
    env -u KURA_PASSWORD -u RESTIC_PASSWORD python3 "$HERE/pty_run.py" "password for repository: " "$lines" -- "$@"
  }
  run_pty "a,b,c" restic --no-cache -r "$R" snapshots > "$WORK/restic.out"
  run_pty "a,b,c" "$KURA" -r "$R" snapshots > "$WORK/kura.out"
  cat "$WORK/kura.out" >&2
  for f in restic kura; do
    [ "$(grep -c "password for repository: " "$WORK/$f.out")" = 3 ] || fail "$f did not ask three times"
    [ "$(grep -c "^wrong password or no key found. Try again$" "$WORK/$f.out")" = 2 ] || fail "$f: no 'Try again' twice"
    grep -q "^--- exit 1$" "$WORK/$f.out" || fail "$f: not exit 1"
  done
  step "the right password on the third try opens the repository"
  run_pty "a,b,$KURA_PASSWORD" "$KURA" -r "$R" snapshots > "$WORK/kura.out"
  grep -q "^--- exit 0$" "$WORK/kura.out" || { cat "$WORK/kura.out" >&2; fail "third try refused"; }
  step "a password from the environment is not asked again"
  env -u KURA_PASSWORD RESTIC_PASSWORD=wrong python3 "$HERE/pty_run.py" "password for repository: " "" -- \
    "$KURA" -r "$R" snapshots > "$WORK/kura.out"
  ! grep -q "Try again" "$WORK/kura.out" || fail "an environment password was retried"
  grep -q "^--- exit 1$" "$WORK/kura.out" || fail "wrong environment password: not exit 1"
  ;;
cat_pack)
  # cat pack prints a damaged pack after restic's warning.
  R="$WORK/repo"
  kura -r "$R" init >/dev/null
  mkdir -p "$WORK/src" && echo hello > "$WORK/src/f"
  kura -r "$R" backup "$WORK/src" >/dev/null
  pack=$(find "$R/data" -type f | head -1)
  id=$(basename "$pack")
  # No cache: kura's (as restic's) would serve the sound copy of a cached tree pack.
  for p in "kura --no-cache" rst; do
    n=${p%% *}
    $p -r "$R" cat pack "$id" > "$WORK/$n.good" 2> "$WORK/$n.good.err"
    [ ! -s "$WORK/$n.good.err" ] || fail "$n warns about a sound pack: $(cat "$WORK/$n.good.err")"
  done
  cmp "$WORK/kura.good" "$WORK/rst.good" || fail "sound pack: kura and restic print different bytes"
  chmod u+w "$pack"
  flip_byte "$pack" 3
  kura --no-cache -r "$R" cat pack "$id" > "$WORK/kura.bad" 2> "$WORK/kura.bad.err" || fail "kura cat pack failed on a damaged pack"
  rst -r "$R" cat pack "$id" > "$WORK/rst.bad" 2> "$WORK/rst.bad.err" || fail "restic cat pack failed (oracle)"
  cmp "$WORK/kura.bad" "$WORK/rst.bad" || fail "damaged pack: kura and restic print different bytes"
  diff "$WORK/kura.bad.err" "$WORK/rst.bad.err" >&2 || fail "damaged pack: warnings differ"
  ;;
migrate)
  # migrate upgrade_repo_v2 prints restic's check output before it migrates.
  mkdir -p "$WORK/src" && echo hello > "$WORK/src/f"
  rst -r "$WORK/r1" init --repository-version 1 >/dev/null
  rst -r "$WORK/r1" backup "$WORK/src" >/dev/null
  cp -a "$WORK/r1" "$WORK/r2"
  rst -r "$WORK/r1" migrate upgrade_repo_v2 > "$WORK/restic.out" 2>&1 || fail "restic migrate (oracle)"
  kura -r "$WORK/r2" migrate upgrade_repo_v2 > "$WORK/kura.out" 2>&1 || { cat "$WORK/kura.out" >&2; fail "kura migrate"; }
  # restic's check makes its temporary cache, kura checks through the repository it has open;
  # the progress lines (restic prints its last one, and a blank line, even to a pipe) aside.
  cmp_out() { grep -v -e "^using temporary cache in " -e '^\[' -e '^$' "$1" || true; }
  diff <(cmp_out "$WORK/kura.out") <(cmp_out "$WORK/restic.out") >&2 || fail "migrate output differs"
  rst -r "$WORK/r2" check >/dev/null || fail "restic check after kura's migration"
  step "a damaged repository is not migrated; check says why"
  rst -r "$WORK/r3" init --repository-version 1 >/dev/null
  rst -r "$WORK/r3" backup "$WORK/src" >/dev/null
  rm "$(find "$WORK/r3/data" -type f | head -1)"
  cp -a "$WORK/r3" "$WORK/r4"
  rst -r "$WORK/r3" migrate upgrade_repo_v2 > "$WORK/restic.out" 2> "$WORK/restic.err" && fail "restic migrated a damaged repository (oracle)"
  kura -r "$WORK/r4" migrate upgrade_repo_v2 > "$WORK/kura.out" 2> "$WORK/kura.err" && fail "kura migrated a damaged repository"
  diff <(cmp_out "$WORK/kura.out") <(cmp_out "$WORK/restic.out") >&2 || fail "damaged: migrate output differs"
  grep -q "repository contains errors" "$WORK/kura.err" || fail "damaged: $(cat "$WORK/kura.err")"
  [ "$(kura -r "$WORK/r4" --json cat config | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" = 1 ] ||
    fail "damaged repository was upgraded"
  ;;
prune_cache)
  # Packs of trees that prune writes go into the local cache, as backup's do: after a prune,
  # every pack holding trees is cached.
  export KURA_CACHE_DIR="$WORK/cache"
  R="$WORK/repo"
  kura -r "$R" init >/dev/null
  mkdir -p "$WORK/src"
  for i in $(seq 30); do mkdir -p "$WORK/src/d$i"; echo "$i" > "$WORK/src/d$i/f"; kura -r "$R" backup "$WORK/src" >/dev/null; done
  kura -r "$R" forget --keep-last 1 >/dev/null
  rm -rf "$KURA_CACHE_DIR"
  kura -r "$R" prune --max-unused 0 > "$WORK/prune.out" || fail "prune"
  grep -q "repacking" "$WORK/prune.out" || { cat "$WORK/prune.out" >&2; fail "nothing repacked"; }
  id=$(kura -r "$R" --json cat config | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for f in "$R"/index/*; do kura -r "$R" --no-lock cat index "$(basename "$f")"; echo; done |
    python3 -c 'import json,sys
for line in sys.stdin:
    line = line.strip()
    if not line: continue
    for p in json.loads(line)["packs"]:
        if any(b["type"] == "tree" for b in p["blobs"]): print(p["id"])' | sort -u > "$WORK/tree-packs"
  [ -s "$WORK/tree-packs" ] || fail "no tree packs in the index"
  while read -r p; do
    [ -e "$KURA_CACHE_DIR/$id/data/${p:0:2}/$p" ] || fail "tree pack $p written by prune is not cached"
  done < "$WORK/tree-packs"
  ;;
backup_verbose)
  # backup -v prints restic's lines (timings, sizes and IDs aside; kura names the parent
  # after the backup, restic before it, so the lines are compared as sets).
  mkdir -p "$WORK/src/d" && echo a > "$WORK/src/d/f" && echo bb > "$WORK/src/g"
  rst -r "$WORK/r1" init >/dev/null
  kura -r "$WORK/r2" init >/dev/null
  normalize() {
    sed -E 's/scan finished in [0-9.]+s/scan finished in Xs/; s/^(processed .*) in [0-9:]+$/\1 in T/;
            s/^snapshot [0-9a-f]{8} saved/snapshot ID saved/; s/^using parent snapshot [0-9a-f]{8}/using parent snapshot ID/;
            /^Added to the repository/d' "$1" | sort
  }
  for round in first second; do
    (cd "$WORK" && rst -r "$WORK/r1" backup -v src) > "$WORK/restic.out" 2>&1 || fail "restic backup -v (oracle)"
    (cd "$WORK" && kura -r "$WORK/r2" backup -v src) > "$WORK/kura.out" 2>&1 || { cat "$WORK/kura.out" >&2; fail "kura backup -v"; }
    diff <(normalize "$WORK/kura.out") <(normalize "$WORK/restic.out") >&2 || fail "$round backup -v differs"
    echo x >> "$WORK/src/g"
  done
  step "-v --stdin"
  echo data | rst -r "$WORK/r1" backup -v --stdin --stdin-filename in.txt > "$WORK/restic.out" 2>&1
  echo data | kura -r "$WORK/r2" backup -v --stdin --stdin-filename in.txt > "$WORK/kura.out" 2>&1
  diff <(normalize "$WORK/kura.out") <(normalize "$WORK/restic.out") >&2 || fail "backup -v --stdin differs"
  step "-vv: a line per file and folder (new, modified, unchanged), as restic's"
  # Timings and sizes aside (compression and encryption make sizes differ by a few bytes).
  items() { grep -E '^(new|modified|unchanged) ' "$1" | sed -E 's/, saved in .*//' | sort; }
  mkdir -p "$WORK/src/d/e" && echo deep > "$WORK/src/d/e/h"
  for round in first second; do
    (cd "$WORK" && rst -r "$WORK/r1" backup -vv src) > "$WORK/restic.out" 2>&1 || fail "restic backup -vv (oracle)"
    (cd "$WORK" && kura -r "$WORK/r2" backup -vv src) > "$WORK/kura.out" 2>&1 || { cat "$WORK/kura.out" >&2; fail "kura backup -vv"; }
    [ -n "$(items "$WORK/restic.out")" ] || fail "restic printed no -vv lines (oracle)"
    diff <(items "$WORK/kura.out") <(items "$WORK/restic.out") >&2 || fail "$round backup -vv differs"
    echo y >> "$WORK/src/d/f"
  done
  step "--json -vv: verbose_status objects with restic's fields"
  echo z >> "$WORK/src/g"
  (cd "$WORK" && kura -r "$WORK/r2" backup --json -vv src) > "$WORK/kura.json"
  python3 - "$WORK/kura.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
v = [l for l in lines if l["message_type"] == "verbose_status"]
keys = {"message_type", "action", "item", "duration", "data_size", "data_size_in_repo",
        "metadata_size", "metadata_size_in_repo", "total_files"}
assert v and all(set(l) == keys for l in v), v[:2]
g = [l for l in v if l["item"] == "/src/g"]
assert g and g[0]["action"] == "modified" and g[0]["data_size"] > 0, g
assert any(l["item"] == "/src/" and l["action"] == "modified" and l["metadata_size_in_repo"] > 0 for l in v), v
PY
  ;;
backup_json)
  # backup --json: a folder the count ahead cannot read is an error "during":"scan" (and
  # again "during":"archival"), status lines name the files being read (current_files).
  command -v setpriv >/dev/null || { echo "setpriv not installed: skipped"; exit 77; }
  as_user=()
  if [ "$(id -u)" = 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent); fi
  chmod a+rx "$WORK"
  S="$WORK/src"
  mkdir -p "$S/d" "$S/locked"
  echo a > "$S/d/f" && echo b > "$S/locked/x"
  head -c 60000000 /dev/urandom > "$S/big"
  rst -r "$WORK/r1" init >/dev/null
  kura -r "$WORK/r2" init >/dev/null
  chmod -R a+rwX "$WORK/r1" "$WORK/r2" "$S"
  chmod 000 "$S/locked"
  export RESTIC_PROGRESS_FPS=60
  "${as_user[@]}" restic --no-cache -r "$WORK/r1" backup --json "$S" > "$WORK/restic.out" 2> "$WORK/restic.err" && fail "restic: no error (oracle)"
  "${as_user[@]}" "$KURA" --no-cache -r "$WORK/r2" backup --json "$S" > "$WORK/kura.out" 2> "$WORK/kura.err" && fail "kura: no error"
  chmod 700 "$S/locked"
  diff <(grep "^{" "$WORK/kura.err" | sort) <(grep "^{" "$WORK/restic.err" | sort) >&2 || fail "error lines differ"
  shape() {  # the keys of the status lines, and whether current_files lists paths
    python3 -c 'import json,sys
keys, current = set(), False
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["message_type"] != "status": continue
    keys |= set(o)
    cf = o.get("current_files")
    if cf is not None:
        assert isinstance(cf, list) and cf and all(f.startswith("/") for f in cf), cf
        assert cf == sorted(cf), cf
        current = True
print(sorted(keys), current)' "$1"
  }
  shape "$WORK/kura.out" > "$WORK/kura.shape"
  shape "$WORK/restic.out" > "$WORK/restic.shape"
  cat "$WORK/kura.shape" "$WORK/restic.shape" >&2
  grep -q "current_files.* True$" "$WORK/kura.shape" || fail "kura: no status line with current_files"
  python3 -c 'import ast,sys
k = ast.literal_eval(open(sys.argv[1]).read().rsplit(" ", 1)[0])
r = ast.literal_eval(open(sys.argv[2]).read().rsplit(" ", 1)[0])
sys.exit(0 if set(k) <= set(r) else "kura status keys not in restic: %s" % (set(k) - set(r)))' "$WORK/kura.shape" "$WORK/restic.shape"
  step "the folder that could not be read is left out of the snapshot, as restic leaves it out"
  rst -r "$WORK/r1" ls latest | tail -n +2 > "$WORK/restic.ls"
  kura -r "$WORK/r2" ls latest | tail -n +2 > "$WORK/kura.ls"
  diff "$WORK/kura.ls" "$WORK/restic.ls" >&2 || fail "snapshot contents differ"
  grep -q "/locked" "$WORK/kura.ls" && fail "the unreadable folder is in kura's snapshot"
  [ "$(summary_field "$WORK/kura.out" dirs_new)" = "$(summary_field "$WORK/restic.out" dirs_new)" ] ||
    fail "dirs_new differs"
  [ "$(summary_field "$WORK/kura.out" tree_blobs)" = "$(summary_field "$WORK/restic.out" tree_blobs)" ] ||
    fail "tree_blobs differs"
  ;;
mount_allow_other)
  # mount --allow-other lets another user into the mount, as restic's does; without it the
  # kernel keeps them out. Needs FUSE, another user to test as (root can become nobody), and
  # for a user other than root "user_allow_other" in /etc/fuse.conf.
  skip() {
    echo "************************************************************" >&2
    echo "SKIPPED: mount --allow-other: $*" >&2
    echo "************************************************************" >&2
    exit 77
  }
  [ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "no usable /dev/fuse"
  command -v fusermount3 >/dev/null || skip "fusermount3 is not installed"
  command -v setpriv >/dev/null || skip "setpriv is not installed"
  [ "$(id -u)" = 0 ] || skip "needs root to look at the mount as another user"
  mounted() { grep -qs " $1 fuse" /proc/mounts; }
  MOUNTS=""
  trap 'for m in $MOUNTS; do mounted "$m" && fusermount3 -uz "$m"; done; cleanup' EXIT
  chmod a+rx "$WORK"
  mkdir -p "$WORK/src" && echo hello > "$WORK/src/f" && chmod -R a+rX "$WORK/src"
  kura -r "$WORK/repo" init >/dev/null
  kura -r "$WORK/repo" backup "$WORK/src" >/dev/null
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  serve() {  # serve DIR FLAGS...: mounts and waits; sets PID
    local dir=$1
    shift
    mkdir -p "$dir"
    MOUNTS="$MOUNTS $dir"
    "$KURA" -r "$WORK/repo" mount "$@" "$dir" > "$WORK/mount.log" 2>&1 &
    PID=$!
    KILL_ON_EXIT="${KILL_ON_EXIT:-} $PID"
    for _ in $(seq 300); do
      mounted "$dir" && return 0
      kill -0 "$PID" 2>/dev/null || skip "FUSE mounting does not work here: $(tail -1 "$WORK/mount.log")"
      sleep 0.1
    done
    fail "$dir not mounted"
  }
  stop() {  # stop DIR
    fusermount3 -u "$1" || fail "fusermount3 -u $1"
    wait "$PID" || fail "mount process exited with $?"
  }
  step "without --allow-other another user is kept out"
  serve "$WORK/m1"
  as_nobody ls "$WORK/m1/snapshots" > /dev/null 2>&1 && fail "nobody read a mount without --allow-other"
  stop "$WORK/m1"
  step "with --allow-other another user reads the files"
  serve "$WORK/m2" --allow-other
  grep " $WORK/m2 fuse" /proc/mounts | grep -q allow_other || fail "not mounted with allow_other"
  got=$(as_nobody cat "$WORK/m2/snapshots/latest$WORK/src/f") || fail "nobody cannot read through --allow-other"
  [ "$got" = hello ] || fail "read $got"
  stop "$WORK/m2"
  ;;
named_files)
  # Files the user names are read as restic (Go's os.ReadFile) reads them: through symlinks,
  # from a shell's <(command), from /dev/stdin. restic is run the same way as the oracle.
  unset RESTIC_PASSWORD KURA_PASSWORD
  echo "pw pw" > "$WORK/pw"
  ln -s "$WORK/pw" "$WORK/pw.link"
  echo "$WORK/repo" > "$WORK/repo.txt"
  ln -s "$WORK/repo.txt" "$WORK/repo.link"
  mkdir -p "$WORK/src/keep" "$WORK/src/skip"
  echo a > "$WORK/src/keep/a" && echo b > "$WORK/src/skip/b"
  echo "skip" > "$WORK/excl" && ln -s "$WORK/excl" "$WORK/excl.link"
  kura -r "$WORK/repo" --password-file "$WORK/pw" init >/dev/null
  for tool in rst kura; do
    step "$tool: --password-file through a symlink, <(command) and /dev/stdin"
    $tool -r "$WORK/repo" --password-file "$WORK/pw.link" snapshots >/dev/null || fail "$tool: symlinked password file"
    $tool -r "$WORK/repo" --password-file <(echo "pw pw") snapshots >/dev/null || fail "$tool: --password-file <(echo)"
    echo "pw pw" | $tool -r "$WORK/repo" --password-file /dev/stdin snapshots >/dev/null ||
      fail "$tool: --password-file /dev/stdin"
    step "$tool: --repository-file, --files-from and --exclude-file through symlinks and pipes"
    $tool --repository-file "$WORK/repo.link" --password-file "$WORK/pw" snapshots >/dev/null ||
      fail "$tool: symlinked repository file"
    $tool --repository-file <(echo "$WORK/repo") --password-file "$WORK/pw" snapshots >/dev/null ||
      fail "$tool: --repository-file <(echo)"
    $tool -r "$WORK/repo" --password-file "$WORK/pw" backup --host "$tool" --files-from <(echo "$WORK/src") \
      --exclude-file "$WORK/excl.link" >/dev/null || fail "$tool: --files-from <(echo) --exclude-file link"
  done
  step "both snapshots hold the same files (skip/ excluded)"
  kura -r "$WORK/repo" --password-file "$WORK/pw" ls --host rst latest | tail -n +2 > "$WORK/restic.ls"
  kura -r "$WORK/repo" --password-file "$WORK/pw" ls --host kura latest | tail -n +2 > "$WORK/kura.ls"
  diff "$WORK/kura.ls" "$WORK/restic.ls" >&2 || fail "the snapshots differ"
  grep -q "/skip" "$WORK/kura.ls" && fail "--exclude-file through a symlink was not applied"
  step "copy --from-password-file <(command)"
  kura -r "$WORK/repo2" --password-file "$WORK/pw" init >/dev/null
  kura -r "$WORK/repo2" --password-file "$WORK/pw" copy --from-repo "$WORK/repo" \
    --from-password-file <(echo "pw pw") >/dev/null || fail "--from-password-file <(echo)"
  ;;
copy_legacy)
  # restic 0.13's --repo2 group, which restic 0.14 still reads (hidden, deprecated): with
  # copy, -r is then the SOURCE and --repo2 the destination.
  export RESTIC_FROM_PASSWORD=test-password
  mkdir -p "$WORK/src" && echo hello > "$WORK/src/f"
  kura -r "$WORK/src-repo" init >/dev/null
  kura -r "$WORK/src-repo" backup "$WORK/src" >/dev/null
  for tool in rst kura; do
    kura -r "$WORK/dst-$tool" init --copy-chunker-params --from-repo "$WORK/src-repo" >/dev/null
    step "$tool -r SRC copy --repo2 DST copies into DST, naming the deprecated flag"
    RESTIC_PASSWORD2=test-password $tool -r "$WORK/src-repo" copy --repo2 "$WORK/dst-$tool" > "$WORK/$tool.out" \
      2> "$WORK/$tool.err" || fail "$tool: copy --repo2: $(cat "$WORK/$tool.err")"
    [ "$(kura -r "$WORK/dst-$tool" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
      fail "$tool: the destination has no snapshot"
    [ "$(kura -r "$WORK/src-repo" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
      fail "$tool: the source changed"
  done
  grep -F "Flag --repo2 has been deprecated, use --repo or --from-repo instead" "$WORK/rst.err" >/dev/null ||
    fail "restic's deprecation text changed (oracle): $(cat "$WORK/rst.err")"
  grep -F "Flag --repo2 has been deprecated, use --repo or --from-repo instead" "$WORK/kura.err" >/dev/null ||
    fail "kura: no deprecation notice: $(cat "$WORK/kura.err")"
  step "RESTIC_REPOSITORY2 alone: no notice (restic names flags only)"
  RESTIC_REPOSITORY2="$WORK/dst-kura" RESTIC_PASSWORD2=test-password kura -r "$WORK/src-repo" copy > /dev/null 2> "$WORK/env.err" ||
    fail "RESTIC_REPOSITORY2: $(cat "$WORK/env.err")"
  grep -q deprecated "$WORK/env.err" && fail "a notice for the variable"
  step "both groups at once are refused with restic's words"
  for tool in rst kura; do
    $tool -r "$WORK/dst-$tool" copy --repo2 "$WORK/src-repo" --from-repo "$WORK/src-repo" >/dev/null 2> "$WORK/$tool.err" &&
      fail "$tool: both groups accepted"
  done
  want="Option groups repo2 and from-repo are mutually exclusive, please specify only one"
  grep -qF "$want" "$WORK/rst.err" || fail "restic's words changed (oracle): $(cat "$WORK/rst.err")"
  grep -qF "$want" "$WORK/kura.err" || fail "kura: $(cat "$WORK/kura.err")"
  ;;
counters)
  # check and prune print restic's counters ("[0:00] 100.00%  2 / 2 packs") and their last
  # state as a line even when stdout is not a terminal: the whole output equals restic's.
  export RESTIC_FROM_PASSWORD=test-password
  mkdir -p "$WORK/src"
  rst -r "$WORK/r1" init >/dev/null
  kura -r "$WORK/r2" init --copy-chunker-params --from-repo "$WORK/r1" >/dev/null
  for i in 1 2 3; do
    head -c 300000 /dev/urandom > "$WORK/src/f$i"
    rst -r "$WORK/r1" backup "$WORK/src" >/dev/null
    kura -r "$WORK/r2" backup "$WORK/src" >/dev/null
    rm "$WORK/src/f$i"
  done
  rst -r "$WORK/r1" forget --keep-last 1 >/dev/null
  kura -r "$WORK/r2" forget --keep-last 1 >/dev/null
  # compare STEP ARGS...: the same command on both repositories (without a cache, as rst
  # runs restic), the outputs equal but for the sizes (each tool compresses its trees).
  compare() {
    local name="$1"; shift
    step "$name"
    rst -r "$WORK/r1" "$@" 2>&1 | sed -E 's#blobs / .*#blobs / SIZE#' > "$WORK/restic.out"
    kura --no-cache -r "$WORK/r2" "$@" 2>&1 | sed -E 's#blobs / .*#blobs / SIZE#' > "$WORK/kura.out"
    diff "$WORK/kura.out" "$WORK/restic.out" >&2 || fail "$name: the outputs differ"
  }
  compare "check --read-data" check --read-data
  compare "prune" prune
  compare "check after prune" check
  step "RESTIC_PROGRESS_FPS prints the counter as lines, ending with the last state"
  RESTIC_PROGRESS_FPS=100 kura -r "$WORK/r2" check --read-data > "$WORK/fps.out" 2>&1
  grep -q "^\[0:0[0-9]\] 100.00%  [0-9]* / [0-9]* packs$" "$WORK/fps.out" || fail "no final packs line: $(cat "$WORK/fps.out")"
  step "--quiet prints no counter"
  kura -r "$WORK/r2" -q check --read-data > "$WORK/q.out" 2>&1
  [ ! -s "$WORK/q.out" ] || fail "--quiet printed: $(cat "$WORK/q.out")"
  ;;
backup_text)
  # backup's text output as restic's: a folder or file that cannot be read, a missing target
  # (stderr, word for word), and with RESTIC_PROGRESS_FPS the status lines followed by the
  # files being read.
  command -v setpriv >/dev/null || { echo "setpriv not installed: skipped"; exit 77; }
  as_user=()
  if [ "$(id -u)" = 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/nonexistent); fi
  chmod a+rx "$WORK"
  cd "$WORK"
  mkdir -p src/d src/locked
  echo a > src/d/f && echo b > src/locked/x && echo c > src/d/secret
  rst -r r1 init >/dev/null
  kura -r r2 init >/dev/null
  chmod -R a+rwX r1 r2 src
  chmod 000 src/locked src/d/secret
  "${as_user[@]}" restic --no-cache -r r1 backup src missing > restic.out 2> restic.err && fail "restic: no error (oracle)"
  r=$?
  "${as_user[@]}" "$KURA" --no-cache -r r2 backup src missing > kura.out 2> kura.err && fail "kura: no error"
  k=$?
  chmod 755 src/locked && chmod 644 src/d/secret
  [ "$r" = "$k" ] || fail "exit $k, restic $r"
  diff <(sort kura.err) <(sort restic.err) >&2 || fail "stderr differs"
  step "RESTIC_PROGRESS_FPS: status lines, then the file being read"
  head -c 60000000 /dev/urandom > src/big
  RESTIC_PROGRESS_FPS=30 kura -r r2 backup src > fps.out 2>&1
  grep -A1 "^\[0:0[0-9]\] " fps.out | grep -qx "/src/big" || fail "no file line below a status line: $(head -5 fps.out)"
  ;;
*)
  fail "unknown case $1"
  ;;
esac
echo PASS
