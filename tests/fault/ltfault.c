/*
 * ltfault.c: an LD_PRELOAD shim that makes the file I/O of a real process
 * fail on demand, to test how longtail (and RocksDB under it) handles
 * storage faults. Built as tests/fault/ltfault.so.
 *
 *   LD_PRELOAD=tests/fault/ltfault.so LTFAULT_CTL=/path/to/ctl longtail-server ...
 *   (ASan builds also need ASAN_OPTIONS=verify_asan_link_order=0)
 *
 * Control: LTFAULT_CTL names a file holding one struct ltfault_ctl
 * (ltfault.h), which the shim maps shared at load time and reads on every
 * call; the test rewrites it while the process runs (tests/integration/
 * fault.h: fault_arm, fault_disarm, fault_hits). Without LTFAULT_CTL, or with
 * a file that is not a control block (a warning on stderr), every call passes
 * through untouched.
 *
 * What is intercepted: the calls Debian's librocksdb 7.8 imports for file
 * I/O (nm -D: open, close, pread, write, pwrite, fsync, fdatasync,
 * sync_file_range, fallocate, posix_fallocate, fread_unlocked for WAL and
 * MANIFEST replay, fclose), plus their obvious siblings (open64, openat,
 * creat, read, pread64, pwrite64, writev, fread, fwrite) so that other code
 * is covered too. ftruncate is never failed: RocksDB only shrinks files
 * with it, which a full disk does not refuse. sync_file_range with flags 0
 * (RocksDB's probe for the call, a no-op in the kernel) is never failed.
 *
 * Which file an fd is: open and friends classify the path (ltfault.h's
 * LTFAULT_KIND_*) into a table indexed by fd; close and fclose clear it.
 * Sockets, pipes, eventfds and files opened some other way are never
 * failed. A prefix rule compares against the path given to open, or for an
 * fd against the link in /proc/self/fd (read only when the rest of the rule
 * already matched).
 *
 * A failed call does nothing and returns -1 (fread/fwrite: 0) with errno set
 * to the rule's err; an open that fails creates nothing. A rule with a
 * delay fails nothing: each matching call sleeps that long, then runs.
 */
#include "ltfault.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define LTFAULT_MAX_FD 65536

static struct ltfault_ctl *ctl;
static _Atomic uint8_t fd_kind[LTFAULT_MAX_FD];

