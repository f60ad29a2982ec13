#!/usr/bin/env bash
# kura's listings and global flags against restic 0.14 on the same repository: ls --json and
# its flags, cat, find's snapshot order, snapshots --latest/--group-by/--compact, passwords
# with trailing white space (read by restic, written by kura and the other way round), and
# --repository-file / --key-hint / -o / --limit-*.
# usage: KURA=build/bin/kura tests/output_oracle_test.sh CASE
source "$(dirname "$0")/lib.sh"
need_restic
case_name=${1:?usage: $0 CASE}

S="$WORK/src"
R="$WORK/repo"
# A repository restic wrote: two hosts, tags, a file with HTML characters in its name, an
# empty file, a symlink, a directory and a FIFO; three snapshots a second apart.
setup_repo() {
  mkdir -p "$S/dir/sub" "$S/other"
  echo hello > "$S/a.txt"
  ln "$S/a.txt" "$S/hard"
  : > "$S/empty"
  echo x > "$S/dir/sub/f"
  echo '<&>' > "$S/dir/<tag>&.txt"
  ln -s a.txt "$S/link"
  mkfifo "$S/fifo"
  echo o > "$S/other/o"
  rst -r "$R" init >/dev/null
  rst -r "$R" backup "$S" --tag t1 --tag t2 >/dev/null
  sleep 1
  echo more > "$S/dir/more"
  rst -r "$R" backup "$S" "$S/other" --host other-host >/dev/null
  sleep 1
  rst -r "$R" backup "$S/dir" --tag t2 >/dev/null
}
# same DESCRIPTION ARGS...: kura and restic print the same (stdout and exit status) for ARGS
same() {
  local what=$1
  shift
  local k=0 r=0
  kura -r "$R" "$@" > "$WORK/k.out" 2> "$WORK/k.err" || k=$?
  rst -r "$R" "$@" > "$WORK/r.out" 2> "$WORK/r.err" || r=$?
  diff "$WORK/r.out" "$WORK/k.out" >&2 || fail "$what: kura and restic print differently"
  [ "$k" = "$r" ] || fail "$what: exit status kura $k, restic $r ($(cat "$WORK/k.err"))"
}

case "$case_name" in
ls_json)
  setup_repo
  step "ls --json of each snapshot: snapshot line and node lines"
  for id in $(rst -r "$R" snapshots --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))'); do
    same "ls --json $id" --json ls "$id"
  done
  step "ls flags: --long, dirs, --recursive, --host/--tag/--path with latest"
  same "ls -l" ls -l latest
  same "ls dir" ls latest "$S/dir"
  same "ls dir --recursive" ls --recursive latest "$S/dir"
  same "ls --json dir" --json ls latest "$S/dir"
  same "ls --host" ls --host other-host latest
  same "ls --tag" --json ls --tag t1 latest
  same "ls --path" ls --path "$S/dir" latest
  same "ls --host nobody" ls --host nobody latest
  same "ls relative dir" ls latest dir
  ;;
cat)
  setup_repo
  id=$(rst -r "$R" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  key=$(ls "$R/keys" | head -1)
  index=$(ls "$R/index" | head -1)
  same "cat config" cat config
  same "cat masterkey" cat masterkey
  same "cat snapshot" cat snapshot "$id"
  same "cat snapshot by prefix" cat snapshot "${id:0:8}"
  same "cat key" cat key "$key"
  same "cat index" cat index "$index"
  step "cat lock: a lock restic left behind"
  rst -r "$R" backup "$S" >/dev/null &  # keeps its lock while it runs
  pid=$!
  KILL_ON_EXIT="$pid"
  for _ in $(seq 100); do [ -n "$(ls "$R/locks")" ] && break; sleep 0.05; done
  lock=$(ls "$R/locks" | head -1)
  kill -STOP "$pid"
  if [ -n "$lock" ] && [ -e "$R/locks/$lock" ]; then
    same "cat lock" --no-lock cat lock "$lock"
  fi
  kill -CONT "$pid"; wait "$pid" || true
  ;;
find_order)
  setup_repo
  # restic 0.14's find goes through the snapshots in the order the backend lists them (its
  # loading is concurrent, so even that varies); kura goes oldest first. What must agree is
  # what each snapshot contributes: compare the per-snapshot blocks as sets.
  step "find: the same blocks per snapshot"
  blocks() { python3 -c 'import sys; t=sys.stdin.read().strip(); print("\n\n".join(sorted(t.split("\n\n"))))'; }
  diff <(rst -r "$R" find a.txt f | blocks) <(kura -r "$R" find a.txt f | blocks) >&2 || fail "find blocks differ"
  kura -r "$R" find a.txt | grep '^Found' | awk '{print $6}' > "$WORK/order"
  [ "$(wc -l < "$WORK/order")" = 2 ] || fail "find a.txt should report two snapshots"
  ;;
