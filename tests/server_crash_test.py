#!/usr/bin/env python3
"""kura-server crash safety under load (issue 13): several uploaders, each with its own mTLS
connection, POST random objects (1 KB – 4 MB, named by their SHA-256) while the server is
killed with SIGKILL at many different moments and restarted. After each restart: every
acknowledged object is listed with its size and reads back with its SHA-256, nothing listed
fails its hash, no temp file is visible through the API. At the end: every object is read
back, usage equals the bytes on disk, and every acknowledged upload has its access record.

Run by server_load_test.sh crash: the server is initialised and stopped, device up-pc of
clinic-a/main is enrolled ($WORK/dev-up-pc.pem); this script starts and kills the server."""
import argparse, csv, hashlib, http.client, io, json, math, os, random, re, signal, socket
import ssl, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--server", required=True)
ap.add_argument("--rounds", type=int, default=24)
ap.add_argument("--uploaders", type=int, default=4)
ap.add_argument("--max-size", type=int, default=4 * 1024 * 1024, help="largest object, bytes")
ap.add_argument("--seed", type=int, default=int(os.environ.get("KURA_CRASH_SEED", "13")))
args = ap.parse_args()

HOST = "127.0.0.1"
CA = os.path.join(args.data, "ca", "ca.pem")
CERT = os.path.join(args.work, "dev-up-pc.pem")
REPO = "/clinic-a/main"
V2 = {"Accept": "application/vnd.x.restic.rest.v2"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
rng = random.Random(args.seed)
failures = []


def fail(msg):
    print("FAIL " + msg, flush=True)
    failures.append(msg)


def conn():
    c = ssl.create_default_context(cafile=CA)
    c.load_cert_chain(CERT)
    return http.client.HTTPSConnection(HOST, args.port, context=c, timeout=30)


def get(c, path):
    c.request("GET", path, headers=V2)
    r = c.getresponse()
    return r.status, r.read()


# --- the server process ----------------------------------------------------------------------
server_log = open(os.path.join(args.work, "server.log"), "ab")
proc = None


def start_server():
    global proc
    proc = subprocess.Popen([args.server, "run", "--config", os.path.join(args.data, "kura-server.toml")],
                            stdout=server_log, stderr=server_log)
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"kura-server exited with {proc.returncode} at start (see server.log)")
        try:
            socket.create_connection((HOST, args.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("kura-server did not listen within 20 s")


def kill_server():
    proc.send_signal(signal.SIGKILL)
    proc.wait()


# --- uploaders --------------------------------------------------------------------------------
lock = threading.Lock()
acked = {}        # name -> size, only after a 200
attempted = {}    # name -> size, before the request is sent
stats = {"acked": 0, "errors": 0, "bytes": 0}
stop = threading.Event()
go = threading.Event()  # cleared while the main thread verifies


def random_object(r):
    # Log-uniform 1 KB – 4 MB: many small objects, some large ones that are still streaming
    # when the kill comes.
    n = int(math.exp(r.uniform(math.log(1024), math.log(args.max_size))))
    data = r.randbytes(n)
    return data, hashlib.sha256(data).hexdigest()


def uploader(idx):
    r = random.Random(args.seed * 1000 + idx)
    c = None
    while not stop.is_set():
        go.wait()
        data, name = random_object(r)
        with lock:
            attempted[name] = len(data)
        try:
            if c is None:
                c = conn()
            c.request("POST", f"{REPO}/data/{name}", body=data)
            resp = c.getresponse()
            resp.read()
            if resp.status == 200:
                with lock:
                    acked[name] = len(data)
                    stats["acked"] += 1
                    stats["bytes"] += len(data)
            else:
                with lock:
                    stats["errors"] += 1
                if resp.status != 503:
                    fail(f"upload {name[:12]}: HTTP {resp.status}")
        except (OSError, http.client.HTTPException):
            # The server is being killed or is restarting: this object's fate is unknown.
            with lock:
                stats["errors"] += 1
            if c is not None:
                c.close()
            c = None
            time.sleep(0.02)
    if c is not None:
        c.close()


# --- verification -----------------------------------------------------------------------------
verified = set()  # names whose content was read back and hashed after some restart


def listing(c):
    st, body = get(c, f"{REPO}/data/")
    if st != 200:
        fail(f"listing data/: HTTP {st}")
        return {}
    entries = json.loads(body)
    return {e["name"]: e["size"] for e in entries}


def read_back(c, name, size):
    st, body = get(c, f"{REPO}/data/{name}")
    if st != 200:
        fail(f"read {name[:12]}: HTTP {st}")
    elif len(body) != size or hashlib.sha256(body).hexdigest() != name:
        fail(f"read {name[:12]}: {len(body)} bytes, hash {hashlib.sha256(body).hexdigest()[:12]}")


def verify(round_no, acked_before_kill, full):
    c = conn()
    try:
        listed = listing(c)
        for name in listed:
            if not HEX64.match(name):
                fail(f"round {round_no}: listed a name that is not an object id: {name!r}")
            elif name not in attempted:
                fail(f"round {round_no}: listed an object nobody uploaded: {name[:12]}")
        for name, size in acked_before_kill.items():
            if name not in listed:
                fail(f"round {round_no}: acknowledged object {name[:12]} ({size} B) is not listed")
            elif listed[name] != size:
                fail(f"round {round_no}: {name[:12]} listed with {listed[name]} B, uploaded {size} B")
        # Everything listed and not yet read back is read back now (acknowledged or not: an
        # upload cut by the kill may have committed without its 200); older ones by sample,
        # and all of them in the last round.
        fresh = [n for n in listed if HEX64.match(n) and n not in verified]
        old = [n for n in listed if n in verified]
        sample = old if full else rng.sample(old, min(24, len(old)))
        for name in fresh + sample:
            read_back(c, name, listed[name])
            verified.add(name)
        return listed, len(fresh) + len(sample)
    finally:
        c.close()


def temp_files_on_disk():
    return [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(args.data, "objects"))
            for f in fs if "-tmp-" in f]


# Kill moments: a spread from "right after the listener is up" to a few seconds of load, each
# different, in a shuffled order so kills also land during the previous round's recovery.
delays = [0.01 * (1.28 ** i) for i in range(args.rounds)]
delays = [d + rng.uniform(0, d / 4) for d in delays]
rng.shuffle(delays)

threads = [threading.Thread(target=uploader, args=(i,), daemon=True) for i in range(args.uploaders)]
start_server()
go.set()
for t in threads:
    t.start()
t0 = time.time()
upload_secs = 0.0
max_temp = 0
for i, delay in enumerate(delays):
    time.sleep(delay)
    kill_server()
    upload_secs += delay
    go.clear()
    with lock:
        snapshot = dict(acked)
    temps = len(temp_files_on_disk())
    max_temp = max(max_temp, temps)
    start_server()
    listed, read = verify(i, snapshot, full=(i == len(delays) - 1))
    uncommitted = sum(1 for n in listed if n not in snapshot)
    print(f"round {i:2}: killed after {delay:6.3f} s; {len(snapshot)} acknowledged, {len(listed)} listed "
          f"({uncommitted} not acknowledged before the kill), {read} read back, {temps} temp files left on disk", flush=True)
    go.set()
stop.set()
go.set()
for t in threads:
    t.join(timeout=60)
# A last clean state: the server is stopped gracefully so its access records are complete.
with lock:
    final_acked = dict(acked)
listed, _ = verify("final", final_acked, full=True)
proc.send_signal(signal.SIGTERM)
if proc.wait(timeout=60) != 0:
    fail(f"kura-server exited with {proc.returncode} on SIGTERM")

print(f"{stats['acked']} uploads acknowledged ({stats['bytes'] / 1e6:.1f} MB in {upload_secs:.1f} s of load), "
      f"{stats['errors']} cut by kills, {len(listed)} objects stored, at most {max_temp} temp files on disk "
      f"after a kill, {time.time() - t0:.0f} s in all", flush=True)

# --- usage: the tenant's count equals the bytes on disk ---------------------------------------
def ks(*a):
    r = subprocess.run([args.server, "--data", args.data, *a], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"kura-server {' '.join(a)}: {r.stderr.strip()}")
    return r.stdout


used = json.loads(ks("--json", "tenant", "show", "clinic-a"))[0]["used_bytes"]
ondisk = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in
             os.walk(os.path.join(args.data, "objects")) for f in fs if "-tmp-" not in f)
