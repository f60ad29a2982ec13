#!/usr/bin/env python3
"""Prints one line per entry of a tree: path, type, mode, owner, size, mtime (ns), symlink
target, xattrs, content hash and hard-link group, so two trees can be compared exactly.
atime is left out (it changes when files are read).

usage: tree_manifest.py DIR"""
import hashlib, os, stat, sys

def main():
    root = os.fsencode(sys.argv[1])
    inodes = {}
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            kind = stat.S_IFMT(st.st_mode)
            extra = ""
            if stat.S_ISREG(kind):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                extra = h.hexdigest()
                if st.st_nlink > 1:
                    group = inodes.setdefault((st.st_dev, st.st_ino), rel)
                    extra += " link-group=" + os.fsdecode(group) if group != rel else " link-group=self"
            elif stat.S_ISLNK(kind):
                extra = "-> " + repr(os.readlink(p))
            elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
                extra = f"dev={os.major(st.st_rdev)},{os.minor(st.st_rdev)}"
            try:
                xattrs = sorted((n, os.getxattr(p, n, follow_symlinks=False))
                                for n in os.listxattr(p, follow_symlinks=False))
            except OSError:
                xattrs = []
            mtime = st.st_mtime_ns
            size = st.st_size if stat.S_ISREG(kind) else 0
            lines.append(f"{rel!r} mode={oct(st.st_mode)} uid={st.st_uid} gid={st.st_gid} "
                         f"size={size} mtime={mtime} {extra} xattrs={xattrs}")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
