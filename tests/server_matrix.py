#!/usr/bin/env python3
"""kura-server refusal matrix: every kind of hostile or broken request against the device API,
each refused with the right status, nothing written, an access record kept, and the server
still serving. Run by server_test.sh matrix (devices a-pc, a-pc2, a-revoked, a-maint of
clinic-a/main and b-pc of clinic-b/main are enrolled; max_object_bytes = 2 MiB;
header_timeout_sec = 2)."""
import argparse, csv, hashlib, http.client, io, json, os, socket, ssl, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--url"); ap.add_argument("--work"); ap.add_argument("--data"); ap.add_argument("--server")
args = ap.parse_args()
host, port = args.url.removeprefix("https://").split(":")
port = int(port)
CA = os.path.join(args.data, "ca", "ca.pem")
failures = []


def ctx(device=None, certfile=None):
    c = ssl.create_default_context(cafile=CA)
    if device:
        c.load_cert_chain(os.path.join(args.work, f"dev-{device}.pem"))
    if certfile:
        c.load_cert_chain(certfile)
    return c


def conn(device=None, certfile=None):
    return http.client.HTTPSConnection(host, port, context=ctx(device, certfile), timeout=20)


def req(c, method, path, body=None, headers=None):
    h = {"Accept": "application/vnd.x.restic.rest.v2"}
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, data


def check(name, got, want):
    ok = got in want if isinstance(want, set) else got == want
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {got}" + ("" if ok else f" (want {want})"))
    if not ok:
        failures.append(name)


def once(device, method, path, body=None, headers=None, certfile=None):
    c = conn(device, certfile)
    try:
        return req(c, method, path, body, headers)
    finally:
        c.close()


def blob(n, seed):
    data = hashlib.sha256(seed.encode()).digest() * (n // 32 + 1)
    data = data[:n]
    return data, hashlib.sha256(data).hexdigest()


def listing(device, typ):
    st, data = once(device, "GET", f"/clinic-a/main/{typ}/")
    assert st == 200, (st, data)
    return {e["name"]: e["size"] for e in json.loads(data)}


def server(*a):
    return subprocess.run([args.server, "--data", args.data, *a], capture_output=True, text=True)


A = "/clinic-a/main"
B = "/clinic-b/main"
data1, id1 = blob(1000, "one")

# --- who may reach what -------------------------------------------------------------------
check("no certificate → 401", once(None, "GET", A + "/config")[0], 401)
check("no certificate, list → 401", once(None, "GET", A + "/data/")[0], 401)
check("no certificate, upload → 401", once(None, "POST", A + f"/data/{id1}", data1)[0], 401)
check("tenant A's device on tenant B → 403", once("a-pc", "GET", B + "/config")[0], 403)
check("tenant A's device lists tenant B → 403", once("a-pc", "GET", B + "/keys/")[0], 403)
check("tenant A's device uploads to tenant B → 403", once("a-pc", "POST", B + f"/data/{id1}", data1)[0], 403)
check("tenant B's device on tenant A → 403", once("b-pc", "GET", A + "/snapshots/")[0], 403)
check("a missing tenant looks the same as another's → 403", once("a-pc", "GET", "/clinic-zz/main/config")[0], 403)
check("another repository of the same tenant → 403", once("a-pc", "GET", "/clinic-a/other/config")[0], 403)
check("device on the admin API → 403", once("a-pc", "GET", "/api/v1/tenants")[0], 403)
check("anonymous on the admin API → 401", once(None, "GET", "/api/v1/tenants")[0], 401)
check("admin certificate on the admin API → 200",
      once(None, "GET", "/api/v1/tenants", certfile=os.path.join(args.data, "admin", "admin.pem"))[0], 200)
check("admin certificate on a repository → 403",
      once(None, "GET", A + "/config", certfile=os.path.join(args.data, "admin", "admin.pem"))[0], 403)

# A certificate from another CA, with the same subject.
other = os.path.join(args.work, "other-ca")
os.makedirs(other, exist_ok=True)
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=a-pc/O=clinic-a/OU=main", "-days", "30", "-keyout", f"{other}/k.pem",
                "-out", f"{other}/c.pem"], check=True, capture_output=True)
with open(f"{other}/both.pem", "w") as f:
    f.write(open(f"{other}/c.pem").read() + open(f"{other}/k.pem").read())
check("certificate from another CA → 401", once(None, "GET", A + "/config", certfile=f"{other}/both.pem")[0], 401)

# An expired certificate issued by the real CA (openssl ca with explicit dates).
cadir = os.path.join(args.work, "expired")
os.makedirs(cadir, exist_ok=True)
open(f"{cadir}/index.txt", "w").close()
with open(f"{cadir}/serial", "w") as f:
    f.write("1000\n")
