#!/usr/bin/env python3
"""Builds a test tree with every kind of node kura and restic store, hostile names, odd
modes, xattrs, hard links, sparse and exactly-chunk-sized files, plus MB_TOTAL of mixed data.

usage: make_corpus.py DIR [MB_TOTAL]"""
import hashlib, os, random, stat, sys

def main():
    root = sys.argv[1]
    total_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    rnd = random.Random(1234)
    os.makedirs(root)
    d = lambda *p: os.path.join(root, *p)

    os.makedirs(d("dir", "sub", "deeper"))
    os.makedirs(d("emptydir"))
    with open(d("small.txt"), "w") as f:
        f.write("hello kura\n")
    open(d("empty"), "w").close()
    with open(d("dir", "sub", "deeper", "note.txt"), "w") as f:
        f.write("deep\n" * 100)
    # Exactly min and max chunk sizes, and one byte more.
    for name, size in [("min_chunk", 524288), ("max_chunk", 8388608), ("min_plus_one", 524289)]:
        with open(d(name), "wb") as f:
            f.write(rnd.randbytes(size))
    # Sparse file: a hole, some data, a hole at the end.
    with open(d("sparse.img"), "wb") as f:
        f.seek(20 * 1024 * 1024)
        f.write(b"data in the middle" * 1000)
        f.truncate(40 * 1024 * 1024)
    # Symlinks, hard links, fifo, a device when root.
    os.symlink("small.txt", d("link_to_small"))
    os.symlink("/nonexistent/target", d("dangling"))
    os.symlink("dir/sub", d("link_to_dir"))
    os.link(d("small.txt"), d("hardlink_a"))
    os.link(d("small.txt"), d("dir", "hardlink_b"))
    os.mkfifo(d("fifo"))
    if os.geteuid() == 0:
        os.mknod(d("chardev"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(d("blockdev"), 0o640 | stat.S_IFBLK, os.makedev(7, 0))
    # Modes.
    with open(d("mode0000"), "w") as f:
        f.write("no permissions\n")
    os.chmod(d("mode0000"), 0)
    with open(d("setuid"), "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(d("setuid"), 0o4755)
    os.makedirs(d("sticky"))
    os.chmod(d("sticky"), 0o1777)
    # Hostile names.
    for name in [b"we<ird>&\"na\\me", b"ctl\x01\x7fz", b"bad\xffname",
                 "sp\u2028ace\u00a0nb\u00e9".encode(), "日本語の名前.txt".encode(),
                 b" leading space", b"-dash", b"new\nline"]:
        with open(os.path.join(root.encode(), b"names", name) if False else os.path.join(root.encode(), name), "wb") as f:
            f.write(name + b"\n")
    # Extended attributes (user namespace), if the file system supports them.
    try:
        os.setxattr(d("small.txt"), "user.comment", b"bar\x00baz")
        os.setxattr(d("dir"), "user.dirattr", b"1")
        os.setxattr(d("empty"), "user.empty", b"")
    except OSError:
        pass
    # Mixed bulk data: random (incompressible), text-like (compressible), repeated blocks.
    bulk = d("bulk")
    os.makedirs(bulk)
    remaining = total_mb * 1024 * 1024
    i = 0
    words = [hashlib.sha256(str(k).encode()).hexdigest()[:rnd.randint(3, 10)] for k in range(2000)]
    while remaining > 0:
        kind = i % 3
        size = min(remaining, rnd.choice([4096, 70000, 600000, 3 * 1024 * 1024]))
        sub = os.path.join(bulk, f"d{i % 17}")
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, f"f{i}.{['bin', 'txt', 'dat'][kind]}")
        with open(path, "wb") as f:
            if kind == 0:
                f.write(rnd.randbytes(size))
            elif kind == 1:
                out = []
                n = 0
                while n < size:
                    w = rnd.choice(words)
                    out.append(w)
                    n += len(w) + 1
                f.write(" ".join(out).encode()[:size])
            else:
                block = rnd.randbytes(64 * 1024)
                f.write((block * (size // len(block) + 1))[:size])
        remaining -= size
        i += 1
    # Fixed times so two backups of this tree are comparable.
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            p = os.path.join(dirpath, n)
            try:
                os.utime(p, ns=(1600000000123456789, 1600000000123456789), follow_symlinks=False)
            except OSError:
                pass
    os.utime(root, ns=(1600000000000000000, 1600000000000000000))

if __name__ == "__main__":
    main()
