#!/usr/bin/env bash
# kura-server end to end: the admin commands from a script, devices enrolled with one-time
# codes, stock restic 0.14 and kura backing up through the restic REST API over mTLS,
# append-only devices, a maintenance identity that prunes, refusals, TLS profile, metrics,
# systemd unit, signals. Usage: server_test.sh CASE
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
case_name=${1:?case}

case_restic() {
  need_restic
  start_server
  ks tenant create clinic-a --quota 10GiB --region jp-east --display-name "さくら内科" 2>/dev/null
  ks repo create clinic-a main 2>/dev/null
  enroll_openssl clinic-a main reception-pc
  REPO="rest:$URL/clinic-a/main/"
  make_corpus "$WORK/src" 8
  step "stock restic: init, backup, snapshots, restore, check --read-data (device identity)"
  as reception-pc restic init >/dev/null
  as reception-pc restic backup "$WORK/src" >/dev/null
  sleep 1.1
  echo "more" > "$WORK/src/added.txt"
  as reception-pc restic backup "$WORK/src" >/dev/null
  [ "$(as reception-pc restic snapshots --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')" = 2 ] ||
    fail "expected 2 snapshots"
  as reception-pc restic restore latest --target "$WORK/restore" >/dev/null
  same_tree "$WORK/src" "$WORK/restore$WORK/src"
  as reception-pc restic check --read-data | grep -q "no errors were found" || fail "restic check"
  step "the repository on disk is a plain restic repository"
  restic --no-cache -r "$DATA/objects/jp-east/clinic-a/main" check >/dev/null || fail "on-disk check"
  step "a backup device cannot delete: kura forget is refused at once"
  if as reception-pc kura forget --keep-last 1 --prune >"$WORK/forget.out" 2>&1; then
    fail "forget by a backup device succeeded"
  fi
  grep -qi "403\|denied\|forbidden\|permission" "$WORK/forget.out" || { cat "$WORK/forget.out"; fail "forget refusal unclear"; }
  # Said once, not "remove snapshots/x: remove snapshots/x: ...".
  if grep -q "remove snapshots/[0-9a-f]*: remove snapshots/" "$WORK/forget.out"; then
    cat "$WORK/forget.out"; fail "forget names the file twice"
  fi
  [ "$(as reception-pc restic snapshots --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')" = 2 ] ||
    fail "a snapshot vanished"
  step "the maintenance identity prunes with stock restic"
  enroll_openssl clinic-a main admin-pc --maintenance
  as admin-pc restic forget --keep-last 1 --prune >/dev/null
  [ "$(as admin-pc restic snapshots --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')" = 1 ] ||
    fail "forget --prune did not remove a snapshot"
  as admin-pc restic check --read-data | grep -q "no errors were found" || fail "check after prune"
  as reception-pc restic list locks | grep -q . && fail "locks left behind"
  step "usage is current and the requests are recorded"
  used=$(ks --json tenant show clinic-a | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["used_bytes"])')
  ondisk=$(find "$DATA/objects/jp-east/clinic-a/main" -type f ! -name '*-tmp-*' -printf '%s\n' | awk '{s+=$1} END {print s}')
  [ "$used" = "$ondisk" ] || fail "usage $used != bytes on disk $ondisk"
  ks audit export --csv > "$WORK/audit.csv"
  grep -q ",mtls,repo.write,clinic-a/main/data/" "$WORK/audit.csv" || fail "no upload record"
  grep -q "repo.delete,clinic-a/main/snapshots/.*,403,denied" "$WORK/audit.csv" || fail "no refused delete record"
}

case_kura() {
  start_server
  ks tenant create clinic-b --quota 1GiB --region jp-east 2>/dev/null
  ks repo create clinic-b main 2>/dev/null
  enroll_openssl clinic-b main pharmacy-pc
  REPO="rest:$URL/clinic-b/main/"
  make_corpus "$WORK/src" 8
  as pharmacy-pc kura init >/dev/null
  as pharmacy-pc kura backup "$WORK/src" >/dev/null
  as pharmacy-pc kura backup "$WORK/src" >/dev/null
  as pharmacy-pc kura restore latest --target "$WORK/restore" >/dev/null
  same_tree "$WORK/src" "$WORK/restore$WORK/src"
  as pharmacy-pc kura check --read-data >/dev/null || fail "kura check"
  if command -v restic >/dev/null; then
    as pharmacy-pc restic check --read-data | grep -q "no errors were found" || fail "restic check of kura's repository"
  fi
  step "quota: an upload over the quota is refused with 507 and a clear message"
  ks tenant set-quota clinic-b 1MB 2>/dev/null
  head -c 3000000 /dev/urandom > "$WORK/src/big.bin"
  if as pharmacy-pc kura backup "$WORK/src" >"$WORK/quota.out" 2>&1; then fail "backup over quota succeeded"; fi
  grep -q "quota" "$WORK/quota.out" || { cat "$WORK/quota.out"; fail "quota message missing"; }
}

