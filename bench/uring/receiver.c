// What a receiver's per-file syscalls cost, and whether io_uring batches cut it (bench/uring/run.sh runs this).
// Creates N files of 6 KiB (ml_large's mean) spread over N/100 directories under ROOT, each one as a receiver must:
//   rename   : create in a temporary directory, pwrite, futimens, close, renameat into place (ActorSync's plain path)
//   direct   : create at the final name, pwrite, futimens, close (tar's way: no atomicity; the kernel's floor)
//   tmpfile  : O_TMPFILE in the final directory, pwrite, futimens, linkat(AT_EMPTY_PATH) (root only), close
//   uring2   : io_uring, B files per submission: [OPENAT -> WRITE] batch, futimens per file, [CLOSE -> RENAMEAT] batch
//   uringall : io_uring, one linked OPENAT(direct) -> WRITE -> CLOSE -> RENAMEAT chain per file, B per submission
//              (no mtime at all: the best io_uring could do)
// Prints microseconds per file and the process's CPU seconds over the timed part.
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES 6144
#define BATCH_MAX 1024

static char data[FILE_BYTES];
static const struct timespec mtime[2] = {{0, UTIME_OMIT}, {1600000000, 0}};

static void die(const char *what, int err) { fprintf(stderr, "%s: %s\n", what, strerror(err)); exit(1); }

static void reap(struct io_uring *ring, unsigned want, int *fds) {
    for (unsigned got = 0; got < want;) {
        struct io_uring_cqe *cqe;
        int e = io_uring_wait_cqe(ring, &cqe);
        if (e < 0) die("io_uring_wait_cqe", -e);
        if (cqe->res < 0) die("io_uring op", -cqe->res);
        if (fds && cqe->user_data >= 1 && cqe->user_data <= BATCH_MAX) fds[cqe->user_data - 1] = cqe->res;
        io_uring_cqe_seen(ring, cqe);
        got++;
    }
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s rename|direct|tmpfile|uring2|uringall N ROOT BATCH\n", argv[0]); return 2; }
    const char *mode = argv[1], *root = argv[3];
    int n = atoi(argv[2]), batch = atoi(argv[4]);
    if (batch < 1 || batch > BATCH_MAX) batch = 64;
    memset(data, 7, sizeof data);
    if (mkdir(root, 0755) != 0) die(root, errno);
    int rootfd = open(root, O_DIRECTORY | O_CLOEXEC);
    mkdirat(rootfd, "tmp", 0700);
    int tmpfd = openat(rootfd, "tmp", O_DIRECTORY | O_CLOEXEC);
    int ndirs = n / 100 > 0 ? n / 100 : 1;
    int *dirfd = malloc(sizeof(int) * ndirs);
    for (int d = 0; d < ndirs; d++) {
        char name[32];
        snprintf(name, sizeof name, "d%d", d);
        mkdirat(rootfd, name, 0755);
        dirfd[d] = openat(rootfd, name, O_DIRECTORY | O_CLOEXEC);
    }
    struct io_uring ring;
    int e = io_uring_queue_init(4 * batch + 8, &ring, 0);
    if (e < 0) die("io_uring_queue_init", -e);
    if (strcmp(mode, "uringall") == 0 && (e = io_uring_register_files_sparse(&ring, batch)) < 0) die("register_files_sparse", -e);
    static char temp[BATCH_MAX][32], final[BATCH_MAX][32];
    static int fds[BATCH_MAX];

    struct timespec t0, t1;
    struct rusage r0, ru;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (strcmp(mode, "rename") == 0 || strcmp(mode, "direct") == 0 || strcmp(mode, "tmpfile") == 0) {
        for (int i = 0; i < n; i++) {
            int dir = dirfd[i % ndirs], fd;
            snprintf(final[0], 32, "f%d", i);
            snprintf(temp[0], 32, "t%d", i);
            if (mode[0] == 'r') fd = openat(tmpfd, temp[0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            else if (mode[0] == 'd') fd = openat(dir, final[0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            else fd = openat(dir, ".", O_RDWR | O_TMPFILE | O_CLOEXEC, 0644);
            if (fd < 0) die("openat", errno);
            if (pwrite(fd, data, sizeof data, 0) != sizeof data) die("pwrite", errno);
            if (futimens(fd, mtime) != 0) die("futimens", errno);
            if (mode[0] == 't' && linkat(fd, "", dir, final[0], AT_EMPTY_PATH) != 0) die("linkat (needs root)", errno);
            close(fd);
            if (mode[0] == 'r' && renameat(tmpfd, temp[0], dir, final[0]) != 0) die("renameat", errno);
        }
    } else if (strcmp(mode, "uring2") == 0) {
        for (int base = 0; base < n; base += batch) {
            int k = n - base < batch ? n - base : batch;
            for (int j = 0; j < k; j++) {
                snprintf(temp[j], 32, "t%d", base + j);
                snprintf(final[j], 32, "f%d", base + j);
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_openat(sqe, tmpfd, temp[j], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                sqe->user_data = j + 1;
            }
            io_uring_submit(&ring);
            reap(&ring, k, fds);
            for (int j = 0; j < k; j++) io_uring_prep_write(io_uring_get_sqe(&ring), fds[j], data, sizeof data, 0);
            io_uring_submit(&ring);
            reap(&ring, k, NULL);
            for (int j = 0; j < k; j++) if (futimens(fds[j], mtime) != 0) die("futimens", errno);
            for (int j = 0; j < k; j++) {
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_close(sqe, fds[j]);
                sqe->flags |= IOSQE_IO_LINK;
                io_uring_prep_renameat(io_uring_get_sqe(&ring), tmpfd, temp[j], dirfd[(base + j) % ndirs], final[j], 0);
            }
            io_uring_submit(&ring);
            reap(&ring, 2 * k, NULL);
        }
    } else if (strcmp(mode, "uringall") == 0) {
        for (int base = 0; base < n; base += batch) {
            int k = n - base < batch ? n - base : batch;
            for (int j = 0; j < k; j++) {
                snprintf(temp[j], 32, "t%d", base + j);
                snprintf(final[j], 32, "f%d", base + j);
                struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_openat_direct(sqe, tmpfd, temp[j], O_RDWR | O_CREAT | O_EXCL, 0644, j);
                sqe->flags |= IOSQE_IO_LINK;
                sqe = io_uring_get_sqe(&ring);
                io_uring_prep_write(sqe, j, data, sizeof data, 0);
                sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
                sqe = io_uring_get_sqe(&ring);
                io_uring_prep_close_direct(sqe, j);
                sqe->flags |= IOSQE_IO_LINK;
                io_uring_prep_renameat(io_uring_get_sqe(&ring), tmpfd, temp[j], dirfd[(base + j) % ndirs], final[j], 0);
            }
            io_uring_submit(&ring);
            reap(&ring, 4 * k, NULL);
        }
    } else { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &ru);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
    double cpu = (ru.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (ru.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6
               + (ru.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (ru.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    printf("%s %.2f us/file %.3f cpu_s\n", mode, us, cpu);
    return 0;
}
