#!/usr/bin/env bash
# tag, list, rebuild-index, recover, migrate and copy against restic 0.14: each case lets one
# program change a repository and the other read it (restic check, snapshots, restore).
# Usage: repocmds_test.sh CASE
source "$(dirname "$0")/lib.sh"
need_restic
case_name="${1:?case}"

# snaps REPO TOOL: every snapshot file as TOOL lists and decodes it (list snapshots, cat
# snapshot), as sorted JSON with its id: both programs must read the same.
snaps() {
  local repo=$1 tool=$2 id
  for id in $("$tool" -r "$repo" list snapshots); do
    printf '%s ' "$id"
    "$tool" -r "$repo" cat snapshot "$id" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin),sort_keys=True))'
  done | sort
}

mk_src() {
  mkdir -p "$WORK/src/d"
  echo alpha > "$WORK/src/a"
  echo beta > "$WORK/src/d/b"
  head -c 3000000 /dev/urandom > "$WORK/src/big"
}

case "$case_name" in
tag)
  mk_src
  rst -r "$WORK/r" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/r" backup src --tag t1 >/dev/null)
  (cd "$WORK" && rst -r "$WORK/r" backup src --tag t2 >/dev/null)
  step "kura tag, restic reads"
  kura -r "$WORK/r" tag --add x,y --remove t1 --tag t1 > "$WORK/out" || fail "kura tag"
  grep -q "modified tags on 1 snapshots" "$WORK/out" || fail "kura tag output: $(cat "$WORK/out")"
  rst -r "$WORK/r" check >/dev/null || fail "restic check after kura tag"
  rst -r "$WORK/r" snapshots --json | python3 -c 'import json,sys
s=json.load(sys.stdin); tags=sorted(",".join(x.get("tags") or []) for x in s)
assert tags==["t2","y,x"], tags
assert sum(1 for x in s if x.get("original"))==1, s' || fail "restic sees other tags"
  step "restic tag, kura reads; both list the same snapshots"
  rst -r "$WORK/r" tag --set z --tag t2 >/dev/null
  [ "$(snaps "$WORK/r" kura)" = "$(snaps "$WORK/r" rst)" ] || fail "kura and restic read different snapshots"
  kura -r "$WORK/r" tag --remove nothing latest > "$WORK/out"
  grep -q "no snapshots were modified" "$WORK/out" || fail "no-op tag output"
  kura -r "$WORK/r" tag latest 2>"$WORK/err" && fail "tag without change must fail"
  grep -q "nothing to do" "$WORK/err" || fail "nothing-to-do message"
  kura -r "$WORK/r" tag --set a --add b latest 2>/dev/null && fail "--set with --add must fail"
  # same original id both ways: a kura retag of a restic retag keeps the first id
  kura -r "$WORK/r" tag --add k --tag z >/dev/null
  rst -r "$WORK/r" snapshots --json | python3 -c 'import json,sys
s=json.load(sys.stdin); o=[x["original"] for x in s if "z" in (x.get("tags") or [])]
assert len(o)==1 and len(set(o))==1, s'
  [ "$(snaps "$WORK/r" kura)" = "$(snaps "$WORK/r" rst)" ] || fail "snapshots differ after kura retag"
  ;;

list)
  mk_src
  rst -r "$WORK/r" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/r" backup src >/dev/null)
  for t in blobs packs index snapshots keys locks; do
    diff <(kura -r "$WORK/r" list $t | sort) <(rst -r "$WORK/r" list $t | sort) >&2 || fail "list $t differs"
  done
  kura -r "$WORK/r" list 2>/dev/null && fail "list without type must fail"
  kura -r "$WORK/r" list foo 2>/dev/null && fail "list foo must fail"
  true
  ;;