case_matrix() {
  start_server "max_object_bytes = 2097152" "header_timeout_sec = 2" "idle_timeout_sec = 3"
  ks tenant create clinic-a --region jp-east 2>/dev/null
  ks tenant create clinic-b --region jp-east 2>/dev/null
  ks repo create clinic-a main 2>/dev/null
  ks repo create clinic-b main 2>/dev/null
  enroll_openssl clinic-a main a-pc
  enroll_openssl clinic-a main a-pc2
  enroll_openssl clinic-b main b-pc
  enroll_openssl clinic-a main a-revoked
  enroll_openssl clinic-a main a-maint --maintenance
  python3 "$HERE/server_matrix.py" --url "$URL" --work "$WORK" --data "$DATA" \
    --server "$KURA_SERVER" || fail "refusal matrix"
  kill -0 "$SERVER_PID" || fail "server died"
}

case_tls() {
  start_server
  step "allowed: TLS 1.3 and TLS 1.2 ECDHE+AEAD"
  for args in "-tls1_3" "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256" \
              "-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384" "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305" \
              "-tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256" "-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256"; do
    # The exit status of s_client varies with how the server closes; the handshake's result is
    # what counts.
    echo | openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" $args >"$WORK/s.out" 2>&1 </dev/null || true
    if ! grep -q "^New, TLS" "$WORK/s.out" || grep -q "Cipher is (NONE)" "$WORK/s.out"; then
      cat "$WORK/s.out"; fail "refused: $args"
    fi
    grep -q "Verify return code: 0" "$WORK/s.out" || fail "server certificate not verified ($args)"
  done
  step "refused: TLS <= 1.1, CBC, RSA key exchange, static DH, weak groups"
  for args in "-tls1_1" "-tls1" "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256" \
              "-tls1_2 -cipher ECDHE-ECDSA-AES256-SHA" "-tls1_2 -cipher AES128-GCM-SHA256" \
              "-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256" "-tls1_2 -cipher ECDHE-ECDSA-NULL-SHA" \
              "-tls1_3 -ciphersuites TLS_AES_128_CCM_8_SHA256" "-tls1_2 -curves secp224r1"; do
    echo | openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$CA" $args >"$WORK/s.out" 2>&1 </dev/null || true
    if grep -q "^New, TLS" "$WORK/s.out" && ! grep -q "Cipher is (NONE)" "$WORK/s.out"; then
      cat "$WORK/s.out"
      fail "accepted: $args"
    fi
  done
  step "no renegotiation, no compression"
  grep -q "Compression: NONE" <(echo | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -CAfile "$CA" 2>&1) ||
    fail "compression"
  # Debian's testssl.sh (installed by scripts/setup; ~25 s): protocols and cipher
  # categories, each line checked. KURA_TESTSSL=0 leaves it out.
  if command -v testssl >/dev/null && [ "${KURA_TESTSSL:-1}" = 1 ]; then
    step "testssl.sh: protocols and cipher categories"
    testssl --quiet --color 0 --protocols --std "127.0.0.1:$PORT" >"$WORK/testssl.out" 2>&1 ||
      { cat "$WORK/testssl.out"; fail "testssl.sh did not run"; }
    local line
    for line in "SSLv2 +not offered" "SSLv3 +not offered" "TLS 1 +not offered" \
      "TLS 1.1 +not offered" "TLS 1.2 +offered" "TLS 1.3 +offered" \
      "NULL ciphers.*not offered" "Anonymous NULL Ciphers.*not offered" \
      "Export ciphers.*not offered" "LOW: 64 Bit.*not offered" "Triple DES Ciphers.*not offered" \
      "Obsolete CBC ciphers.*not offered" "Strong encryption \(AEAD ciphers\) +offered"; do
      grep -Eq "^ *$line" "$WORK/testssl.out" || { cat "$WORK/testssl.out"; fail "testssl.sh: expected \"$line\""; }
    done
  fi
}

