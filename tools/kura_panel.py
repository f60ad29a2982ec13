"""A small client of kura-server's control-panel API, as a browser uses it: the session cookie,
the CSRF token, JSON bodies; and RFC 6238 TOTP codes. Used by tests/panel_api.py and
scripts/demo (Python standard library only)."""
import base64, hashlib, hmac, http.client, json, ssl, struct, time


def totp(secret_b32, t=None, step_offset=0):
    """The 6-digit TOTP code (SHA-1, 30 s) of a base32 secret at time t (now)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if t is None else t) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


class Browser:
    """One browser: keeps the session cookie and the CSRF token like the panel's front end."""

    def __init__(self, url, cafile):
        host, port = url.removeprefix("https://").rstrip("/").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.cookie = ""
        self.csrf = ""
        self.last_set_cookie = ""

    def call(self, method, path, body=None, content_type="application/json", csrf=True, raw=None):
        """(status, JSON or None, headers with lowercase names, seconds taken)."""
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        data = None
        if method not in ("GET", "HEAD"):
            h["Content-Type"] = content_type
            if csrf and self.csrf:
                h["X-CSRF-Token"] = self.csrf
            data = raw if raw is not None else json.dumps(body if body is not None else {})
        t0 = time.monotonic()
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        elapsed = time.monotonic() - t0
        headers = {k.lower(): v for k, v in r.getheaders()}
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                self.cookie = v.split(";")[0]
                self.last_set_cookie = v
        try:
            j = json.loads(text)
        except ValueError:
            j = None
        if isinstance(j, dict):
            if "csrf_token" in j:
                self.csrf = j["csrf_token"]
            if isinstance(j.get("session"), dict):
                self.csrf = j["session"]["csrf_token"]
        c.close()
        return r.status, j, headers, elapsed

    def api(self, method, path, body=None, **kw):
        return self.call(method, "/panel/api" + path, body, **kw)
