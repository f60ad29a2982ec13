#!/usr/bin/env python3
"""The control panel's API over real HTTPS against a running kura-server, as a browser uses it:
the first provider admin (init's one-time password) signs in, is forced to change the password
and enroll TOTP (codes computed here, RFC 6238), signs out and in again with a code; the
refusals (CSRF, form posts, stage gating, lockout answering like a wrong password); the
security headers; the access records of each step. Run by panel_test.sh api."""
import argparse, http.client, json, os, re, ssl, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import kura_panel  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--url"); ap.add_argument("--data"); ap.add_argument("--server"); ap.add_argument("--init-log")
args = ap.parse_args()
host, port = args.url.removeprefix("https://").split(":")
CTX = ssl.create_default_context(cafile=os.path.join(args.data, "ca", "ca.pem"))
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(name)


def Browser():
    return kura_panel.Browser(args.url, os.path.join(args.data, "ca", "ca.pem"))


totp = kura_panel.totp

log = open(args.init_log, encoding="utf-8").read()
m = re.search(r"one-time password[^:]*: (\S+)", log)
check("init printed a one-time password", m is not None, log)
initial = m.group(1)
NEW = "Kura#Panel-Test-2026"

# --- Redirect, headers ------------------------------------------------------------------------
b = Browser()
st, _, h, _ = b.call("GET", "/")
check("/ redirects to the panel", st == 303 and h.get("location") == "/panel/", (st, h))
st, j, h, _ = b.api("GET", "/auth/session")
check("no session: 401 session.none", st == 401 and j == {"error": "session.none"}, (st, j))
for k, want in [("content-security-policy", "frame-ancestors 'none'"), ("strict-transport-security", "max-age="),
                ("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"),
                ("cache-control", "no-store"), ("x-frame-options", "DENY")]:
    check(f"header {k}", want in h.get(k, ""), h.get(k))
check("CSP has no unsafe-inline", "unsafe-inline" not in h.get("content-security-policy", "x"))

# --- The page and its assets (embedded), revalidated by ETag -----------------------------------
st, _, h, _ = b.call("GET", "/panel/")
check("the panel's page", st == 200 and h.get("content-type", "").startswith("text/html") and
      "frame-ancestors 'none'" in h.get("content-security-policy", "") and h.get("cache-control") == "no-store", (st, h))
st, _, h, _ = b.call("GET", "/panel/assets/app.js")
check("a module", st == 200 and h.get("content-type", "").startswith("text/javascript") and "etag" in h, (st, h))
etag = h.get("etag", "")
c = http.client.HTTPSConnection(b.host, b.port, context=b.ctx, timeout=30)
c.request("GET", "/panel/assets/app.js", headers={"If-None-Match": etag})
r = c.getresponse(); r.read(); c.close()
check("an unchanged asset: 304", r.status == 304, r.status)
st, _, _, _ = b.call("HEAD", "/panel/assets/i18n/ja.json")
check("HEAD of a catalog", st == 200, st)
st, _, _, _ = b.call("GET", "/panel/assets/nosuch.js")
check("an unknown asset: 404", st == 404, st)
st, _, _, _ = b.call("GET", "/healthz")
check("the server is still up after the pages", st == 200, st)

# --- A form post cannot sign in (CSRF), garbage is refused ------------------------------------
st, j, _, _ = b.api("POST", "/auth/password", {"login": "admin", "password": initial},
                    content_type="application/x-www-form-urlencoded")
check("a form post is refused", st == 403 and j["error"] == "csrf", (st, j))
st, j, _, _ = b.api("POST", "/auth/password", raw="{not json")
check("malformed JSON: 400", st == 400, (st, j))
# An oversized body is refused from its Content-Length, before it is sent.
c = http.client.HTTPSConnection(host, int(port), context=CTX, timeout=30)
c.putrequest("POST", "/panel/api/auth/password")
c.putheader("Content-Type", "application/json")
c.putheader("Content-Length", str(2 << 20))
c.endheaders()
st = c.getresponse().status
c.close()
check("an oversized body: 413", st == 413, st)
st, _, _, _ = b.call("GET", "/panel/api/../../metrics")
check("dot segments: not found", st in (400, 404), st)