case_ops() {
  start_server
  step "/healthz and /metrics (promtool check metrics)"
  curl -sSf --cacert "$CA" "$URL/healthz" | grep -q ok || fail "healthz"
  curl -sS --cacert "$CA" -o /dev/null "$URL/nothing-here" || true
  curl -sSf --cacert "$CA" "$URL/metrics" > "$WORK/metrics.txt" || fail "metrics"
  grep -q 'kura_http_requests_total{route="healthz"' "$WORK/metrics.txt" || fail "request counter"
  grep -q 'kura_http_request_duration_seconds_bucket' "$WORK/metrics.txt" || fail "histogram"
  if command -v promtool >/dev/null; then
    promtool check metrics < "$WORK/metrics.txt" || fail "promtool check metrics"
  fi
  step "systemd unit (systemd-analyze verify)"
  if command -v systemd-analyze >/dev/null; then
    sed "s|/usr/bin/kura-server|$KURA_SERVER|" "$HERE/../packaging/kura-server.service" > "$WORK/kura-server.service"
    systemd-analyze verify "$WORK/kura-server.service" 2>&1 | grep -v "^$" | tee "$WORK/verify.out" >&2 || true
    if grep -qi "error\|unknown\|invalid\|failed" "$WORK/verify.out"; then fail "systemd-analyze verify"; fi
  fi
  step "SIGHUP reloads the certificates; the server keeps serving"
  kill -HUP "$SERVER_PID"
  sleep 0.5
  curl -sSf --cacert "$CA" "$URL/healthz" >/dev/null || fail "serving after SIGHUP"
  step "SIGTERM finishes a request in flight, then the server exits"
  ks tenant create clinic-a --region jp-east 2>/dev/null
  ks repo create clinic-a main 2>/dev/null
  enroll_openssl clinic-a main pc
  head -c 1500000 /dev/urandom > "$WORK/blob"
  name=$(sha256sum "$WORK/blob" | cut -c1-64)
  # A slow upload (curl sends 300 kB/s) that is in flight when SIGTERM arrives.
  curl -sS --cacert "$CA" --cert "$WORK/dev-pc.pem" --limit-rate 300k -H 'Expect:' \
    --data-binary @"$WORK/blob" -o "$WORK/up.out" -w '%{http_code}' \
    "$URL/clinic-a/main/data/$name" > "$WORK/up.code" &
  up=$!
  sleep 1.5
  kill -TERM "$SERVER_PID"
  wait "$up" || true
  [ "$(cat "$WORK/up.code")" = 200 ] || fail "upload in flight got $(cat "$WORK/up.code")"
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SERVER_PID" 2>/dev/null && fail "server still running after SIGTERM"
  cmp "$WORK/blob" "$DATA/objects/jp-east/clinic-a/main/data/${name:0:2}/$name" || fail "stored object differs"
  ks audit export --csv | grep -q "repo.write,clinic-a/main/data/$name,200" || fail "upload not recorded before exit"
}

