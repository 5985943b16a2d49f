#!/usr/bin/env python3
"""Generate one of ActorSync's benchmark dataset shapes.

    gen_dataset.py NAME DEST [--scale F] [--seed N] [--plan]

Shapes (at scale 1.0; file count, total bytes and directory count scale by F,
the per-file size distribution does not):

    ml_small   10,000 files,  60 MiB, ~6 KiB each (1-11 KiB),  ~100 dirs, 1 level
    ml_large  100,000 files, 590 MiB, ~6 KiB each (1-11 KiB), ~1000 dirs, 2 levels
    ml_images 100,000 files, 9.7 GiB, ~100 KiB each (20-183 KiB), 1000 dirs, 1 level

Content is incompressible: slices of a 64 MiB random pool at random offsets.
Files get mode 0644 and whole-second mtimes spread over one year, so metadata
comparisons do not depend on a copier's sub-second timestamp resolution.

--plan prints "files bytes dirs est_alloc_bytes" (estimated space one copy
takes) and writes nothing.
Otherwise DEST must not exist or be empty; on success one line
"files bytes dirs seconds" is printed.
"""
import argparse
import math
import os
import random
import sys
import time

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
POOL_SIZE = 64 * MIB
PAGE = 4096

# name: (files, total bytes, dirs, levels, min file size)
SHAPES = {
    "ml_small": (10_000, 60 * MIB, 100, 1, 1 * KIB),
    "ml_large": (100_000, 590 * MIB, 1000, 2, 1 * KIB),
    "ml_images": (100_000, int(9.7 * GIB), 1000, 1, 20 * KIB),
}
NAMES = {
    "ml_small": ("shard_{:03d}", "sample_{:06d}.bin"),
    "ml_large": ("part_{:02d}/shard_{:03d}", "sample_{:07d}.bin"),
    "ml_images": ("class_{:04d}", "img_{:07d}.jpg"),
}


def plan(name, scale):
    files0, total0, dirs0, levels, lo = SHAPES[name]
    files = max(1, round(files0 * scale))
    total = max(files, round(total0 * scale))
    dirs = max(1, min(files, round(dirs0 * scale)))
    return files, total, dirs, levels, lo


def file_sizes(rng, files, total, lo):
    """Uniform sizes in [lo, 2*mean-lo], then nudged so they sum to total exactly."""
    mean = total / files
    lo = min(lo, max(1, int(mean)))
    hi = max(lo, int(2 * mean - lo))
    sizes = [rng.randint(lo, hi) for _ in range(files)]
    diff = total - sum(sizes)
    step, rem = divmod(abs(diff), files)
    sign = 1 if diff >= 0 else -1
    for i in range(files):
        sizes[i] = max(1, sizes[i] + sign * (step + (1 if i < rem else 0)))
    # clamping at 1 byte can only happen for absurd inputs; fix up any residue
    sizes[-1] = max(1, sizes[-1] + total - sum(sizes))
    return sizes


def dir_paths(name, dirs, levels):
    fmt = NAMES[name][0]
    if levels == 1:
        return [fmt.format(i) for i in range(dirs)]
    top = max(1, round(math.sqrt(dirs)))
    per = math.ceil(dirs / top)
    return [fmt.format(i // per, i % per) for i in range(dirs)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(SHAPES))
    ap.add_argument("dest")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--plan", action="store_true", help="print sizes only, write nothing")
    args = ap.parse_args()
    if args.scale <= 0:
        ap.error("--scale must be > 0")

    files, total, dirs, levels, lo = plan(args.name, args.scale)
    t0 = time.monotonic()
    rng = random.Random(f"{args.name}:{args.seed}")
    sizes = file_sizes(rng, files, total, lo)
    if args.plan:
        # space one copy takes: data rounded up to whole pages (as on tmpfs or
        # 4 KiB-block filesystems), one block per directory, ~1 KiB of inode
        # and dentry per file
        est_alloc = sum(-(-s // PAGE) * PAGE for s in sizes) + dirs * PAGE + files * KIB
        print(files, total, dirs, est_alloc)
        return 0
    if max(sizes) > POOL_SIZE:
        sys.exit(f"file size {max(sizes)} exceeds the random pool")
    pool = memoryview(os.urandom(POOL_SIZE))

    os.makedirs(args.dest, exist_ok=True)
    if os.listdir(args.dest):
        sys.exit(f"{args.dest} is not empty")
    dpaths = dir_paths(args.name, dirs, levels)
    for d in dpaths:
        os.makedirs(os.path.join(args.dest, d), exist_ok=True)

    fname = NAMES[args.name][1]
    mtime_base = 1_700_000_000
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for i, size in enumerate(sizes):
        # consecutive file indices fill one directory at a time
        d = dpaths[i * dirs // files]
        path = os.path.join(args.dest, d, fname.format(i))
        off = rng.randrange(0, POOL_SIZE - size + 1)
        fd = os.open(path, flags, 0o644)
        try:
            view = pool[off:off + size]
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fchmod(fd, 0o644)  # independent of umask
            t = mtime_base + rng.randrange(0, 365 * 86400)
            os.utime(fd, (t, t))
        finally:
            os.close(fd)
    print(files, total, dirs, f"{time.monotonic() - t0:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
