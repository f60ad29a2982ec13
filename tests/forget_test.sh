#!/bin/sh
# kura forget / prune against restic 0.14 (the oracle). Fast (< 20 s).
#   KURA=/path/to/kura tests/forget_test.sh
# 1. restic writes snapshots with chosen times (recorded at +09:00); kura and restic must keep
#    and remove the same snapshots, for the same reasons, for a range of policies (--json).
# 2. kura forget --prune on a repository restic wrote; restic check --read-data must pass,
#    restores must match, and restic must find nothing left to prune.
set -eu
KURA=${KURA:-kura}
command -v restic >/dev/null || { echo "SKIP: restic not installed"; exit 77; }
export RESTIC_PASSWORD=pw KURA_PASSWORD=pw TZ=UTC KURA_LANG=en
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export KURA_CACHE_DIR="$T/kura-cache"  # kura's local cache stays inside the test
cd "$T"

restic init -r pol -q
mkdir p && echo a > p/a
i=0
for t in "2019-11-24 03:00:00" "2019-11-24 16:00:00" "2019-12-01 18:00:00" "2019-12-01 19:00:00" \
         "2019-12-02 00:00:00" "2019-12-31 23:30:00" "2020-01-01 00:30:00" "2020-01-05 12:00:00" \
         "2020-01-06 12:00:00" "2020-02-29 10:00:00" "2020-03-31 10:00:00" "2020-04-30 10:00:00" \
         "2020-05-01 01:00:00" "2020-05-01 02:00:00" "2020-05-02 09:00:00" "2020-05-03 09:00:00"; do
  i=$((i + 1))
  host=h1; [ $((i % 5)) = 0 ] && host=h2
  tag=""; [ $((i % 4)) = 0 ] && tag="--tag special"
  TZ=Asia/Tokyo restic -r pol --no-cache backup p -q --time "$t" --host "$host" $tag
done

cat > cmp.py <<'EOF'
import json, sys
def norm(path):
    text = open(path).read().strip()
    groups = json.loads(text) if text else []
    out = [(g["host"], g["paths"], g["tags"], [s["id"] for s in g["keep"] or []],
            [s["id"] for s in g["remove"] or []],
            [(r["snapshot"], r["matches"], r["counters"]) for r in g["reasons"] or []])
           for g in groups]
    return sorted(out, key=lambda x: json.dumps(x[:3]))
sys.exit(0 if norm(sys.argv[1]) == norm(sys.argv[2]) else 1)
EOF

fail=0
while read -r args; do
  restic -r pol --no-cache forget --dry-run --json $args > r.json
  "$KURA" -r pol forget --dry-run --json $args > k.json
  if python3 cmp.py r.json k.json; then echo "ok   forget $args"; else echo "FAIL forget $args"; fail=1; fi
done <<'EOF'
--keep-last 3
--keep-hourly 4
--keep-daily 5
--keep-weekly 3
--keep-monthly 4
--keep-yearly 2
--keep-daily 2 --keep-weekly 2 --keep-monthly 2 --keep-yearly 1
--keep-within 1m
--keep-within 2m3d12h
--keep-within-daily 10d --keep-within-weekly 2m
--keep-within-monthly 1y --keep-within-hourly 3d
--keep-tag special
--keep-tag special,x --keep-tag h --keep-last 1
--keep-last 2 -g host
--keep-last 2 -g tags
--keep-last 2 -g host,tags
--keep-daily 2 --host h2
EOF
restic -r pol --no-cache forget --dry-run --keep-monthly 2 --keep-tag special,x --keep-within-daily 1m --host h1 > r.txt
"$KURA" -r pol forget --dry-run --keep-monthly 2 --keep-tag special,x --keep-within-daily 1m --host h1 > k.txt
if cmp -s r.txt k.txt; then echo "ok   forget text output"; else echo "FAIL forget text output"; diff r.txt k.txt || true; fail=1; fi

# Data that changes between snapshots, so that packs end up fully and partly unused.
mkdir src
python3 - <<'EOF'
import os, random
r = random.Random(1)
for i in range(20):
    open("src/f%d" % i, "wb").write(r.randbytes(r.choice([3000, 40000, 700000, 1500000])))
EOF
restic init -r data -q
for round in 1 2 3; do
  python3 -c "
import random
r = random.Random($round)
for i in range($round * 4, $round * 4 + 6):
    open('src/f%d' % i, 'wb').write(r.randbytes(r.choice([3000, 40000, 900000])))
"
  restic -r data --no-cache backup src -q --pack-size 4
done
"$KURA" -r data forget -q --keep-last 1 --prune --max-unused 0
restic -r data --no-cache check --read-data -q >/dev/null 2>&1 && echo "ok   restic check --read-data after kura forget --prune" || { echo "FAIL restic check"; fail=1; }
restic -r data --no-cache restore latest --target out -q
diff -r out/src src >/dev/null && echo "ok   restore identical" || { echo "FAIL restore differs"; fail=1; }
left=$(restic -r data --no-cache prune --dry-run 2>&1 | grep -E "^total prune:" | tr -s ' ')
[ "$left" = "total prune: 0 blobs / 0 B" ] && echo "ok   nothing left to prune" || { echo "FAIL left: $left"; fail=1; }
exit $fail
