#!/usr/bin/env python3
"""Many large uploads at once to kura-server, each on its own mTLS connection, while the
server's peak resident memory is watched: bodies are streamed, so the peak must stay near a
few hundred KiB per connection, whatever the object sizes.

usage: server_memory_test.py --url URL --ca CA --cert PEM --repo /tenant/repo --pid PID
                             [--uploads N] [--mib M] [--limit-mb L]
Prints the peak RSS before and during the uploads; exits 1 if an upload fails or the peak
during the uploads exceeds --limit-mb.
"""
import argparse
import hashlib
import os
import socket
import ssl
import sys
import threading
import time
from urllib.parse import urlparse


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--uploads", type=int, default=32)
    p.add_argument("--mib", type=int, default=16)
    p.add_argument("--limit-mb", type=int, default=160)
    a = p.parse_args()
    u = urlparse(a.url)
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert)

    # One random block shared by every body; each body starts with its own 32 bytes, so every
    # upload is a different object (name = SHA-256 of the body).
    block = os.urandom(1 << 20)
    bodies = []
    for i in range(a.uploads):
        head = hashlib.sha256(f"upload {i}".encode()).digest()
        h = hashlib.sha256(head)
        for _ in range(a.mib):
            h.update(block)
        bodies.append((head, h.hexdigest()))

    with open(f"/proc/{a.pid}/clear_refs", "w") as f:
        f.write("5")  # resets the peak
    before = vm_hwm_kib(a.pid)
    results = [None] * a.uploads
    start = threading.Barrier(a.uploads)

    def upload(i):
        head, name = bodies[i]
        try:
            raw = socket.create_connection((u.hostname, u.port), timeout=120)
            s = ctx.wrap_socket(raw, server_hostname=u.hostname)
            length = len(head) + a.mib * len(block)
            s.sendall(f"POST {a.repo}/data/{name} HTTP/1.1\r\nHost: {u.hostname}\r\n"
                      f"Content-Length: {length}\r\n\r\n".encode() + head)
            start.wait()  # every connection is open and sending before the bulk goes out
            for _ in range(a.mib):
                s.sendall(block)
            status = s.recv(64).split(b" ")[1].decode()
            s.close()
            results[i] = status
        except Exception as e:  # reported below
            results[i] = f"error: {e}"

    t0 = time.time()
    threads = [threading.Thread(target=upload, args=(i,)) for i in range(a.uploads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    peak = vm_hwm_kib(a.pid)
    total_mb = a.uploads * (a.mib + 0.00003)
    print(f"{a.uploads} uploads of {a.mib} MiB at once ({total_mb:.0f} MiB in {secs:.1f} s): "
          f"server peak RSS {peak / 1024:.1f} MB (before: {before / 1024:.1f} MB), "
          f"{(peak - before) / a.uploads:.0f} KiB per connection above the idle peak")
    bad = [r for r in results if r != "200"]
    if bad:
        print(f"FAIL: {len(bad)} uploads failed: {bad[:3]}")
        return 1
    if peak > a.limit_mb * 1024:
        print(f"FAIL: peak RSS {peak / 1024:.1f} MB above {a.limit_mb} MB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