with open(f"{cadir}/ca.cnf", "w") as f:
    f.write(f"""[ca]\ndefault_ca = d\n[d]\ndatabase = {cadir}/index.txt\nserial = {cadir}/serial\n
new_certs_dir = {cadir}\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n""")
subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=old", "-keyout", f"{cadir}/k.pem", "-out", f"{cadir}/r.csr"], check=True, capture_output=True)
subprocess.run(["openssl", "ca", "-batch", "-config", f"{cadir}/ca.cnf", "-cert", CA,
                "-keyfile", os.path.join(args.data, "ca", "ca.key"), "-in", f"{cadir}/r.csr",
                "-out", f"{cadir}/c.pem", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
                "-notext"], check=True, capture_output=True)
with open(f"{cadir}/both.pem", "w") as f:
    f.write(open(f"{cadir}/c.pem").read() + open(f"{cadir}/k.pem").read())
check("expired certificate → 401", once(None, "GET", A + "/config", certfile=f"{cadir}/both.pem")[0], 401)

# Revocation bites on a kept-alive connection.
c = conn("a-revoked")
check("before revocation → 200", req(c, "GET", A + "/keys/")[0], 200)
r = server("device", "revoke", "clinic-a", "a-revoked")
check("revoke command", r.returncode, 0)
check("same connection after revocation → 401", req(c, "GET", A + "/keys/")[0], 401)
c.close()

# --- path games ---------------------------------------------------------------------------
for path in [A + "/../clinic-b/main/config", "/clinic-a/main/data/../../clinic-b/main/config",
             "/clinic-a%2fmain/config", "/clinic-a/main/data%2f" + id1, "/clinic-a/main/data/" + id1.upper(),
             "/clinic-a/main/data/" + id1[:63], "/clinic-a/main/data/" + id1 + "0",
             "/clinic-a/main/data/" + "g" * 64, "/clinic-a/main/data/" + "a" * 5000,
             "/clinic-a/main/nosuch/" + id1, "/clinic-a/main/./config", "/clinic-a//main/config",
             "/Clinic-A/main/config", "/clinic-a/main/config/", "//etc/passwd", "/clinic-a/main/data/%2e%2e"]:
    st = once("a-pc", "GET", path)[0]
    check(f"path {path[:70]} → 404", st, {404, 400, 414, 431})

# --- uploads --------------------------------------------------------------------------------
check("upload → 200", once("a-pc", "POST", A + f"/data/{id1}", data1)[0], 200)
check("identical re-upload → 200", once("a-pc", "POST", A + f"/data/{id1}", data1)[0], 200)
check("data under a name that is not its hash → 400", once("a-pc", "POST", A + f"/data/{id1}", data1[:-1] + b"x")[0], 400)
check("config upload → 200", once("a-pc", "POST", A + "/config", b"config-1")[0], 200)
check("identical config again → 200", once("a-pc", "POST", A + "/config", b"config-1")[0], 200)
check("a different config over the existing one → 403", once("a-pc", "POST", A + "/config", b"config-2")[0], 403)
check("…the first config stays", once("a-pc", "GET", A + "/config"), (200, b"config-1"))
data2, id2 = blob(2000, "two")
check("body whose hash is not its name → 400", once("a-pc", "POST", A + f"/data/{id2}", data2[:-1] + b"!")[0], 400)
check("…and nothing was stored", id2 in listing("a-pc", "data"), False)
big = os.urandom(2 * 1024 * 1024 + 1)
bid = hashlib.sha256(big).hexdigest()


def raw_status(device, head, body=b""):
    """Sends raw bytes; returns the status code of the first response line (or "closed")."""
    s = ctx(device).wrap_socket(socket.create_connection((host, port)), server_hostname=host)
    try:
        s.sendall(head + body)
        resp = s.recv(4096).decode(errors="replace")
        return resp.split(" ")[1] if resp.startswith("HTTP/1.1 ") else "closed"
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return "closed"
    finally:
        s.close()


# The server answers from the headers alone, before a byte of the body.
check("oversized body (Content-Length above the limit) → 413",
      raw_status("a-pc", f"POST {A}/data/{bid} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(big)}\r\n\r\n".encode()), "413")
