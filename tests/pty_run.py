#!/usr/bin/env python3
"""Runs a command with a pseudo-terminal as stdin (stdout and stderr stay pipes) and types one
line each time the command prints `prompt` on stderr. Prints the command's stdout, then
"--- stderr", then its stderr, then "--- exit N".
usage: pty_run.py PROMPT LINE1,LINE2,... -- COMMAND ARGS..."""
import os
import pty
import select
import subprocess
import sys
import time


def main():
    prompt = sys.argv[1].encode()
    lines = [l.encode() for l in sys.argv[2].split(",")] if sys.argv[2] else []
    cmd = sys.argv[sys.argv.index("--") + 1:]
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    os.close(slave)
    out, err = b"", b""
    seen = 0
    deadline = time.time() + 60
    streams = {p.stdout.fileno(): "out", p.stderr.fileno(): "err", master: "pty"}
    while streams and time.time() < deadline:
        ready, _, _ = select.select(list(streams), [], [], 0.5)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                del streams[fd]
                continue
            if streams[fd] == "out":
                out += data
            elif streams[fd] == "err":
                err += data
        if err.count(prompt) > seen:
            seen = err.count(prompt)
            if lines:
                os.write(master, lines.pop(0) + b"\n")
        if p.poll() is not None and p.stdout.fileno() not in streams and p.stderr.fileno() not in streams:
            break
    if p.poll() is None:
        p.kill()
    rc = p.wait()
    sys.stdout.write(out.decode(errors="replace"))
    sys.stdout.write("--- stderr\n" + err.decode(errors="replace"))
    sys.stdout.write("--- exit %d\n" % rc)


if __name__ == "__main__":
    main()