# --- First sign-in: password change, then TOTP enrollment ------------------------------------
st, j, h, _ = b.api("POST", "/auth/password", {"login": "admin", "password": initial})
check("the one-time password signs in", st == 200 and j["stage"] == "password_change", (st, j))
sc = b.last_set_cookie
check("cookie is Secure, HttpOnly, SameSite=Strict, Path=/panel",
      all(x in sc for x in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/panel")), sc)
st, j, _, _ = b.api("GET", "/me/factors")
check("before the change nothing else is reachable", st in (403, 404), (st, j))
st, j, _, _ = b.api("POST", "/me/totp/begin")
check("enrollment waits for the password change", st == 403 and j["error"] == "stage.password_change", (st, j))
st, j, _, _ = b.api("POST", "/me/password", {"old": initial, "new": "password1"})
check("a weak password is refused with the policy's reasons",
      st == 400 and j["error"] == "password.policy" and "pw.common" in j["problems"], (st, j))
st, j, _, _ = b.api("POST", "/me/password", {"old": initial, "new": NEW}, csrf=False)
check("no CSRF token: refused", st == 403 and j["error"] == "csrf", (st, j))
st, j, _, _ = b.api("POST", "/me/password", {"old": initial, "new": NEW})
check("the new password is taken", st == 200 and j["stage"] == "enrollment", (st, j))
st, j, _, _ = b.api("POST", "/me/totp/begin")
check("TOTP enrollment shows a QR code", st == 200 and j["qr_svg"].startswith("<svg") and
      j["otpauth_uri"].startswith("otpauth://totp/"), (st, j))
secret = j["secret"]
st, j, _, _ = b.api("POST", "/me/totp/confirm", {"secret": secret, "code": totp(secret)})
check("TOTP confirmed: 10 recovery codes, signed in", st == 200 and len(j["recovery_codes"]) == 10 and
      j["session"]["stage"] == "ready", (st, j))
recovery = j["recovery_codes"]
check("a provider admin may manage tenants", "panel.tenant.manage" in j["session"]["actions"], j["session"]["actions"])
st, j, _, _ = b.api("POST", "/auth/sign-out")
check("sign out", st == 200 and b.cookie.endswith("="), (st, b.cookie))
st, j, _, _ = b.api("GET", "/auth/session")
check("signed out: no session", st == 401, (st, j))

# --- Every sign-in needs the second factor; a code works once --------------------------------
b = Browser()
st, j, _, _ = b.api("POST", "/auth/password", {"login": "admin", "password": NEW})
check("password step: second factor due", st == 200 and j["stage"] == "second_factor", (st, j))
st, j, _, _ = b.api("GET", "/tenants")
check("second factor due: nothing else", st in (403, 404), (st, j))
time.sleep(0.1)
code = totp(secret, step_offset=1)  # the next step: the enrollment used this one
st, j, _, _ = b.api("POST", "/auth/second-factor", {"code": code})
check("TOTP code signs in", st == 200 and j["stage"] == "ready", (st, j))
b2 = Browser()
b2.api("POST", "/auth/password", {"login": "admin", "password": NEW})
st, j, _, _ = b2.api("POST", "/auth/second-factor", {"code": code})
check("the same code again: refused (replay)", st == 401 and j["error"] == "signin.code_wrong", (st, j))
st, j, _, _ = b2.api("POST", "/auth/second-factor", {"code": recovery[0]})
check("a recovery code signs in", st == 200 and j["stage"] == "ready", (st, j))
st, j, _, _ = b2.api("POST", "/auth/sign-out-everywhere")
check("sign out everywhere ends both sessions", st == 200 and j["ended"] == 2, (st, j))
st, _, _, _ = b.api("GET", "/auth/session")
check("the other browser is signed out too", st == 401, st)

# --- No enumeration: an unknown ID and a wrong password take the same time ---------------------
# Users made through the API (a tenant first); each gets one wrong password, interleaved with
# one attempt on an unknown ID, so that both see their first failure's delay.
b2 = Browser()
st, j, _, _ = b2.api("POST", "/auth/password", {"login": "admin", "password": NEW})
st, j, _, _ = b2.api("POST", "/auth/second-factor", {"code": recovery[1]})
check("signed in again with a recovery code", st == 200, (st, j))
st, j, _, _ = b2.api("POST", "/tenants", {"name": "clinic-t", "display_name": "時間計測クリニック", "region": "jp-east", "quota": "1GiB"})
check("a tenant created in the panel", st == 200 and j["tenant"]["name"] == "clinic-t", (st, j))
st, j, _, _ = b2.api("PUT", "/tenants/clinic-t", {"display_name": "時間計測クリニック 本院", "quota": "2GiB"})
check("its name and quota changed", st == 200 and j["tenant"]["display_name"] == "時間計測クリニック 本院" and
      j["tenant"]["quota_bytes"] == 2 << 30, (st, j))
st, j, _, _ = b2.api("PUT", "/tenants/clinic-t", {"region": "elsewhere"})
check("its region cannot move", st == 409 and j["error"] == "tenant.region_fixed", (st, j))
N = 12
for i in range(N):
    st, j, _, _ = b2.api("POST", "/users", {"tenant": "clinic-t", "login": f"staff{i}", "display_name": f"職員 {i}",
                                            "role": "viewer", "initial_password": "Shokuin#2026-Pass"})
    if st != 200:
        check(f"user staff{i} created", False, (st, j))
known, unknown = [], []
for i in range(N):
    st1, j1, _, t1 = Browser().api("POST", "/auth/password", {"login": f"staff{i}", "password": "Wrong#Pass-%d" % i})
    st2, j2, _, t2 = Browser().api("POST", "/auth/password", {"login": f"ghost{i}", "password": "Wrong#Pass-%d" % i})
    check(f"attempt {i}: the same answer", (st1, j1) == (st2, j2) == (401, {"error": "signin.failed"}), ((st1, j1), (st2, j2)))
    known.append(t1)
    unknown.append(t2)
known.sort(); unknown.sort()
med_k, med_u = known[N // 2], unknown[N // 2]
print("timing wrong password: min %.3f median %.3f max %.3f s" % (known[0], med_k, known[-1]))
print("timing unknown ID:     min %.3f median %.3f max %.3f s" % (unknown[0], med_u, unknown[-1]))
check("the two timing distributions overlap", known[0] <= unknown[-1] and unknown[0] <= known[-1], (known, unknown))
check("their medians are within 15 %", abs(med_k - med_u) <= 0.15 * max(med_k, med_u), (med_k, med_u))

# --- Lockout: 3 wrong passwords; then even the right one is refused the same way -------------
answers = []
for i in range(3):
    st, j, _, el = Browser().api("POST", "/auth/password", {"login": "admin", "password": "wrong-%d" % i})
    answers.append((st, j, el))
check("wrong passwords: 401 signin.failed", all(a[0] == 401 and a[1] == {"error": "signin.failed"} for a in answers), answers)
check("each failure waits longer", answers[0][2] < answers[1][2] < answers[2][2], [a[2] for a in answers])
st, j, _, _ = Browser().api("POST", "/auth/password", {"login": "admin", "password": NEW})
check("locked: the right password gets the same answer", st == 401 and j == {"error": "signin.failed"}, (st, j))
st, j, _, _ = Browser().api("POST", "/auth/password", {"login": "no-such-user", "password": NEW})
check("an unknown ID: the same answer", st == 401 and j == {"error": "signin.failed"}, (st, j))

# --- The operator's shell: unlock, a new user, the break-glass factor reset --------------------
def ks(*a):
    return subprocess.run([args.server, "--data", args.data, *a], capture_output=True, text=True)

out = ks("user", "unlock", "admin")
check("kura-server user unlock", out.returncode == 0, out.stderr)
b = Browser()
st, j, _, _ = b.api("POST", "/auth/password", {"login": "admin", "password": NEW})
check("unlocked: the password step passes again", st == 200 and j["stage"] == "second_factor", (st, j))
out = ks("user", "create", "ops1", "--role", "provider_operator", "--name", "運用 一郎")
m = re.search(r": (\S+)\s*$", out.stderr)
check("kura-server user create prints an initial password", out.returncode == 0 and m, out.stderr)
st, j, _, _ = Browser().api("POST", "/auth/password", {"login": "ops1", "password": m.group(1) if m else ""})
check("the initial password signs in to the forced change", st == 200 and j["stage"] == "password_change", (st, j))
out = ks("user", "reset-factors", "admin")
check("kura-server user reset-factors", out.returncode == 0, out.stderr)
st, j, _, _ = Browser().api("POST", "/auth/password", {"login": "admin", "password": NEW})
check("after the break-glass reset the next sign-in enrolls again", st == 200 and j["stage"] == "enrollment", (st, j))
out = ks("--json", "user", "list")
check("kura-server user list", out.returncode == 0 and {"admin", "ops1"} <= {u["login"] for u in json.loads(out.stdout)}, out.stdout)

# --- The records --------------------------------------------------------------------------------
time.sleep(0.5)  # the access log's writer batches records (GETs are not waited for)
out = subprocess.run([args.server, "--data", args.data, "--json", "audit", "export"], capture_output=True, text=True)
check("audit export runs", out.returncode == 0, out.stderr)
recs = json.loads(out.stdout or "[]")
actions = [(r["actor"], r["action"], r["status"]) for r in recs]
for want in [("user:admin", "panel.signin.password", 200), ("user:admin", "panel.password.change", 200),
             ("user:admin", "panel.factor.totp.add", 200), ("user:admin", "panel.signin.second_factor", 200),
             ("user:admin", "panel.signout", 200), ("anonymous", "panel.signin", 401),
             ("anonymous", "panel.signin.locked", 401), ("user:admin", "panel.signout.everywhere", 200),
             ("user:admin", "panel.tenant.create", 200), ("user:admin", "panel.user.create", 200)]:
    check(f"recorded {want}", want in actions, [a for a in actions if a[1].startswith("panel.")])
check("no password in any record", all(p not in out.stdout for p in (initial, NEW)))
check("session sign-ins are recorded as such", any(r.get("auth_method") == "session" for r in recs))

if failures:
    print(f"{len(failures)} check(s) failed: {failures}")
    sys.exit(1)
print("all panel API checks passed")