print(f"usage of clinic-a: {used} B recorded, {ondisk} B on disk", flush=True)
if used != ondisk:
    # The usual cause: an object committed (linked into place) but killed before its size was
    # added to the usage, so before its 200 too.
    unacked = {n: s for n, s in listed.items() if n not in final_acked}
    fail(f"usage {used} B != bytes on disk {ondisk} B after {len(delays)} kills (difference "
         f"{ondisk - used} B; the {len(unacked)} objects stored without a 200 hold "
         f"{sum(unacked.values())} B)")

# --- access records: every acknowledged upload is recorded ------------------------------------
rows = list(csv.DictReader(io.StringIO(ks("audit", "export", "--csv"))))
recorded = {row["object"].rsplit("/", 1)[-1] for row in rows
            if row.get("action") == "repo.write" and row.get("status") == "200"}
missing = sorted(n for n in final_acked if n not in recorded)
print(f"access records: {len(rows)} in all, {len(recorded)} successful uploads recorded, "
      f"{len(missing)} of {len(final_acked)} acknowledged uploads without a record", flush=True)
if missing:
    fail(f"{len(missing)} acknowledged uploads have no access record (the kill came before their "
         f"batch was written): {', '.join(n[:12] for n in missing[:8])}")

if failures:
    print(f"{len(failures)} failures", flush=True)
    sys.exit(1)
print("all crash checks passed", flush=True)