check("…and nothing was stored", bid in listing("a-pc", "data"), False)
check("a 100 KB header block → 431",
      raw_status("a-pc", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"), {"431", "closed"})
check("garbage instead of HTTP → 400", raw_status("a-pc", b"\x16\x03\x01 hello there\r\n\r\n"), {"400", "closed"})

# No Content-Length (chunked).
def chunked():
    yield data2
c = conn("a-pc")
c.request("POST", A + f"/data/{id2}", body=chunked(), encode_chunked=True)
check("chunked upload without Content-Length → 411", c.getresponse().status, 411)
c.close()

# Truncated body: Content-Length says 2000, 1000 bytes arrive, then the client goes away.
s = ctx("a-pc").wrap_socket(socket.create_connection((host, port)), server_hostname=host)
s.sendall(f"POST {A}/data/{id2} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n".encode() + data2[:1000])
s.close()
time.sleep(0.5)
check("truncated upload left nothing visible", id2 in listing("a-pc", "data"), False)
tmp = [f for _, _, fs in os.walk(os.path.join(args.data, "objects")) for f in fs if id2 in f and "-tmp-" not in f]
check("…nor on disk", tmp, [])

# Wrong-length body: more bytes than Content-Length (the rest is the next "request").
check("body longer than Content-Length → 400 (hash of the first part)",
      raw_status("a-pc", f"POST {A}/data/{id2} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode(), data2), "400")

# --- deletion: append-only ---------------------------------------------------------------------
check("backup device deletes data → 403", once("a-pc", "DELETE", A + f"/data/{id1}")[0], 403)
check("…data still there", id1 in listing("a-pc", "data"), True)
check("backup device deletes config → 403", once("a-pc", "DELETE", A + "/config")[0], 403)
lock, lid = blob(300, "lock")
check("lock upload → 200", once("a-pc", "POST", A + f"/locks/{lid}", lock)[0], 200)
check("another device deletes that lock → 403", once("a-pc2", "DELETE", A + f"/locks/{lid}")[0], 403)
check("the owner deletes its lock → 200", once("a-pc", "DELETE", A + f"/locks/{lid}")[0], 200)
check("deleting a missing lock → 200", once("a-pc", "DELETE", A + f"/locks/{lid}")[0], 200)
check("maintenance identity deletes data → 200", once("a-maint", "DELETE", A + f"/data/{id1}")[0], 200)
check("…gone", id1 in listing("a-pc", "data"), False)
check("maintenance identity deletes config → 403", once("a-maint", "DELETE", A + "/config")[0], 403)

# --- restic protocol details -----------------------------------------------------------------
check("upload again → 200", once("a-pc", "POST", A + f"/data/{id1}", data1)[0], 200)
st, body = once("a-pc", "GET", A + f"/data/{id1}", headers={"Range": "bytes=10-19"})
check("Range → 206", st, 206)
check("Range → 10 bytes", body, data1[10:20])
check("Range past the end → 416", once("a-pc", "GET", A + f"/data/{id1}", headers={"Range": "bytes=5000-"})[0], 416)
c = conn("a-pc")
c.request("HEAD", A + f"/data/{id1}")
r = c.getresponse()
r.read()
check("HEAD carries Content-Length", r.getheader("Content-Length"), str(len(data1)))
c.close()
check("HEAD of a missing file → 404", once("a-pc", "HEAD", A + f"/data/{id2}")[0], 404)
c = conn("a-pc")
c.request("GET", A + "/data/", headers={})
r = c.getresponse()
v1 = json.loads(r.read())
check("v1 listing without the v2 Accept", (r.getheader("Content-Type"), v1), ("application/vnd.x.restic.rest.v1", [id1]))
c.close()
check("missing type folder lists as [] → 200", once("a-pc", "GET", A + "/index/"), (200, b"[]"))

# --- slow clients -----------------------------------------------------------------------------
s = ctx("a-pc").wrap_socket(socket.create_connection((host, port)), server_hostname=host)
s.sendall(b"GET /clinic-a/main/config HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
s.settimeout(10)
t0 = time.time()
try:
    closed = s.recv(100) == b""
except (ConnectionResetError, ssl.SSLError):
    closed = True
except socket.timeout:
    closed = False
check("slowloris: connection closed after the header timeout", closed and time.time() - t0 < 8, True)
s.close()
check("server still serving", once(None, "GET", "/healthz")[0], 200)

# --- every refusal is recorded -------------------------------------------------------------------
time.sleep(0.5)
out = server("audit", "export", "--csv").stdout
rows = list(csv.DictReader(io.StringIO(out)))
denied = [r for r in rows if r["status"] in ("401", "403")]
check("refusals recorded (≥ 15)", len(denied) >= 15, True)
check("cross-tenant attempt recorded with the actor's serial",
      any(r["object"].startswith("clinic-b/main") and r["actor"].startswith("device:") and r["status"] == "403" for r in rows), True)
check("revoked device's attempt recorded",
      any(r["status"] == "401" and "revoked" in r["result"] for r in rows), True)
check("failed handshake or anonymous attempt recorded", any(r["actor"] in ("anonymous",) and r["status"] == "401" for r in rows), True)

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
