#!/usr/bin/env bash
# kura-server under load (issue 13). Usage: server_load_test.sh CASE
#   crash: uploaders on their own mTLS connections while the server is killed with SIGKILL at
#          many moments and restarted (server_crash_test.py does the work).
#   load:  16 clients at once (8 stock restic, 8 kura, each its own device and repository,
#          half in one tenant and half in another); every repository checks clean afterwards
#          and each tenant's usage equals its bytes on disk. Prints the server's peak RSS and
#          the throughput.
#   memory: many large uploads at once (server_memory_test.py): the server's peak RSS stays
#          bounded (bodies are streamed, never held whole).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
case_name=${1:?case}

case_crash() {
  start_server
  ks tenant create clinic-a --region jp-east 2>/dev/null
  ks repo create clinic-a main 2>/dev/null
  enroll_openssl clinic-a main up-pc
  # The script starts and kills its own server processes on the same data folder and port.
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || fail "kura-server did not stop cleanly"
  python3 "${CRASH_PY:-$HERE/server_crash_test.py}" --port "$PORT" --work "$WORK" --data "$DATA" \
    --server "$KURA_SERVER" --rounds "${KURA_CRASH_ROUNDS:-20}" \
    --max-size "${KURA_CRASH_MAX_SIZE:-1048576}" ||
    fail "crash checks failed (server log: $(tail -5 "$WORK/server.log"))"
}

# make_data DIR...: ~8 MB in each DIR, different in each: random files (incompressible), text
# (compressible) and one file three times (deduplicated).
make_data() {
  python3 - "$@" <<'PY'
import os, random, sys
for seed, root in enumerate(sys.argv[1:], 1):
    r = random.Random(seed)
    same = r.randbytes(700_000)
    for d in range(3):
        os.makedirs(f"{root}/d{d}/sub")
        for i in range(6):
            with open(f"{root}/d{d}/r{i}.bin", "wb") as f:
                f.write(r.randbytes(r.randint(50_000, 500_000)))
        with open(f"{root}/d{d}/sub/notes.txt", "w") as f:
            f.write("".join(f"client {seed} folder {d} line {i}\n" for i in range(20000)))
        with open(f"{root}/d{d}/copy.bin", "wb") as f:
            f.write(same)
PY
}

vm_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

