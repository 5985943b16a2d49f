// What a sender's per-file syscalls cost, and whether io_uring batches cut it (bench/uring/run.sh runs this).
// Reads every regular file of a tree (listed first, untimed; each directory kept open) as a sender must:
//   plain     : openat(dirfd, name), pread, statx(fd) (did it change while read?), close (ActorSync's path)
//   uring     : io_uring, one OPENAT(direct) -> READ -> CLOSE chain per file, B files per submission
//   uringstat : the same with a linked STATX(dirfd, name) after the READ (the change check a direct fd needs)
// Prints microseconds per file and the process's CPU seconds over the timed part (io_uring's worker threads included).
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_BYTES 16384
#define BATCH_MAX 1024

struct entry { int dir; char name[256]; };
static struct entry *entries;
static int count, capacity;
static char buffers[BATCH_MAX][READ_BYTES];
static struct statx stats[BATCH_MAX];

static void die(const char *what, int err) { fprintf(stderr, "%s: %s\n", what, strerror(err)); exit(1); }

static void list(int parent, const char *name) {
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) die(name, errno);
    DIR *dir = fdopendir(dup(fd));
    struct dirent *d;
    while ((d = readdir(dir))) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
        if (d->d_type == DT_DIR) { list(fd, d->d_name); continue; }
        if (d->d_type != DT_REG) continue;
        if (count == capacity) entries = realloc(entries, sizeof *entries * (capacity = capacity ? capacity * 2 : 4096));
        entries[count].dir = fd;
        snprintf(entries[count].name, sizeof entries[count].name, "%s", d->d_name);
        count++;
    }
    closedir(dir);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s plain|uring|uringstat TREE BATCH\n", argv[0]); return 2; }
    const char *mode = argv[1];
    int batch = atoi(argv[3]);
    if (batch < 1 || batch > BATCH_MAX) batch = 64;
    list(AT_FDCWD, argv[2]);
    struct io_uring ring;
    int e = io_uring_queue_init(4 * batch + 8, &ring, 0);
    if (e < 0) die("io_uring_queue_init", -e);
    if ((e = io_uring_register_files_sparse(&ring, batch)) < 0) die("register_files_sparse", -e);

    struct timespec t0, t1;
    struct rusage r0, ru;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (strcmp(mode, "plain") == 0) {
        for (int i = 0; i < count; i++) {
            int fd = openat(entries[i].dir, entries[i].name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) die("openat", errno);
            if (pread(fd, buffers[0], READ_BYTES, 0) < 0) die("pread", errno);
            if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stats[0]) != 0) die("statx", errno);
            close(fd);
        }
    } else {
        int withStat = strcmp(mode, "uringstat") == 0, per = withStat ? 4 : 3;
        for (int base = 0; base < count; base += batch) {
            int k = count - base < batch ? count - base : batch;
            for (int j = 0; j < k; j++) {
                struct entry *x = &entries[base + j];
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_openat_direct(sqe, x->dir, x->name, O_RDONLY | O_NOFOLLOW, 0, j);
                sqe->flags |= IOSQE_IO_LINK;
                sqe = io_uring_get_sqe(&ring);
                io_uring_prep_read(sqe, j, buffers[j], READ_BYTES, 0);
                sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;   // a short read (the usual case) must not cut the chain
                if (withStat) {
                    sqe = io_uring_get_sqe(&ring);
                    io_uring_prep_statx(sqe, x->dir, x->name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stats[j]);
                    sqe->flags |= IOSQE_IO_HARDLINK;
                }
                io_uring_prep_close_direct(io_uring_get_sqe(&ring), j);
            }
            io_uring_submit(&ring);
            for (int got = 0; got < per * k; got++) {
                struct io_uring_cqe *cqe;
                if ((e = io_uring_wait_cqe(&ring, &cqe)) < 0) die("io_uring_wait_cqe", -e);
                if (cqe->res < 0) die("io_uring op", -cqe->res);
                io_uring_cqe_seen(&ring, cqe);
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &ru);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / count;
    double cpu = (ru.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (ru.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6
               + (ru.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (ru.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    printf("%s %.2f us/file %.3f cpu_s (%d files)\n", mode, us, cpu, count);
    return 0;
}