case_enroll() {
  step "the admin script of the issue, as written, without a TTY"
  export XDG_CONFIG_HOME="$WORK/config"
  start_server
  ks tenant create clinic-a --quota 10GiB --region jp-east 2>/dev/null
  ks repo create clinic-a main 2>/dev/null
  CODE=$(ks device enroll-code clinic-a main --name reception-pc 2>/dev/null </dev/null)
  "$KURA" enroll "$URL" --code "$CODE" --ca-fingerprint "$FP" --profile a </dev/null >"$WORK/enroll.out" 2>&1 ||
    { cat "$WORK/enroll.out"; fail "kura enroll"; }
  grep -q "$CODE" "$WORK/enroll.out" && fail "the code was printed"
  [ "$(stat -c %a "$XDG_CONFIG_HOME/kura/profiles/a")" = 600 ] || fail "profile mode"
  make_corpus "$WORK/src" 4
  KURA_PASSWORD=pw-a "$KURA" --profile a init >/dev/null
  KURA_PASSWORD=pw-a "$KURA" --profile a backup "$WORK/src" >/dev/null
  step "the same identity for stock restic 0.14"
  if command -v restic >/dev/null; then
    (
      eval "$("$KURA" profile env a)"
      RESTIC_PASSWORD=pw-a restic --no-cache --cacert "$RESTIC_CACERT" --tls-client-cert "$RESTIC_TLS_CLIENT_CERT" snapshots >"$WORK/snap.out"
    ) || fail "restic with the profile's identity"
    grep -q "1 snapshots" "$WORK/snap.out" || fail "restic does not see the snapshot"
  fi
  step "a used code cannot enroll again; a wrong fingerprint stops before the code is sent"
  if "$KURA" enroll "$URL" --code "$CODE" --ca-fingerprint "$FP" --profile b </dev/null >"$WORK/again.out" 2>&1; then
    fail "a used code enrolled a second device"
  fi
  CODE2=$(ks device enroll-code clinic-a main --name second-pc 2>/dev/null)
  if "$KURA" enroll "$URL" --code "$CODE2" --ca-fingerprint "SHA256:$(printf '0%.0s' $(seq 64))" --profile c </dev/null >/dev/null 2>&1; then
    fail "enrolled against the wrong CA fingerprint"
  fi
  "$KURA" enroll "$URL" --code "$CODE2" --ca-fingerprint "$FP" --profile c </dev/null >/dev/null 2>&1 ||
    fail "the code was spent by the refused attempt"
  step "renewal replaces the certificate; the old one stops working"
  old_serial=$("$KURA" profile show a --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["serial"])')
  cp "$XDG_CONFIG_HOME/kura/profiles/a.d/client.pem" "$WORK/old-client.pem"
  "$KURA" enroll --renew --profile a >/dev/null 2>&1 || fail "renew"
  new_serial=$("$KURA" profile show a --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["serial"])')
  [ "$old_serial" != "$new_serial" ] || fail "renewal kept the serial"
  KURA_PASSWORD=pw-a "$KURA" --profile a snapshots >/dev/null || fail "renewed certificate refused"
  if KURA_PASSWORD=pw-a "$KURA" --profile a --tls-client-cert "$WORK/old-client.pem" snapshots >/dev/null 2>&1; then
    fail "the replaced certificate still works"
  fi
  step "revocation: the next request is refused"
  ks device revoke clinic-a reception-pc 2>/dev/null
  if KURA_PASSWORD=pw-a "$KURA" --profile a snapshots >"$WORK/revoked.out" 2>&1; then fail "revoked device still reads"; fi
  grep -qi "revoked\|401\|unauthorized" "$WORK/revoked.out" || { cat "$WORK/revoked.out"; fail "revocation message"; }
}