/* The next definition of "name" (libc's, or a sanitizer's interceptor). */
#define REAL(name)                                                                                 \
    static __typeof__(name) *real_##name;                                                          \
    if (!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE))                                          \
    __atomic_store_n(&real_##name, (__typeof__(name) *)dlsym(RTLD_NEXT, #name), __ATOMIC_RELEASE)

__attribute__((constructor)) static void ltfault_init(void)
{
    const char *path = getenv("LTFAULT_CTL");
    if (!path || !*path)
        return;
    /* raw syscall-level calls: our own open wrapper must not see this file */
    REAL(open);
    int fd = real_open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ltfault: cannot open LTFAULT_CTL %s: %s\n", path, strerror(errno));
        return;
    }
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof(struct ltfault_ctl))
        p = mmap(NULL, sizeof(struct ltfault_ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REAL(close);
    real_close(fd);
    if (p == MAP_FAILED || ((struct ltfault_ctl *)p)->magic != LTFAULT_MAGIC) {
        fprintf(stderr, "ltfault: %s is not a control block of %zu bytes; faults disabled\n", path,
                sizeof(struct ltfault_ctl));
        if (p != MAP_FAILED)
            munmap(p, sizeof(struct ltfault_ctl));
        return;
    }
    __atomic_store_n(&ctl, (struct ltfault_ctl *)p, __ATOMIC_RELEASE);
}

/* ---- file kinds ------------------------------------------------------------ */

static int all_digits(const char *p, const char *end)
{
    if (p == end)
        return 0;
    for (; p < end; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

static uint8_t classify(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".log") == 0 && all_digits(base, base + n - 4))
        return LTFAULT_KIND_WAL;
    if (n > 4 && strcmp(base + n - 4, ".sst") == 0)
        return LTFAULT_KIND_SST;
    if (n > 4 && strcmp(base + n - 4, ".aof") == 0)
        return LTFAULT_KIND_AOF;
    if (strncmp(base, "MANIFEST-", 9) == 0)
        return LTFAULT_KIND_MANIFEST;
    /* db_log_dir names the info log "<escaped db path>_LOG" */
    if (strcmp(base, "LOG") == 0 || strncmp(base, "LOG.old", 7) == 0 || strstr(base, "_LOG"))
        return LTFAULT_KIND_INFOLOG;
    return LTFAULT_KIND_OTHER;
}

static void fd_track(int fd, const char *path)
{
    if (fd >= 0 && fd < LTFAULT_MAX_FD)
        atomic_store_explicit(&fd_kind[fd], classify(path), memory_order_relaxed);
}

static void fd_forget(int fd)
{
    if (fd >= 0 && fd < LTFAULT_MAX_FD)
        atomic_store_explicit(&fd_kind[fd], 0, memory_order_relaxed);
}

/* ---- the rule ---------------------------------------------------------------- */

static int under_prefix(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/')
        n--;
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * 0 to let the call through, or the errno it must fail with. "fd" is the
 * call's file (-1 for open), "path" the name given to open (NULL otherwise).
 */
static int decide(uint32_t op, int fd, const char *path)
{
    struct ltfault_ctl *c = __atomic_load_n(&ctl, __ATOMIC_ACQUIRE);
    if (!c || !atomic_load_explicit(&c->armed, memory_order_relaxed))
        return 0;
    uint8_t kind;
    if (path)
        kind = classify(path);
    else if (fd >= 0 && fd < LTFAULT_MAX_FD)
        kind = atomic_load_explicit(&fd_kind[fd], memory_order_relaxed);
    else
        kind = 0;
    if (!kind)
        return 0;

    uint32_t ops, kinds, s1, s2;
    int err;
    int64_t delay_us;
    char prefix[LTFAULT_PREFIX];
    do {
        s1 = atomic_load_explicit(&c->seq, memory_order_acquire);
        ops = atomic_load_explicit(&c->ops, memory_order_relaxed);
        kinds = atomic_load_explicit(&c->kinds, memory_order_relaxed);
        err = atomic_load_explicit(&c->err, memory_order_relaxed);
        delay_us = atomic_load_explicit(&c->delay_us, memory_order_relaxed);
        memcpy(prefix, c->prefix, sizeof(prefix));
        atomic_thread_fence(memory_order_acquire);
        s2 = atomic_load_explicit(&c->seq, memory_order_relaxed);
    } while ((s1 & 1) || s1 != s2);
    prefix[sizeof(prefix) - 1] = '\0';

    if (!(ops & op) || !(kinds & kind))
        return 0;
    if (prefix[0]) {
        char link[64], target[4096];
        if (!path) {
            snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, target, sizeof(target) - 1);
            if (n < 0)
                return 0;
            target[n] = '\0';
            path = target;
        }
        if (!under_prefix(prefix, path))
            return 0;
    }
    if (!atomic_load_explicit(&c->armed, memory_order_acquire))
        return 0;
    atomic_fetch_add(&c->match, 1);

    int64_t v = atomic_load(&c->skip);
    while (v > 0)
        if (atomic_compare_exchange_weak(&c->skip, &v, v - 1))
            return 0;
    v = atomic_load(&c->count);
    for (;;) {
        if (v == 0)
            return 0;
        if (v < 0 || atomic_compare_exchange_weak(&c->count, &v, v - 1))
            break;
    }
    atomic_fetch_add(&c->hits, 1);
    if (delay_us > 0) {
        usleep((useconds_t)delay_us); /* slow, not failed */
        return 0;
    }
    return err ? err : EIO;
}

/* ---- open / close ---------------------------------------------------------- */

static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    REAL(open);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    int e = decide(LTFAULT_OP_OPEN, -1, path);
    if (e) {
        errno = e;
        return -1;
    }
    int fd = real_open(path, flags, mode);
    if (fd >= 0)
        fd_track(fd, path);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    REAL(open64);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    int e = decide(LTFAULT_OP_OPEN, -1, path);
    if (e) {
        errno = e;
        return -1;
    }
    int fd = real_open64(path, flags, mode);
    if (fd >= 0)
        fd_track(fd, path);
    return fd;
}

/* The path an openat reaches, for classification and prefixes. */
static const char *at_path(int dirfd, const char *path, char *buf, size_t len)
{
    if (path[0] == '/' || dirfd == AT_FDCWD)
        return path;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, buf, len - 1);
    if (n < 0)
        return path;
    snprintf(buf + n, len - (size_t)n, "/%s", path);
    return buf;
}

