#!/usr/bin/env python3
"""An independent checker: is ACTUAL exactly EXPECTED?

Written apart from the product (which has its own comparer) so a shared blind spot cannot hide a difference.
Walks both trees by directory descriptor (paths deeper than PATH_MAX work) and compares, per entry: the name
as bytes, the type, permission bits, mtime to the nanosecond, size and bytes, symlink targets as bytes, device
numbers, hard-link groups (which names share an inode), for sparse files the allocated blocks, and optionally
numeric owners and extended attributes.

usage: treecheck.py EXPECTED ACTUAL [--owners] [--xattrs] [--block-slack N]
Prints one line per difference; exit status 0 when identical, 1 when not, 2 on bad usage.
"""
import os
import stat
import sys

MAX_DIFFERENCES = 50


class Checker:
    def __init__(self, owners, xattrs, block_slack):
        self.owners = owners
        self.xattrs = xattrs
        self.block_slack = block_slack
        self.differences = []
        self.entries = 0
        self.forward = {}
        self.backward = {}

    def report(self, path, what):
        if len(self.differences) < MAX_DIFFERENCES:
            self.differences.append(f"{os.fsencode(path)!r}: {what}")

    def names(self, fd):
        with os.scandir(fd) as it:
            return {os.fsencode(e.name) for e in it}

    def directory(self, rel, fa, fb):
        left, right = self.names(fa), self.names(fb)
        for name in sorted(left - right):
            self.report(rel + name, "missing in the copy")
        for name in sorted(right - left):
            self.report(rel + name, "not in the source")
        for name in sorted(left & right):
            self.entries += 1
            path = rel + name
            try:
                sa = os.lstat(name, dir_fd=fa)
                sb = os.lstat(name, dir_fd=fb)
            except OSError as e:
                self.report(path, f"cannot stat: {e}")
                continue
            if self.entry(path, name, fa, fb, sa, sb) and stat.S_ISDIR(sa.st_mode):
                ca = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fa)
                cb = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fb)
                try:
                    self.directory(path + b"/", ca, cb)
                finally:
                    os.close(ca)
                    os.close(cb)

    def entry(self, path, name, fa, fb, sa, sb):
        if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
            self.report(path, f"type {stat.S_IFMT(sa.st_mode):o} vs {stat.S_IFMT(sb.st_mode):o}")
            return False
        if not stat.S_ISLNK(sa.st_mode) and stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            self.report(path, f"mode {stat.S_IMODE(sa.st_mode):o} vs {stat.S_IMODE(sb.st_mode):o}")
        if sa.st_mtime_ns != sb.st_mtime_ns:
            self.report(path, f"mtime {sa.st_mtime_ns} vs {sb.st_mtime_ns}")
        if self.owners and (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid):
            self.report(path, f"owner {sa.st_uid}:{sa.st_gid} vs {sb.st_uid}:{sb.st_gid}")
        if stat.S_ISLNK(sa.st_mode):
            ta, tb = os.readlink(name, dir_fd=fa), os.readlink(name, dir_fd=fb)
            if ta != tb:
                self.report(path, f"link target {ta!r} vs {tb!r}")
        elif stat.S_ISCHR(sa.st_mode) or stat.S_ISBLK(sa.st_mode):
            if sa.st_rdev != sb.st_rdev:
                self.report(path, f"device {os.major(sa.st_rdev)}:{os.minor(sa.st_rdev)} vs {os.major(sb.st_rdev)}:{os.minor(sb.st_rdev)}")
        elif stat.S_ISREG(sa.st_mode):
            self.regular(path, name, fa, fb, sa, sb)
        if self.xattrs and (stat.S_ISREG(sa.st_mode) or stat.S_ISDIR(sa.st_mode)):
            xa, xb = self.attributes(name, fa, sa), self.attributes(name, fb, sb)
            if xa != xb:
                self.report(path, f"extended attributes {sorted(xa)} vs {sorted(xb)}")
        return True

    def regular(self, path, name, fa, fb, sa, sb):
        if sa.st_size != sb.st_size:
            self.report(path, f"size {sa.st_size} vs {sb.st_size}")
            return
        if sa.st_nlink > 1 or sb.st_nlink > 1:
            seen, back = self.forward.get(sa.st_ino), self.backward.get(sb.st_ino)
            if (seen is not None and seen != sb.st_ino) or (back is not None and back != sa.st_ino):
                self.report(path, "hard-link group differs (this name shares an inode on one side only)")
                return
            self.forward[sa.st_ino], self.backward[sb.st_ino] = sb.st_ino, sa.st_ino
            if seen is not None:
                return
        if sa.st_blocks * 512 < sa.st_size and sb.st_blocks > sa.st_blocks + self.block_slack:
            self.report(path, f"sparse file allocates {sb.st_blocks * 512} bytes in the copy, {sa.st_blocks * 512} in the source")
        a = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fa)
        b = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fb)
        try:
            offset = 0
            while True:
                ba, bb = os.pread(a, 1 << 20, offset), os.pread(b, 1 << 20, offset)
                if ba != bb:
                    self.report(path, f"content differs at or after byte {offset}")
                    return
                if not ba:
                    return
                offset += len(ba)
        finally:
            os.close(a)
            os.close(b)

    @staticmethod
    def attributes(name, dirfd, st):
        flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_DIRECTORY if stat.S_ISDIR(st.st_mode) else 0)
        fd = os.open(name, flags, dir_fd=dirfd)
        try:
            return {k: os.getxattr(fd, k) for k in os.listxattr(fd) if not k.startswith("system.")}
        finally:
            os.close(fd)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    owners, xattrs = "--owners" in argv, "--xattrs" in argv
    slack = 256
    if "--block-slack" in argv:
        i = argv.index("--block-slack")
        slack = int(argv[i + 1])
        args.remove(argv[i + 1])
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    checker = Checker(owners, xattrs, slack)
    fa = os.open(args[0], os.O_RDONLY | os.O_DIRECTORY)
    fb = os.open(args[1], os.O_RDONLY | os.O_DIRECTORY)
    checker.directory(b"", fa, fb)
    for d in checker.differences:
        print(d)
    print(f"treecheck: {checker.entries} entries compared, {len(checker.differences)} differences", file=sys.stderr)
    return 0 if not checker.differences else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