case_api() {
  start_server
  local admin="$DATA/admin/admin.pem"
  api() {
    local method=$1 path=$2 body=${3:-}
    curl -sS --cacert "$CA" --cert "$admin" -X "$method" -H 'Content-Type: application/json' \
      ${body:+--data-binary "$body"} -o "$WORK/api.out" -w '%{http_code}' "$URL/api/v1$path"
  }
  step "the admin JSON API does what the CLI does"
  [ "$(api POST /tenants '{"name":"clinic-c","quota":"5GiB","region":"jp-east","display_name":"みなと薬局"}')" = 200 ] ||
    fail "create tenant: $(cat "$WORK/api.out")"
  [ "$(api POST /tenants '{"name":"clinic-c","region":"jp-east"}')" = 409 ] || fail "duplicate tenant"
  [ "$(api POST /tenants '{"name":"Bad Name","region":"jp-east"}')" = 400 ] || fail "bad tenant name"
  [ "$(api POST /tenants '{"name":"clinic-d","region":"us-east"}')" = 400 ] || fail "unknown region"
  [ "$(api POST /tenants 'not json')" = 400 ] || fail "garbage body"
  [ "$(api POST /tenants/clinic-c/repos '{"name":"main"}')" = 200 ] || fail "create repo"
  [ "$(api PUT /tenants/clinic-c/quota '{"quota":"20GiB"}')" = 200 ] || fail "set quota"
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); assert t["quota_bytes"]==20*2**30, t' "$WORK/api.out"
  [ "$(api POST /tenants/clinic-c/enroll-codes '{"repo":"main","device":"counter-pc"}')" = 200 ] || fail "enroll code"
  code=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$WORK/api.out")
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=x" \
    -keyout "$WORK/k.pem" -out "$WORK/r.csr" 2>/dev/null
  python3 -c 'import json,sys; print(json.dumps({"code":sys.argv[1],"csr":open(sys.argv[2]).read()}))' \
    "$code" "$WORK/r.csr" > "$WORK/e.json"
  [ "$(curl -sS --cacert "$CA" --data-binary @"$WORK/e.json" -o /dev/null -w '%{http_code}' "$URL/enroll")" = 200 ] ||
    fail "enroll with an API-made code"
  [ "$(api GET /tenants/clinic-c/devices)" = 200 ] || fail "list devices"
  grep -q '"name":"counter-pc"' "$WORK/api.out" || fail "device not listed"
  step "the admin API renews a device and signs a CSR made without kura"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=x" \
    -keyout "$WORK/k2.pem" -out "$WORK/r2.csr" 2>/dev/null
  csr_json() { python3 -c 'import json,sys; d=json.loads(sys.argv[2]); d["csr"]=open(sys.argv[1]).read(); print(json.dumps(d))' "$@"; }
  [ "$(api POST /tenants/clinic-c/devices/counter-pc/renew "$(csr_json "$WORK/r2.csr" '{}')")" = 200 ] ||
    fail "renew by API: $(cat "$WORK/api.out")"
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert "BEGIN CERTIFICATE" in e["certificate"] and e["device"]=="counter-pc", e' "$WORK/api.out"
  [ "$(api POST /tenants/clinic-c/devices/nobody/renew "$(csr_json "$WORK/r2.csr" '{}')")" = 404 ] || fail "renew of an unknown device"
  [ "$(api POST /tenants/clinic-c/devices/counter-pc/renew '{"csr":"not a csr"}')" = 400 ] || fail "renew with garbage"
  [ "$(api POST /tenants/clinic-c/sign-csr "$(csr_json "$WORK/r2.csr" '{"repo":"main","device":"win-pc"}')")" = 200 ] ||
    fail "sign-csr by API: $(cat "$WORK/api.out")"
  [ "$(api POST /tenants/clinic-c/sign-csr "$(csr_json "$WORK/r2.csr" '{"repo":"main","device":"win-pc2","maintenance":"yes"}')")" = 400 ] ||
    fail "sign-csr with a non-boolean maintenance"
  [ "$(api POST /tenants/clinic-c/enroll-codes '{"repo":"main","device":"x-pc","maintenance":1}')" = 400 ] ||
    fail "enroll code with a non-boolean maintenance"
  [ "$(api POST /tenants/clinic-c/devices/counter-pc/revoke)" = 200 ] || fail "revoke"
  [ "$(api GET /tenants)" = 200 ] || fail "list tenants"
  grep -q "みなと薬局" "$WORK/api.out" || fail "display name"
  [ "$(api GET '/audit?tenant=clinic-c&limit=5')" = 200 ] || fail "audit"
  [ "$(api GET /audit.csv)" = 200 ] || fail "audit csv"
  head -1 "$WORK/api.out" | grep -q "^id,time,tenant,actor" || fail "csv header"
  grep -q "admin:admin" "$WORK/api.out" || fail "admin actions not recorded"
  [ "$(api GET /nosuch)" = 404 ] || fail "unknown endpoint"
  step "the admin API refuses devices and strangers"
  enroll_openssl clinic-c main other-pc
  [ "$(curl -sS --cacert "$CA" --cert "$WORK/dev-other-pc.pem" -o /dev/null -w '%{http_code}' "$URL/api/v1/tenants")" = 403 ] ||
    fail "device on the admin API"
  [ "$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/api/v1/tenants")" = 401 ] ||
    fail "anonymous on the admin API"
  step "local CLI: JSON output, clear errors and exit codes"
  ks --json tenant list | python3 -c 'import json,sys; assert any(t["name"]=="clinic-c" for t in json.load(sys.stdin))'
  set +e
  ks tenant show nosuch 2>"$WORK/err"; rc=$?
  set -e
  [ $rc = 3 ] || fail "missing tenant exit code $rc"
  grep -q 'no tenant named "nosuch"' "$WORK/err" || fail "missing tenant message"
  KURA_LANG=ja ks tenant create clinic-e --region jp-east 2>"$WORK/ja.out"
  grep -q "作成しました" "$WORK/ja.out" || fail "Japanese message"
  if "$KURA_SERVER" tenant list 2>"$WORK/nodata.out"; then fail "tenant list without a data folder"; fi
  grep -q -- "--data" "$WORK/nodata.out" || fail "no data folder message"
}

"case_$case_name"