int openat(int dirfd, const char *path, int flags, ...)
{
    REAL(openat);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    char buf[4096];
    const char *full = at_path(dirfd, path, buf, sizeof(buf));
    int e = decide(LTFAULT_OP_OPEN, -1, full);
    if (e) {
        errno = e;
        return -1;
    }
    int fd = real_openat(dirfd, path, flags, mode);
    if (fd >= 0)
        fd_track(fd, full);
    return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    REAL(openat64);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    char buf[4096];
    const char *full = at_path(dirfd, path, buf, sizeof(buf));
    int e = decide(LTFAULT_OP_OPEN, -1, full);
    if (e) {
        errno = e;
        return -1;
    }
    int fd = real_openat64(dirfd, path, flags, mode);
    if (fd >= 0)
        fd_track(fd, full);
    return fd;
}

int creat(const char *path, mode_t mode)
{
    return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
    return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd)
{
    REAL(close);
    fd_forget(fd);
    return real_close(fd);
}

int fclose(FILE *f)
{
    REAL(fclose);
    if (f)
        fd_forget(fileno(f));
    return real_fclose(f);
}

/* ---- reads --------------------------------------------------------------------- */

#define FAIL_IF(op, fd, ret)                                                                       \
    do {                                                                                           \
        int e_ = decide((op), (fd), NULL);                                                         \
        if (e_) {                                                                                  \
            errno = e_;                                                                            \
            return (ret);                                                                          \
        }                                                                                          \
    } while (0)

ssize_t read(int fd, void *buf, size_t n)
{
    REAL(read);
    FAIL_IF(LTFAULT_OP_READ, fd, -1);
    return real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    REAL(pread);
    FAIL_IF(LTFAULT_OP_READ, fd, -1);
    return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    REAL(pread64);
    FAIL_IF(LTFAULT_OP_READ, fd, -1);
    return real_pread64(fd, buf, n, off);
}

size_t fread(void *p, size_t size, size_t n, FILE *f)
{
    REAL(fread);
    FAIL_IF(LTFAULT_OP_READ, fileno(f), 0);
    return real_fread(p, size, n, f);
}

/* stdio.h may define fread_unlocked as a macro: the parentheses keep it out */
size_t(fread_unlocked)(void *p, size_t size, size_t n, FILE *f)
{
    REAL(fread_unlocked);
    FAIL_IF(LTFAULT_OP_READ, fileno(f), 0);
    return real_fread_unlocked(p, size, n, f);
}

/* ---- writes ---------------------------------------------------------------------- */

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    FAIL_IF(LTFAULT_OP_WRITE, fd, -1);
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    FAIL_IF(LTFAULT_OP_WRITE, fd, -1);
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REAL(pwrite64);
    FAIL_IF(LTFAULT_OP_WRITE, fd, -1);
    return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(writev);
    FAIL_IF(LTFAULT_OP_WRITE, fd, -1);
    return real_writev(fd, iov, n);
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    REAL(fwrite);
    FAIL_IF(LTFAULT_OP_WRITE, fileno(f), 0);
    return real_fwrite(p, size, n, f);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    REAL(fallocate);
    FAIL_IF(LTFAULT_OP_WRITE, fd, -1);
    return real_fallocate(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    REAL(fallocate64);
    FAIL_IF(LTFAULT_OP_WRITE, fd, -1);
    return real_fallocate64(fd, mode, off, len);
}

/* returns the error number itself, without setting errno */
int posix_fallocate(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate);
    int e = decide(LTFAULT_OP_WRITE, fd, NULL);
    if (e)
        return e;
    return real_posix_fallocate(fd, off, len);
}

/* ---- syncs ------------------------------------------------------------------------- */

int fsync(int fd)
{
    REAL(fsync);
    FAIL_IF(LTFAULT_OP_SYNC, fd, -1);
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    FAIL_IF(LTFAULT_OP_SYNC, fd, -1);
    return real_fdatasync(fd);
}

/* RocksDB asks with flags 0 whether the call is supported (and asserts that
 * it did not fail otherwise than with ENOSYS); the kernel does nothing for
 * flags 0, so a real disk never fails that call: neither do we. */
int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
    REAL(sync_file_range);
    if (flags)
        FAIL_IF(LTFAULT_OP_SYNC, fd, -1);
    return real_sync_file_range(fd, off, n, flags);
}