rebuild_index)
  mk_src
  kura -r "$WORK/r" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/r" backup src >/dev/null)
  cp -r "$WORK/r/index" "$WORK/index.saved"
  step "index deleted: kura rebuild-index, restic check"
  rm -f "$WORK/r/index/"*
  kura -r "$WORK/r" rebuild-index > "$WORK/out" 2>"$WORK/err" || fail "rebuild-index"
  grep -q "adding pack file to index" "$WORK/err" || fail "no 'adding pack' warning"
  rst -r "$WORK/r" check --read-data >/dev/null || fail "restic check after rebuild-index"
  diff <(kura -r "$WORK/r" list blobs | sort) <(rst -r "$WORK/r" list blobs | sort) >&2 || fail "blobs differ"
  rst -r "$WORK/r" restore latest --target "$WORK/out1" >/dev/null
  same_tree "$WORK/src" "$WORK/out1/src"
  step "--read-all-packs on a restic repository, a stale index file"
  rst -r "$WORK/r2" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/r2" backup src >/dev/null)
  kura -r "$WORK/r2" rebuild-index --read-all-packs >/dev/null 2>&1 || fail "rebuild-index --read-all-packs"
  rst -r "$WORK/r2" check --read-data >/dev/null || fail "restic check after --read-all-packs"
  n=$(ls "$WORK/r2/index" | wc -l)
  [ "$n" = 1 ] || fail "want 1 index file, got $n"
  step "a pack the index lists is gone"
  pack=$(ls "$WORK/r2/data/"*/* | head -1)
  rm "$pack"
  kura -r "$WORK/r2" rebuild-index 2>"$WORK/err" >/dev/null || fail "rebuild-index with a missing pack"
  grep -q "removing not found pack file" "$WORK/err" || fail "no missing-pack warning"
  rst -r "$WORK/r2" list blobs >/dev/null || fail "restic reads the index"
  ;;

recover)
  mk_src
  mkdir -p "$WORK/src2/x"; echo lost > "$WORK/src2/x/file"
  kura -r "$WORK/r" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/r" backup src >/dev/null)
  (cd "$WORK" && kura -r "$WORK/r" backup src2 >/dev/null)
  lost=$(kura -r "$WORK/r" snapshots --json | python3 -c 'import json,sys; print([x for x in json.load(sys.stdin) if x["paths"][0].endswith("src2")][0]["id"])')
  rm "$WORK/r/snapshots/$lost"
  kura -r "$WORK/r" recover > "$WORK/kout" || fail "kura recover"
  grep -q "found 1 unreferenced roots" "$WORK/kout" || fail "kura recover output: $(cat "$WORK/kout")"
  rst -r "$WORK/r" check >/dev/null || fail "restic check after kura recover"
  rst -r "$WORK/r" ls latest > "$WORK/ls"
  grep -q "/src2/x/file$" "$WORK/ls" || fail "recovered snapshot lacks the file"
  rst -r "$WORK/r" snapshots --json latest | python3 -c 'import json,sys
s=json.load(sys.stdin)[0]; assert s["paths"]==["/recover"] and s["tags"]==["recovered"], s'
  step "restic recover finds the same nothing afterwards"
  rst -r "$WORK/r" recover > "$WORK/rout"
  kura -r "$WORK/r" recover > "$WORK/kout"
  grep -q "found 0 unreferenced roots" "$WORK/rout" || fail "restic found roots"
  grep -q "found 0 unreferenced roots" "$WORK/kout" || fail "kura found roots"
  ;;

migrate)
  mk_src
  rst -r "$WORK/r" init --repository-version 1 >/dev/null
  (cd "$WORK" && rst -r "$WORK/r" backup src >/dev/null)
  kura -r "$WORK/r" migrate > "$WORK/kout"
  rst -r "$WORK/r" migrate > "$WORK/rout"
  diff "$WORK/kout" "$WORK/rout" >&2 || fail "migration list differs"
  kura -r "$WORK/r" migrate upgrade_repo_v2 > "$WORK/out" || fail "kura migrate"
  grep -q "migration upgrade_repo_v2: success" "$WORK/out" || fail "migrate output"
  rst -r "$WORK/r" cat config | grep -q '"version": 2' || fail "not version 2"
  rst -r "$WORK/r" check --read-data >/dev/null || fail "restic check after migrate"
  (cd "$WORK" && rst -r "$WORK/r" backup src --compression max >/dev/null)
  (cd "$WORK" && kura -r "$WORK/r" backup src >/dev/null)
  rst -r "$WORK/r" check >/dev/null || fail "restic check after v2 backups"
  kura -r "$WORK/r" migrate > "$WORK/kout"
  rst -r "$WORK/r" migrate > "$WORK/rout"
  diff "$WORK/kout" "$WORK/rout" >&2 || fail "empty migration list differs"
  kura -r "$WORK/r" migrate upgrade_repo_v2 2>"$WORK/err" >/dev/null || fail "second migrate must not fail"
  grep -q "cannot be applied" "$WORK/err" || fail "second migrate message"
  ;;

copy_local)
  mk_src
  rst -r "$WORK/src_repo" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/src_repo" backup src --tag a >/dev/null)
  echo more > "$WORK/src/more"
  (cd "$WORK" && rst -r "$WORK/src_repo" backup src --tag b >/dev/null)
  step "kura init --copy-chunker-params"
  echo "$WORK/src_repo" > "$WORK/repofile"
  echo test-password > "$WORK/pwfile"
  kura -r "$WORK/dst" init --from-repository-file "$WORK/repofile" --from-password-file "$WORK/pwfile" \
      --copy-chunker-params >/dev/null || fail "init --copy-chunker-params"
  a=$(rst -r "$WORK/src_repo" cat config | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunker_polynomial"])')
  b=$(rst -r "$WORK/dst" cat config | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunker_polynomial"])')
  [ "$a" = "$b" ] || fail "polynomial not copied"
  step "kura copy --tag a, then everything"
  RESTIC_FROM_PASSWORD=test-password kura -r "$WORK/dst" copy --from-repo "$WORK/src_repo" --tag a > "$WORK/out" || fail "copy --tag a"
  [ "$(kura -r "$WORK/dst" list snapshots | wc -l)" = 1 ] || fail "want one snapshot copied"
  kura -r "$WORK/dst" copy --from-repo "$WORK/src_repo" --from-password-command "echo test-password" > "$WORK/out" || fail "copy all"
  grep -q "skipping source snapshot" "$WORK/out" || fail "copied snapshot not skipped: $(cat "$WORK/out")"
  [ "$(kura -r "$WORK/dst" list snapshots | wc -l)" = 2 ] || fail "want two snapshots"
  rst -r "$WORK/dst" check --read-data >/dev/null || fail "restic check after kura copy"
  rst -r "$WORK/dst" restore latest --target "$WORK/out2" >/dev/null
  same_tree "$WORK/src" "$WORK/out2/src"
  step "restic copy of the same snapshots skips all"
  RESTIC_FROM_PASSWORD=test-password rst -r "$WORK/dst" copy --from-repo "$WORK/src_repo" > "$WORK/rout"
  [ "$(grep -c "skipping source snapshot" "$WORK/rout")" = 2 ] || fail "restic copied again: $(cat "$WORK/rout")"
  step "kura copy into a restic-made repository with other chunker params"
  rst -r "$WORK/dst2" init >/dev/null
  (cd "$WORK" && rst -r "$WORK/dst2" backup src >/dev/null)
  RESTIC_FROM_PASSWORD=test-password kura -r "$WORK/dst2" copy --from-repo "$WORK/src_repo" latest >/dev/null || fail "copy latest"
  rst -r "$WORK/dst2" check --read-data >/dev/null || fail "restic check dst2"
  [ "$(snaps "$WORK/dst2" kura)" = "$(snaps "$WORK/dst2" rst)" ] || fail "snapshots differ in dst2"
  step "restic copy from a kura repository"
  kura -r "$WORK/k" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/k" backup src >/dev/null)
  RESTIC_FROM_PASSWORD=test-password rst -r "$WORK/dst2" copy --from-repo "$WORK/k" >/dev/null || fail "restic copy from kura"
  RESTIC_FROM_PASSWORD=test-password kura -r "$WORK/dst2" copy --from-repo "$WORK/k" > "$WORK/out"
  grep -q "skipping source snapshot" "$WORK/out" || fail "kura did not see restic's copy"
  kura -r "$WORK/dst2" copy 2>"$WORK/err" && fail "copy without source must fail"
  grep -q "specify a source repository" "$WORK/err" || fail "no-source message"
  ;;

copy_rest)
  mk_src
  serve_rclone "$WORK/served"
  url="rest:http://127.0.0.1:$PORT/"
  kura -r "$WORK/local" init >/dev/null
  (cd "$WORK" && kura -r "$WORK/local" backup src >/dev/null)
  RESTIC_FROM_PASSWORD=test-password kura -r "$url" init --from-repo "$WORK/local" --copy-chunker-params >/dev/null
  RESTIC_FROM_PASSWORD=test-password kura -r "$url" copy --from-repo "$WORK/local" >/dev/null || fail "copy to REST"
  rst -r "$url" check --read-data >/dev/null || fail "restic check over REST"
  step "and back from REST into a new local repository"
  kura -r "$WORK/back" init >/dev/null
  RESTIC_FROM_PASSWORD=test-password kura -r "$WORK/back" copy --from-repo "$url" >/dev/null || fail "copy from REST"
  rst -r "$WORK/back" restore latest --target "$WORK/out" >/dev/null
  same_tree "$WORK/src" "$WORK/out/src"
  ;;

*) fail "unknown case $case_name" ;;
esac
echo "PASS $case_name"
