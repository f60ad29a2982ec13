#!/usr/bin/env bash
# The local cache: what a second backup downloads over REST (rclone serve restic, behind a
# proxy that counts the bytes it sends), damaged entries, old caches, check's temporary
# cache, an unusable cache; stock restic reads everything and lists kura's cache the same.
# usage: KURA=build/bin/kura tests/cache_test.sh <case>
source "$(dirname "$0")/lib.sh"
need_restic
case_name="${1:?case}"
export KURA_CACHE_DIR="$WORK/cache"
unset RESTIC_CACHE_DIR XDG_CACHE_HOME

# Many folders of small files: the trees are a real share of the repository.
tree_corpus() {
  python3 - "$1" <<'EOF'
import os, random, sys
rnd = random.Random(7)
for i in range(400):
    d = os.path.join(sys.argv[1], "d%03d" % (i // 20), "e%03d" % i)
    os.makedirs(d)
    for j in range(25):
        with open(os.path.join(d, "file-with-a-longish-name-%04d.txt" % j), "wb") as f:
            f.write(rnd.randbytes(rnd.randrange(10, 3000)))
EOF
}

# rclone serve restic on $WORK/served, reached through the counting proxy at $URL.
start_rest() {
  local pport
  serve_rclone "$WORK/served"
  pport=$(free_port)
  python3 "$HERE/count_proxy.py" "$pport" "$PORT" "$WORK/requests.log" &
  KILL_ON_EXIT="$KILL_ON_EXIT $!"
  wait_port "$pport"
  URL="rest:http://127.0.0.1:$pport/"
  : > "$WORK/requests.log"
}
# Bytes of response bodies the server sent since the log was last emptied (of paths
# matching $1, default all).
downloaded() { awk -v p="${1:-}" '$2 ~ p { s += $4 } END { print s + 0 }' "$WORK/requests.log"; }

# The bytes of the index files and of the packs holding trees in a repository folder.
index_and_tree_bytes() {
  local repo=$1
  for f in "$repo"/index/*; do kura -r "$repo" --no-cache --no-lock cat index "$(basename "$f")"; echo; done |
    python3 -c 'import json,os,sys
repo = sys.argv[1]
trees = set()
for line in sys.stdin:
    line = line.strip()
    if not line: continue
    for p in json.loads(line)["packs"]:
        if any(b["type"] == "tree" for b in p["blobs"]): trees.add(p["id"])
total = sum(os.path.getsize(os.path.join(repo, "index", f)) for f in os.listdir(os.path.join(repo, "index")))
total += sum(os.path.getsize(os.path.join(repo, "data", t[:2], t)) for t in trees)
print(total)' "$repo"
}

repo_id() { kura -r "$1" --no-cache --no-lock cat config | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])'; }

case "$case_name" in
rest_no_change)
  tree_corpus "$WORK/src"
  start_rest
  kura -r "$URL" init >/dev/null
  step "first backup fills the cache"
  (cd "$WORK" && kura -r "$URL" backup src >/dev/null)
  id=$(repo_id "$WORK/served")
  [ -f "$KURA_CACHE_DIR/CACHEDIR.TAG" ] || fail "no CACHEDIR.TAG"
  [ "$(cat "$KURA_CACHE_DIR/$id/version")" = 1 ] || fail "no version file"
  ls "$KURA_CACHE_DIR/$id"/index/??/* "$KURA_CACHE_DIR/$id"/snapshots/??/* "$KURA_CACHE_DIR/$id"/data/??/* >/dev/null ||
    fail "cache layout"
  want=$(index_and_tree_bytes "$WORK/served")
  step "a second backup without changes downloads almost nothing (index + trees: $want bytes)"
  : > "$WORK/requests.log"
  (cd "$WORK" && kura -r "$URL" backup src >/dev/null)
  got=$(downloaded)
  echo "second backup downloaded $got bytes" >&2
  [ "$got" -lt $((want / 20)) ] || { cat "$WORK/requests.log" >&2; fail "downloaded $got bytes, index+trees are $want"; }
  [ "$(downloaded "^/(index|data)/[0-9a-f]")" = 0 ] || { cat "$WORK/requests.log" >&2; fail "index or pack downloaded again"; }
  step "without the cache the same backup reads index and trees again"
  : > "$WORK/requests.log"
  (cd "$WORK" && kura -r "$URL" --no-cache backup src >/dev/null)
  nocache=$(downloaded)
  [ "$nocache" -ge $((want / 2)) ] || fail "--no-cache downloaded only $nocache bytes (index+trees: $want)"
  step "restic reads the repository, and reads it through kura's cache folder too"
  rst -r "$URL" check --read-data >/dev/null || fail "restic check over REST"
  restic -r "$URL" --cache-dir "$KURA_CACHE_DIR" check --with-cache >/dev/null || fail "restic check with kura's cache"
  restic -r "$URL" --cache-dir "$KURA_CACHE_DIR" ls latest > "$WORK/ls.restic" || fail "restic ls with kura's cache"
  kura -r "$URL" ls latest > "$WORK/ls.kura"
  # The paths (the header line's format is not this test's business).
  cmp <(tail -n +2 "$WORK/ls.restic") <(tail -n +2 "$WORK/ls.kura") || fail "ls differs"
  ;;

damaged_entry)
  tree_corpus "$WORK/src"
  kura -r "$WORK/repo" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/repo" backup src >/dev/null)
  id=$(repo_id "$WORK/repo")
  kura -r "$WORK/repo" ls latest > "$WORK/ls.want"
  step "flipped bytes in every cached file, one cached pack cut short"
  for f in "$KURA_CACHE_DIR/$id"/{index,snapshots,data}/??/*; do
    flip_byte "$f" 20
  done
  pack=$(ls "$KURA_CACHE_DIR/$id"/data/??/* | head -1)
  truncate -s 100 "$pack"
  kura -r "$WORK/repo" ls latest > "$WORK/ls.got" || fail "ls with a damaged cache"
  cmp "$WORK/ls.want" "$WORK/ls.got" || fail "ls differs"
  step "every damaged entry was replaced by the repository's copy"
  for f in "$KURA_CACHE_DIR/$id"/{index,snapshots,data}/??/*; do
    [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "$f still damaged"
  done
  step "a file removed from the repository leaves the cache at the next listing"
  snap=$(basename "$(ls "$WORK/repo/snapshots"/* | head -1)")
  (cd "$WORK" && kura -r "$WORK/repo" backup src >/dev/null)
  rm "$WORK/repo/snapshots/$snap"
  kura -r "$WORK/repo" snapshots >/dev/null
  [ ! -e "$KURA_CACHE_DIR/$id/snapshots/${snap:0:2}/$snap" ] || fail "removed snapshot still cached"
  kura -r "$WORK/repo" forget --keep-last 1 --prune >/dev/null
  for f in "$KURA_CACHE_DIR/$id"/index/??/*; do
    [ -e "$WORK/repo/index/$(basename "$f")" ] || fail "pruned index $(basename "$f") still cached"
  done
  rst -r "$WORK/repo" check >/dev/null || fail "restic check"
  ;;

old_caches)
  base="$WORK/base"
  kura -r "$WORK/repo" --cache-dir "$base" init >/dev/null
  kura -r "$WORK/repo" --cache-dir "$base" snapshots >/dev/null
  old=$(printf 'a%.0s' $(seq 64))
  mkdir -p "$base/$old/index" "$base/restic-check-cache-1" "$base/not-a-cache"
  head -c 5000 /dev/urandom > "$base/$old/index/x"
  touch -d '40 days ago' "$base/$old"
  step "kura cache lists as restic cache does"
  for flags in "" "--no-size" "--max-age 0"; do
    # shellcheck disable=SC2086
    kura --cache-dir "$base" cache $flags > "$WORK/k.out"
    # shellcheck disable=SC2086
    restic --cache-dir "$base" cache $flags > "$WORK/r.out"
    diff -u "$WORK/r.out" "$WORK/k.out" >&2 || fail "kura cache $flags differs from restic"
  done
  kura --cache-dir "$WORK/none" cache | grep -qx "no cache dirs found, basedir is $WORK/none" || fail "empty base"
  if kura --no-cache cache > "$WORK/out" 2>&1; then fail "cache --no-cache succeeded"; fi
  grep -q "Refusing to do anything" "$WORK/out" || fail "--no-cache: $(cat "$WORK/out")"
  step "--cleanup removes only the old folders"
  kura --cache-dir "$base" cache --cleanup | grep -qx "remove 1 old cache directories" || fail "cleanup output"
  [ ! -e "$base/$old" ] && [ -e "$base/restic-check-cache-1" ] && [ -e "$base/not-a-cache" ] || fail "cleanup removed the wrong folders"
  kura --cache-dir "$base" cache --cleanup | grep -qx "no old cache dirs found" || fail "second cleanup"
  step "--cleanup-cache while using a repository"
  mkdir -p "$base/$old"
  touch -d '40 days ago' "$base/$old"
  kura -r "$WORK/repo" --cache-dir "$base" --cleanup-cache snapshots >/dev/null
  [ ! -e "$base/$old" ] || fail "--cleanup-cache kept the old folder"
  [ -e "$base/$(repo_id "$WORK/repo")" ] || fail "--cleanup-cache removed the folder in use"
  ;;

unusable_cache)
  kura -r "$WORK/repo" init >/dev/null
  echo data > "$WORK/f"
  echo "not a folder" > "$WORK/file"
  step "a cache that cannot be opened is a warning, not a failure"
  (cd "$WORK" && kura -r "$WORK/repo" --cache-dir "$WORK/file/sub" backup f > "$WORK/out" 2> "$WORK/err") ||
    fail "backup failed with an unusable cache"
  grep -q "unable to open cache" "$WORK/err" || fail "no warning: $(cat "$WORK/err")"
  kura -r "$WORK/repo" --cache-dir "$WORK/file/sub" snapshots >/dev/null 2>&1 || fail "snapshots failed"
  step "--no-cache writes nothing"
  kura -r "$WORK/repo" --no-cache snapshots >/dev/null
  [ ! -e "$KURA_CACHE_DIR" ] || fail "--no-cache created $KURA_CACHE_DIR"
  ;;

check_cache)
  echo data > "$WORK/f"
  kura -r "$WORK/repo" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/repo" backup f >/dev/null)
  id=$(repo_id "$WORK/repo")
  step "check uses a temporary cache and removes it"
  kura -r "$WORK/repo" check > "$WORK/out"
  tmp=$(sed -n 's/^using temporary cache in //p' "$WORK/out")
  [ -n "$tmp" ] || fail "no temporary cache line: $(cat "$WORK/out")"
  case "$tmp" in "$KURA_CACHE_DIR"/kura-check-cache-*) ;; *) fail "temporary cache at $tmp" ;; esac
  [ ! -e "$tmp" ] || fail "temporary cache left behind"
  step "a damaged cached index does not hide a damaged repository from check"
  idx=$(ls "$WORK/repo/index" | head -1)
  chmod u+w "$WORK/repo/index/$idx"
  flip_byte "$WORK/repo/index/$idx" 20
  kura -r "$WORK/repo" snapshots >/dev/null  # served from the cache
  if kura -r "$WORK/repo" check >/dev/null 2>&1; then fail "check passed a damaged index"; fi
  step "--with-cache uses the real cache"
  rm -rf "$KURA_CACHE_DIR/$id/index"
  kura -r "$WORK/repo" check --with-cache >/dev/null 2>&1 || true
  [ -d "$KURA_CACHE_DIR/$id/index" ] || fail "--with-cache did not use the cache"
  kura -r "$WORK/repo" --no-cache check > "$WORK/out" 2>&1 || true
  if grep -q "temporary cache" "$WORK/out"; then fail "--no-cache check made a cache"; fi
  ;;

*) fail "unknown case $case_name" ;;
esac
echo "PASS $case_name"
