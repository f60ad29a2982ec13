#!/usr/bin/env bash
# kura over the network against kura-server: the local cache keeps a no-change backup's
# downloads small; a server restart (SIGTERM or SIGKILL) in the middle of a backup costs
# retries, not the backup; refusals (quota 507, permission 401/403) stop at once with the
# server's own words. Usage: server_net_test.sh CASE
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
case_name=${1:?case}

# metric NAME: the value of an unlabelled counter, read from 127.0.0.1 without a certificate.
metric() {
  curl -sSf --cacert "$CA" "$URL/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
# setup_repo TENANT DEVICE [quota]: a tenant with repository "main", one enrolled device, REPO.
setup_repo() {
  ks tenant create "$1" --region jp-east ${3:+--quota "$3"} 2>/dev/null
  ks repo create "$1" main 2>/dev/null
  enroll_openssl "$1" main "$2"
  REPO="rest:$URL/$1/main/"
}
repo_bytes() {
  find "$DATA/objects/jp-east/$1/main" -type f ! -name '*-tmp-*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'
}

case_cache() {
  start_server
  setup_repo clinic-a pc
  make_corpus "$WORK/src" 24
  as pc kura init >/dev/null
  as pc kura backup "$WORK/src" >/dev/null
  total=$(repo_bytes clinic-a)
  step "a no-change backup with a warm cache"
  before=$(metric kura_http_sent_bytes_total)
  as pc kura backup "$WORK/src" >"$WORK/second.out"
  after=$(metric kura_http_sent_bytes_total)
  sent=$((after - before))
  echo "server sent $sent bytes during the no-change backup (repository: $total bytes)" >&2
  # Config, key, snapshot list, lock round trips and the /metrics read above: a few kB. The
  # index and the packs' trees come from the cache.
  [ "$sent" -lt $((total / 200)) ] || fail "no-change backup downloaded $sent of $total bytes"
  [ "$sent" -lt 262144 ] || fail "no-change backup downloaded $sent bytes (over 256 KiB)"
  step "without the cache the same backup reads the index and trees again (for contrast)"
  before=$(metric kura_http_sent_bytes_total)
  as pc kura --no-cache backup "$WORK/src" >/dev/null
  after=$(metric kura_http_sent_bytes_total)
  echo "server sent $((after - before)) bytes during the no-change backup without a cache" >&2
  [ $((after - before)) -gt "$sent" ] || fail "--no-cache downloaded no more than the cached run"
}

# restart_during_backup SIGNAL: a ~200 MB backup; the server is stopped with SIGNAL once it
# has received a third of it and started again a moment later with the same configuration.
restart_during_backup() {
  local sig=$1
  need_restic
  start_server
  setup_repo clinic-a pc
  mkdir -p "$WORK/src"
  for i in $(seq 1 25); do head -c 8000000 /dev/urandom > "$WORK/src/scan-$i.dcm"; done
  as pc kura init >/dev/null
  step "backup of 200 MB; the server gets SIG$sig in the middle and comes back"
  as pc kura backup "$WORK/src" >"$WORK/backup.out" 2>"$WORK/backup.err" &
  backup=$!
  KILL_ON_EXIT="${KILL_ON_EXIT:-} $backup"
  local got=0
  for _ in $(seq 600); do
    got=$(metric kura_http_received_bytes_total 2>/dev/null || echo 0)
    [ "${got:-0}" -gt 70000000 ] && break
    kill -0 "$backup" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$backup" 2>/dev/null || { cat "$WORK/backup.err" >&2; fail "backup ended before the restart"; }
  echo "server received $got bytes; stopping it with SIG$sig" >&2
  kill "-$sig" "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  sleep 1
  run_server
  local rc=0
  wait "$backup" || rc=$?
  cat "$WORK/backup.err" >&2
  [ "$rc" = 0 ] || fail "backup exited $rc after a server restart"
  grep -q "retrying in" "$WORK/backup.err" || fail "no retry was reported: the restart missed the backup"
  grep -q "^snapshot [0-9a-f]* saved" "$WORK/backup.out" || { cat "$WORK/backup.out"; fail "no snapshot saved"; }
  # kura-server keeps lock owners in its metadata: the device removes its own lock after the
  # restart, and the checks below find no lock in their way.
  [ -z "$(as pc kura list locks)" ] || fail "the backup's lock was left behind"
  step "the repository is whole: kura check --read-data and restic check --read-data"
  as pc kura check --read-data >"$WORK/check.out" 2>&1 || { cat "$WORK/check.out"; fail "kura check"; }
  as pc restic check --read-data >"$WORK/rcheck.out" 2>&1 || { cat "$WORK/rcheck.out"; fail "restic check"; }
  grep -q "no errors were found" "$WORK/rcheck.out" || fail "restic check"
  as pc kura restore latest --target "$WORK/restore" >/dev/null
  diff -r "$WORK/src" "$WORK/restore$WORK/src" >/dev/null || fail "restored files differ"
  local used ondisk tmp
  used=$(ks --json tenant show clinic-a | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["used_bytes"])')
  ondisk=$(repo_bytes clinic-a)
  tmp=$(find "$DATA/objects" -name '*-tmp-*' | wc -l)
  echo "after SIG$sig: usage $used, bytes on disk $ondisk, $tmp temporary files left" >&2
  [ "$used" = "$ondisk" ] || fail "usage $used != bytes on disk $ondisk"
  [ "$tmp" = 0 ] || fail "$tmp temporary files left after the restart"
  # The start-up walk of every repository runs after an unclean stop only.
  if [ "$sig" = KILL ]; then
    grep -q "did not stop cleanly" "$WORK/server.log" || fail "no recovery after SIGKILL"
  else
    grep -q "did not stop cleanly" "$WORK/server.log" && fail "recovery after a clean stop"
  fi
  return 0
}
case_restart_term() { restart_during_backup TERM; }
case_restart_kill() { restart_during_backup KILL; }

# refused WHAT SECONDS FILE: the command that wrote FILE failed within SECONDS with no retry.
refused_at_once() {
  local what=$1 took=$2 out=$3
  echo "$what: refused after ${took}s: $(grep -v '^$' "$out" | tail -1)" >&2
  grep -q "retrying in" "$out" && { cat "$out"; fail "$what was retried"; }
  [ "$took" -le 10 ] || fail "$what took ${took}s"
}

# restic_refused NAME ARGS...: how stock restic 0.14 meets the same refusal, for the record
# only (KURA_NET_RESTIC=1; not changed, not asserted). Measured: a 507 on a pack or snapshot
# upload and a 403 on a delete are retried like network errors (10 retries, ~46 s) and end
# without the server's text ("server response unexpected: 507 Insufficient Storage"); a 401
# on opening the repository stops at once.
restic_refused() {
  [ "${KURA_NET_RESTIC:-0}" = 1 ] || return 0
  local name=$1 start=$SECONDS
  shift
  if timeout 300 restic --no-cache --cacert "$CA" --tls-client-cert "$WORK/dev-pc.pem" -r "$REPO" \
    "$@" >"$WORK/restic-$name.out" 2>&1; then fail "restic: $name succeeded"; fi
  echo "restic: $name refused after $((SECONDS - start))s, $(grep -c 'retrying' "$WORK/restic-$name.out" || true) retries: $(grep -m1 -i "fatal\|error" "$WORK/restic-$name.out" || tail -1 "$WORK/restic-$name.out")" >&2
}

case_refusal() {
  start_server
  setup_repo clinic-a pc
  make_corpus "$WORK/src" 4
  as pc kura init >/dev/null
  as pc kura backup "$WORK/src" >/dev/null
  echo "more" > "$WORK/src/added.txt"
  as pc kura backup "$WORK/src" >/dev/null
  step "quota: a pack upload over the quota stops at once with the server's message (507)"
  used=$(ks --json tenant show clinic-a | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["used_bytes"])')
  # Room for locks and a snapshot, not for the 6 MB pack: the refusal comes from the headers
  # while kura is still sending the body.
  ks tenant set-quota clinic-a $((used + 200000)) 2>/dev/null
  head -c 6000000 /dev/urandom > "$WORK/src/big.bin"
  start=$SECONDS
  if as pc kura backup "$WORK/src" >"$WORK/quota.out" 2>&1; then fail "backup over quota succeeded"; fi
  refused_at_once quota $((SECONDS - start)) "$WORK/quota.out"
  grep -q "save data/.*HTTP 507.*server said: quota exceeded for clinic-a" "$WORK/quota.out" ||
    { cat "$WORK/quota.out"; fail "the server's quota message is missing"; }
  restic_refused quota backup "$WORK/src"
  ks tenant set-quota clinic-a 10GiB 2>/dev/null
  step "permission: a backup device may not delete (403), at once with the server's message"
  start=$SECONDS
  if as pc kura forget --keep-last 1 --prune >"$WORK/forget.out" 2>&1; then fail "forget by a backup device succeeded"; fi
  refused_at_once "forget by a backup device" $((SECONDS - start)) "$WORK/forget.out"
  grep -q "HTTP 403.*server said: this device may only add backups" "$WORK/forget.out" ||
    { cat "$WORK/forget.out"; fail "the server's reason is missing"; }
  restic_refused delete forget --keep-last 1
  step "authentication: a revoked device is refused (401) at once with the server's message"
  ks device revoke clinic-a pc 2>/dev/null
  start=$SECONDS
  if as pc kura snapshots >"$WORK/revoked.out" 2>&1; then fail "a revoked device still reads"; fi
  refused_at_once "revoked device" $((SECONDS - start)) "$WORK/revoked.out"
  grep -q "HTTP 401.*server said: this device's certificate has been revoked" "$WORK/revoked.out" ||
    { cat "$WORK/revoked.out"; fail "the server's reason is missing"; }
  restic_refused revoked snapshots
}

"case_$case_name"
