#!/usr/bin/env bash
# kura mount against restic 0.14's mount: the same layout (names, types, modes, owners, sizes,
# inode numbers) for a repository written by restic and one written by kura, the files under
# snapshots/latest equal to the source tree (content, metadata, xattrs), the repository
# locked (non-exclusively) while mounted, and a clean unmount by fusermount3 -u and by
# SIGTERM/SIGINT.
# usage: mount_test.sh restic_repo|kura_repo|signals
. "$(dirname "$0")/lib.sh"
need_restic

skip() {
  echo "************************************************************" >&2
  echo "SKIPPED: kura mount test: $*" >&2
  echo "************************************************************" >&2
  echo "SKIPPED: kura mount test: $*"
  exit 77
}
[ -c /dev/fuse ] || skip "/dev/fuse does not exist"
[ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not readable and writable for $(id -un)"
command -v fusermount3 >/dev/null || skip "fusermount3 is not installed (Debian package fuse3)"

mounted() { grep -qs " $1 fuse" /proc/mounts; }
# Unmount whatever is still mounted before lib.sh removes $WORK (rm -rf must not walk into a
# mount).
MOUNTS=""
mount_cleanup() {
  local m
  for m in $MOUNTS; do mounted "$m" && fusermount3 -uz "$m" 2>/dev/null; done
  cleanup
}
trap mount_cleanup EXIT
# wait_mounted DIR PID LOG: until DIR is a FUSE mount, or skip/fail when PID died first.
wait_mounted() {
  for _ in $(seq 1 300); do
    mounted "$1" && return 0
    if ! kill -0 "$2" 2>/dev/null; then
      cat "$3" >&2
      if grep -qiE "fuse|mount" "$3" && [ "${FIRST_MOUNT:-1}" = 1 ]; then
        skip "FUSE mounting does not work here: $(tail -1 "$3")"
      fi
      fail "mount at $1 ended before it was served"
    fi
    sleep 0.1
  done
  fail "$1 not mounted after 30 s"
}
# unmount DIR PID: fusermount3 -u, then the serving process must end with 0.
unmount() {
  fusermount3 -u "$1" || fail "fusermount3 -u $1"
  local rc=0
  wait "$2" || rc=$?
  [ "$rc" = 0 ] || fail "mount process for $1 exited with $rc"
  ! mounted "$1" || fail "$1 still mounted"
}
# What a mount shows above and at the top of the snapshots, for comparing two mounts.
# Directory times above the snapshots are the mount's start time and left out.
layout() {
  (cd "$1" && find . -maxdepth 4 -printf '%P %y %m %U %G %s %i %l\n' | LC_ALL=C sort)
}
# The manifest of a mounted tree, without what a FUSE mount cannot show as the source has
# it: inode-based hard-link groups (each path gets its own inode, as in restic) and device
# numbers (restic does not report st_rdev).
mount_manifest() {
  python3 "$HERE/tree_manifest.py" "$1" | sed -E 's/ link-group=[^ ]*//; s/ dev=[0-9]+,[0-9]+//'
}

# make_repo restic|kura: two snapshots of the corpus, different hosts and tags, the second
# taken at +09:00 (its directory names keep that offset).
make_repo() {
  local tool=$1
  export RESTIC_REPOSITORY=$WORK/repo
  make_corpus "$WORK/src" 8
  if [ "$tool" = restic ]; then
    rst init -q
    (cd "$WORK" && rst backup -q --host h1 --tag t1 src)
    echo more > "$WORK/src/added.txt"
    (cd "$WORK" && TZ=Asia/Tokyo rst backup -q --host h2 --tag t1 --tag 't/2' src)
  else
    kura -r "$WORK/repo" init -q
    (cd "$WORK" && kura -r "$WORK/repo" backup -q --host h1 --tag t1 src)
    echo more > "$WORK/src/added.txt"
    (cd "$WORK" && TZ=Asia/Tokyo kura -r "$WORK/repo" backup -q --host h2 --tag t1 --tag 't/2' src)
  fi
}

start_kura_mount() {  # start_kura_mount DIR [flags]: sets KPID
  local dir=$1
  shift
  mkdir -p "$dir"
  MOUNTS="$MOUNTS $dir"
  "$KURA" -r "$WORK/repo" mount "$@" "$dir" > "$WORK/kura-mount.log" 2>&1 &
  KPID=$!
  KILL_ON_EXIT="${KILL_ON_EXIT:-} $KPID"
  wait_mounted "$dir" "$KPID" "$WORK/kura-mount.log"
  FIRST_MOUNT=0
}

compare_with_restic() {
  local k=$WORK/mk r=$WORK/mr
  start_kura_mount "$k"
  grep -q "Now serving the repository at $k" "$WORK/kura-mount.log" || fail "no serving message"

  step "locked while mounted (a non-exclusive lock)"
  [ "$(rst list locks --no-lock | wc -l)" = 1 ] || fail "expected one lock while mounted"
  rst prune -q > "$WORK/prune.log" 2>&1 && fail "restic prune must be refused while kura holds a lock"
  grep -q "locked" "$WORK/prune.log" || fail "prune: $(cat "$WORK/prune.log")"

  step "layout: kura mount vs restic mount"
  mkdir -p "$r"
  MOUNTS="$MOUNTS $r"
  restic --no-cache mount "$r" > "$WORK/restic-mount.log" 2>&1 &
  local rpid=$!
  KILL_ON_EXIT="$KILL_ON_EXIT $rpid"
  wait_mounted "$r" "$rpid" "$WORK/restic-mount.log"
  layout "$r" > "$WORK/layout.restic"
  layout "$k" > "$WORK/layout.kura"
  diff -u "$WORK/layout.restic" "$WORK/layout.kura" >&2 || fail "layout differs from restic mount"
  grep -q '^snapshots/latest l' "$WORK/layout.kura" || fail "no snapshots/latest link"
  grep -q '^tags/t_2 d' "$WORK/layout.kura" || fail "no tags/t_2"
  grep -q '^snapshots/[0-9T:-]*+09:00 d' "$WORK/layout.kura" || fail "no snapshot named in +09:00"

  step "every file under snapshots/latest: kura mount vs restic mount"
  python3 "$HERE/tree_manifest.py" "$r/snapshots/latest" > "$WORK/manifest.restic"
  python3 "$HERE/tree_manifest.py" "$k/snapshots/latest" > "$WORK/manifest.kura"
  diff -u "$WORK/manifest.restic" "$WORK/manifest.kura" >&2 || fail "snapshot tree differs from restic mount"
  unmount "$r" "$rpid"

  step "every file under snapshots/latest/src: kura mount vs the source"
  # restic's mount does not show the sticky bit (the corpus's "sticky" directory).
  mount_manifest "$WORK/src" | sed -E "s/^b'sticky' mode=0o41777/b'sticky' mode=0o40777/" > "$WORK/manifest.src"
  mount_manifest "$k/snapshots/latest/src" > "$WORK/manifest.mnt"
  diff -u "$WORK/manifest.src" "$WORK/manifest.mnt" >&2 || fail "mounted snapshot differs from the source"
  cmp "$WORK/src/small.txt" "$k/hosts/h1/latest/src/small.txt" || fail "hosts/h1 content"
  [ ! -e "$k/hosts/h1/latest/src/added.txt" ] || fail "the first snapshot has no added.txt"
  (echo x > "$k/snapshots/latest/src/new") 2>/dev/null && fail "the mount must be read-only" || true

  (cd "$WORK" && rst backup -q --host h3 src) || fail "a backup must work beside a mount (non-exclusive lock)"

  step "fusermount3 -u ends kura mount cleanly and releases the lock"
  unmount "$k" "$KPID"
  [ "$(rst list locks --no-lock | wc -l)" = 0 ] || fail "lock left behind"
}

case "${1:?case}" in
  restic_repo)
    make_repo restic
    compare_with_restic
    ;;
  kura_repo)
    make_repo kura
    compare_with_restic
    ;;
  signals)
    make_repo kura
    for sig in TERM INT; do
      step "SIG$sig unmounts"
      start_kura_mount "$WORK/m-$sig" --owner-root --host h1 --path-template 'by/%h/%T' \
        --time-template 2006-01-02_15-04-05
      ls "$WORK/m-$sig/by/h1" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}$' ||
        fail "--path-template/--time-template: $(ls "$WORK/m-$sig/by/h1")"
      [ ! -e "$WORK/m-$sig/by/h2" ] || fail "--host h1 shows h2"
      [ "$(stat -c %u "$WORK/m-$sig/by/h1/latest/src/small.txt")" = 0 ] || fail "--owner-root"
      # Started from a script, kura has SIGINT ignored at first (as background jobs do).
      kill -"$sig" "$KPID"
      for _ in $(seq 1 200); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$KPID" 2>/dev/null && fail "kura mount still running 20 s after SIG$sig"
      rc=0
      wait "$KPID" || rc=$?
      [ "$rc" = 0 ] || fail "exit $rc after SIG$sig"
      ! mounted "$WORK/m-$sig" || fail "still mounted after SIG$sig"
    done
    [ "$(rst list locks --no-lock | wc -l)" = 0 ] || fail "lock left behind"
    step "bad flags and mount points"
    kura -r "$WORK/repo" mount --time-template '' "$WORK/m-TERM" 2> "$WORK/err" && fail "empty time template"
    grep -q "time template string cannot be empty" "$WORK/err" || fail "message: $(cat "$WORK/err")"
    kura -r "$WORK/repo" mount 2> "$WORK/err" && fail "no mount point"
    grep -q "wrong number of parameters" "$WORK/err" || fail "message: $(cat "$WORK/err")"
    kura -r "$WORK/repo" mount "$WORK/nonexistent" 2> "$WORK/err" && fail "missing mount point"
    grep -q "does not exist" "$WORK/err" || fail "message: $(cat "$WORK/err")"
    ;;
  *) fail "unknown case $1" ;;
esac
echo "PASS mount.$1"