snapshots)
  setup_repo
  same "snapshots" snapshots
  same "snapshots --json" --json snapshots
  same "snapshots --compact" snapshots --compact
  same "snapshots --latest 1" snapshots --latest 1
  same "snapshots --latest 1 --json" --json snapshots --latest 1
  same "snapshots --host" snapshots --host other-host
  same "snapshots --tag" snapshots --tag t2
  same "snapshots by id and latest" snapshots latest
  # restic prints the groups of a map in random order: one grouping at a time that yields one
  # group, and the JSON shape of several groups compared as a set.
  same "snapshots -g host --host" snapshots -g host --host other-host
  same "snapshots -g host --json --host" --json snapshots -g host --host other-host
  same "snapshots -g tags --compact --tag t1" snapshots -g tags --compact --tag t1
  norm() { python3 -c 'import json,sys; print(sorted(json.dumps(g, sort_keys=True) for g in json.load(sys.stdin)))'; }
  diff <(rst -r "$R" --json snapshots -g host,paths,tags | norm) <(kura -r "$R" --json snapshots -g host,paths,tags | norm) >&2 \
    || fail "snapshots -g host,paths,tags --json: groups differ"
  same "snapshots -g bad" snapshots -g bogus
  ;;
passwords)
  unset KURA_PASSWORD RESTIC_PASSWORD
  mkdir -p "$S" && echo data > "$S/f"
  printf 'pass word \t\n\n' > "$WORK/pw-spaces"
  printf 'pass word' > "$WORK/pw-bare"
  printf '\xef\xbb\xbfpass word\r\n' > "$WORK/pw-bom"
  step "restic init with trailing white space, kura opens with the file, the command and stdin"
  restic --no-cache -r "$WORK/r1" init --password-file "$WORK/pw-spaces" >/dev/null
  kura -r "$WORK/r1" --password-file "$WORK/pw-spaces" snapshots >/dev/null || fail "kura: password file with trailing spaces"
  kura -r "$WORK/r1" --password-file "$WORK/pw-bom" snapshots >/dev/null || fail "kura: password file with a BOM and CRLF"
  kura -r "$WORK/r1" --password-command "printf 'pass word  \\n'" snapshots >/dev/null || fail "kura: password command output"
  RESTIC_PASSWORD_FILE="$WORK/pw-spaces" kura -r "$WORK/r1" snapshots >/dev/null || fail "kura: RESTIC_PASSWORD_FILE"
  printf 'pass word\n' | kura -r "$WORK/r1" snapshots >/dev/null || fail "kura: password on stdin"
  step "kura init with trailing white space, restic opens with the same file"
  kura -r "$WORK/r2" init --password-file "$WORK/pw-spaces" >/dev/null
  rst -r "$WORK/r2" --password-file "$WORK/pw-spaces" snapshots >/dev/null || fail "restic cannot open kura's repository"
  rst -r "$WORK/r2" --password-file "$WORK/pw-bare" snapshots >/dev/null || fail "kura kept the white space"
  step "key add --new-password-file: the same trimming"
  kura -r "$WORK/r2" --password-file "$WORK/pw-bare" key add --new-password-file "$WORK/pw-bom" >/dev/null
  printf 'pass word' > "$WORK/pw2"
  rst -r "$WORK/r2" --password-file "$WORK/pw2" snapshots >/dev/null || fail "restic: key added by kura"
  step "file and command at once, empty stdin: refused by both"
  for t in kura rst; do
    $t -r "$WORK/r2" --password-file "$WORK/pw-bare" --password-command "echo x" snapshots >/dev/null 2>&1 \
      && fail "$t accepted both a password file and a command"
    $t -r "$WORK/r2" snapshots < /dev/null >/dev/null 2>&1 && fail "$t accepted an empty password"
  done
  ;;
global_flags)
  setup_repo
  echo "  $R  " > "$WORK/repo-file"
  step "--repository-file and RESTIC_REPOSITORY_FILE"
  diff <(rst --repository-file "$WORK/repo-file" snapshots) <(kura --repository-file "$WORK/repo-file" snapshots) >&2 \
    || fail "--repository-file"
  RESTIC_REPOSITORY_FILE="$WORK/repo-file" kura snapshots >/dev/null || fail "RESTIC_REPOSITORY_FILE"
  kura -r "$R" --repository-file "$WORK/repo-file" snapshots 2>/dev/null && fail "-r with --repository-file accepted"
  step "--key-hint: right, wrong and unknown hints all open"
  key=$(ls "$R/keys" | head -1)
  kura -r "$R" --key-hint "${key:0:8}" snapshots >/dev/null || fail "--key-hint"
  RESTIC_KEY_HINT=ffffffff kura -r "$R" snapshots >/dev/null || fail "RESTIC_KEY_HINT naming no key"
  step "-o: known options of this backend, others ignored, unknown ones refused (as restic)"
  same "-o local.connections" -o local.connections=3 snapshots --compact
  same "-o rest.connections on a local repository" -o rest.connections=3 snapshots --compact
  same "-o local.unknown" -o local.unknown=1 snapshots --compact
  step "--limit-upload/--limit-download: a backup and a restore still work"
  kura -r "$R" --limit-upload 100000 --limit-download 100000 backup "$S" >/dev/null || fail "limited backup"
  kura -r "$R" --limit-download 100000 restore latest --target "$WORK/restored" >/dev/null || fail "limited restore"
  ;;
restore_count)
  setup_repo
  step "restore: the summary counts every file restored (as restic)"
  first=$(rst -r "$R" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  kura -r "$R" --json restore "$first" --target "$WORK/k" > "$WORK/k.json"  # holds a hard link
  n=$(find "$WORK/k" -type f | wc -l)
  got=$(summary_field "$WORK/k.json" files_restored)
  [ "$got" = "$n" ] || fail "files_restored $got, files on disk $n"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo ok