case_load() {
  need_restic
  start_server
  local t r d i tool
  local -a devs=()
  for t in clinic-a clinic-b; do
    ks tenant create "$t" --region jp-east 2>/dev/null
    for i in 1 2 3 4 5 6 7 8; do
      tool=restic
      [ $((i % 2)) = 0 ] && tool=kura
      d="$t-$tool-$i"
      ks repo create "$t" "$d" 2>/dev/null
      devs+=("$t $d $tool")
    done
  done
  local -a pids=()
  for entry in "${devs[@]}"; do
    read -r t d tool <<<"$entry"
    enroll_openssl "$t" "$d" "$d" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fail "an enrollment failed"; done
  make_data $(for entry in "${devs[@]}"; do read -r t d tool <<<"$entry"; echo "$WORK/src-$d"; done)
  step "setup done in $SECONDS s"
  local src_bytes
  src_bytes=$(du -sb "$WORK"/src-* | awk '{s+=$1} END {print s}')
  local rss0
  rss0=$(vm_kib "$SERVER_PID" VmHWM)

  step "16 clients at once: init, backup, a change, a second backup"
  local start end
  start=$(date +%s.%N)
  pids=()
  for entry in "${devs[@]}"; do
    read -r t d tool <<<"$entry"
    (
      export REPO="rest:$URL/$t/$d/"
      as "$d" "$tool" init
      as "$d" "$tool" backup "$WORK/src-$d"
      echo "changed" > "$WORK/src-$d/d0/changed.txt"
      as "$d" "$tool" backup "$WORK/src-$d"
    ) >"$WORK/client-$d.log" 2>&1 &
    pids+=($!)
  done
  local bad=0
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      read -r t d tool <<<"${devs[$i]}"
      echo "client $d failed:" >&2
      tail -20 "$WORK/client-$d.log" >&2
      bad=1
    fi
  done
  end=$(date +%s.%N)
  [ "$bad" = 0 ] || fail "some clients failed"
  grep -il "error\|fatal\|warning" "$WORK"/client-*.log && fail "a client reported an error"

  local rss hwm stored
  hwm=$(vm_kib "$SERVER_PID" VmHWM)
  rss=$(vm_kib "$SERVER_PID" VmRSS)
  stored=$(find "$DATA/objects" -type f ! -name '*-tmp-*' -printf '%s\n' | awk '{s+=$1} END {print s}')
  python3 - "$start" "$end" "$src_bytes" "$stored" "$rss0" "$hwm" "$rss" <<'PY' >&2
import sys
start, end, src, stored, rss0, hwm, rss = map(float, sys.argv[1:])
secs = end - start
print(f"load: 16 clients, {src / 1e6:.1f} MB of source backed up twice in {secs:.1f} s; "
      f"{stored / 1e6:.1f} MB stored ({stored / 1e6 / secs:.1f} MB/s into the server, "
      f"{2 * src / 1e6 / secs:.1f} MB/s of source scanned)")
print(f"server memory: peak RSS (VmHWM) {hwm / 1024:.1f} MiB (before the load {rss0 / 1024:.1f} MiB), "
      f"RSS after the load {rss / 1024:.1f} MiB")
PY

  step "every repository checks clean with stock restic, and holds two snapshots"
  # Four at a time: the checks wait on the network as much as on the CPU.
  check_repo() {
    local t=$1 d=$2
    export REPO="rest:$URL/$t/$d/"
    as "$d" restic check --read-data >"$WORK/check-$d.log" 2>&1 ||
      { cat "$WORK/check-$d.log" >&2; fail "restic check --read-data of $t/$d"; }
    grep -q "no errors were found" "$WORK/check-$d.log" || fail "restic check of $t/$d"
    [ "$(as "$d" restic snapshots --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')" = 2 ] ||
      fail "$t/$d: not 2 snapshots"
  }
  pids=()
  for entry in "${devs[@]}"; do
    read -r t d tool <<<"$entry"
    check_repo "$t" "$d" &
    pids+=($!)
    if [ "${#pids[@]}" = 4 ]; then
      for i in "${pids[@]}"; do wait "$i" || bad=1; done
      pids=()
    fi
  done
  for i in "${pids[@]}"; do wait "$i" || bad=1; done
  [ "$bad" = 0 ] || fail "a repository did not check clean"

  step "checks done at $SECONDS s"
  step "usage per tenant equals its bytes on disk; no temp file left; no lock left"
  local used ondisk
  for t in clinic-a clinic-b; do
    used=$(ks --json tenant show "$t" | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["used_bytes"])')
    ondisk=$(find "$DATA/objects/jp-east/$t" -type f ! -name '*-tmp-*' -printf '%s\n' | awk '{s+=$1} END {print s}')
    echo "usage of $t: $used B recorded, $ondisk B on disk" >&2
    [ "$used" = "$ondisk" ] || fail "usage of $t: $used != bytes on disk $ondisk"
  done
  [ -z "$(find "$DATA/objects" -name '*-tmp-*')" ] || fail "temp files left: $(find "$DATA/objects" -name '*-tmp-*')"
  [ -z "$(find "$DATA/objects" -path '*/locks/*' -type f)" ] || fail "locks left behind"
  grep -i "error\|critical" "$WORK/server.log" >&2 && fail "the server logged errors"
  return 0
}

case_memory() {
  start_server
  ks tenant create clinic-a --region jp-east 2>/dev/null
  ks repo create clinic-a main 2>/dev/null
  enroll_openssl clinic-a main up-pc
  curl -sS --fail --cacert "$CA" --cert "$WORK/dev-up-pc.pem" -X POST "$URL/clinic-a/main/?create=true" >/dev/null
  python3 "$HERE/server_memory_test.py" --url "$URL" --ca "$CA" --cert "$WORK/dev-up-pc.pem" \
    --repo /clinic-a/main --pid "$SERVER_PID" --uploads "${KURA_MEMORY_UPLOADS:-32}" \
    --mib "${KURA_MEMORY_MIB:-16}" --limit-mb "${KURA_MEMORY_LIMIT_MB:-120}" ||
    fail "memory under concurrent uploads"
  local n
  n=$(find "$DATA/objects" -path '*/data/*' -type f ! -name '*-tmp-*' | wc -l)
  [ "$n" = "${KURA_MEMORY_UPLOADS:-32}" ] || fail "$n objects stored"
}

"case_$case_name"
