#!/usr/bin/env python3
"""A counting HTTP proxy for the cache tests: forwards every request to a REST server and
appends "METHOD PATH STATUS BYTES" (response body bytes sent to the client) to a log file.

usage: count_proxy.py LISTEN_PORT UPSTREAM_PORT LOG
"""
import http.client
import http.server
import sys
import threading

LISTEN, UPSTREAM, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log_lock = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        up = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() in HOP or (k.lower() == "content-length" and self.command != "HEAD"):
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            self.wfile.write(data)
            sent = len(data)
        up.close()
        with log_lock, open(LOG, "a") as f:
            f.write(f"{self.command} {self.path} {resp.status} {sent}\n")

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = forward


http.server.ThreadingHTTPServer(("127.0.0.1", LISTEN), Handler).serve_forever()
