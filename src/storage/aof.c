/*
 * aof.c: the effect log's files: the append buffer, writes and fsyncs,
 * numbered files, and the replay reader (aof.h).
 *
 * The buffer holds RESP arrays exactly as they go to disk. Positions count
 * bytes of a file: a position taken while bytes are buffered names where
 * they will be once written, which holds because a failed write is cut
 * back and retried at the same offset of the same file, and a new file is
 * started only with an empty buffer.
 */
#include "storage/aof.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ds/alloc.h"
#include "ds/log.h"
#include "ds/util.h"

#define AOF_SUFFIX ".incr.aof"

struct aof {
    char *dir, *base;
    int fd;           /* current file, -1 before aof_start */
    uint64_t seq;     /* its number */
    uint64_t written; /* bytes of it written whole */
    int selected;     /* db selected at the end of the buffer */
    int fd_broken;    /* reopen before the next write */

    char *buf;
    size_t len, cap;

    char failed[256]; /* why the last write failed, "" when it works */

    /* appendfsync everysec: the thread, and what it found */
    pthread_t thread;
    int thread_running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t synced; /* bytes of the current file known fsynced */
    char sync_err[256];

    struct aof_stats stats;
};

/* ---- names --------------------------------------------------------------- */

static char *file_path(const aof *a, uint64_t seq)
{
    size_t n = strlen(a->dir) + strlen(a->base) + 48;
    char *p = heap_malloc(n);
    snprintf(p, n, "%s/%s.%llu%s", a->dir, a->base, (unsigned long long)seq, AOF_SUFFIX);
    return p;
}

/* The number of a log file's name, or 0 when it is not one of ours. */
static uint64_t file_seq(const aof *a, const char *name)
{
    size_t bl = strlen(a->base), nl = strlen(name), sl = strlen(AOF_SUFFIX);
    if (nl <= bl + 1 + sl || strncmp(name, a->base, bl) || name[bl] != '.' ||
        strcmp(name + nl - sl, AOF_SUFFIX))
        return 0;
    unsigned long long v;
    if (!util_str2ull(name + bl + 1, nl - bl - 1 - sl, &v))
        return 0;
    return v;
}

static int seq_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* The numbers of the log files present, ascending (heap); -1 on error. */
static int list_files(const aof *a, uint64_t **out)
{
    DIR *d = opendir(a->dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    uint64_t *v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t s = file_seq(a, e->d_name);
        if (!s)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = heap_realloc(v, (size_t)cap * sizeof(*v));
        }
        v[n++] = s;
    }
    closedir(d);
    if (n)
        qsort(v, (size_t)n, sizeof(*v), seq_cmp);
    *out = v;
    return n;
}

static void sync_dir(const aof *a)
{
    int fd = open(a->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static char *errorf(const char *what, const char *path)
{
    char m[512];
    snprintf(m, sizeof(m), "%s %s: %s", what, path, strerror(errno));
    return heap_strdup(m);
}

/* ---- open, close ---------------------------------------------------------- */

int aof_open(aof **out, const char *dir, const char *base, char **err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        *err = errorf("Can't create the log directory", dir);
        return -1;
    }
    aof *a = heap_calloc(1, sizeof(*a));
    a->dir = heap_strdup(dir);
    a->base = heap_strdup(base);
    a->fd = -1;
    a->selected = -1;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    *out = a;
    return 0;
}

void aof_close(aof *a)
{
    if (!a)
        return;
    aof_sync_thread_stop(a);
    if (a->fd >= 0) {
        if (a->len)
            (void)aof_flush(a, 1);
        else
            (void)fsync(a->fd);
        close(a->fd);
    }
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a->buf);
    free(a->dir);
    free(a->base);
    free(a);
}

/* Opens file seq for appending, created if missing; 0 or -1 (errno). */
static int open_file(aof *a, uint64_t seq, char **err)
{
    char *path = file_path(a, seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (err)
            *err = errorf("Can't open the log file", path);
        free(path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        if (err)
            *err = errorf("Can't stat the log file", path);
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    pthread_mutex_lock(&a->lock);
    if (a->fd >= 0)
        close(a->fd);
    a->fd = fd;
    a->seq = seq;
    a->written = a->synced = (uint64_t)st.st_size;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

int aof_start(aof *a, uint64_t min_seq, char **err)
{
    uint64_t *seqs;
    int n = list_files(a, &seqs);
    if (n < 0) {
        *err = errorf("Can't read the log directory", a->dir);
        return -1;
    }
    uint64_t next = (n && seqs[n - 1] > min_seq ? seqs[n - 1] : min_seq) + 1;
    free(seqs);
    if (open_file(a, next, err) != 0)
        return -1;
    sync_dir(a);
    a->selected = -1;
    return 0;
}

/* ---- appending ------------------------------------------------------------ */

static void buf_reserve(aof *a, size_t more)
{
    if (a->len + more <= a->cap)
        return;
    size_t cap = a->cap ? a->cap * 2 : 64 * 1024;
    while (cap < a->len + more)
        cap *= 2;
    a->buf = heap_realloc(a->buf, cap);
    a->cap = cap;
}

static void buf_put(aof *a, const void *p, size_t n)
{
    buf_reserve(a, n);
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

/* "<c><n>\r\n" */
static void buf_header(aof *a, char c, long long n)
{
    char h[32];
    h[0] = c;
    int l = util_ll2str(h + 1, sizeof(h) - 1, n);
    h[l + 1] = '\r';
    h[l + 2] = '\n';
    buf_put(a, h, (size_t)l + 3);
}

void aof_arg(aof *a, const char *p, size_t len)
{
    buf_reserve(a, len + 32);
    buf_header(a, '$', (long long)len);
    buf_put(a, p, len);
    buf_put(a, "\r\n", 2);
}

void aof_arg_ll(aof *a, long long v)
{
    char d[32];
    int l = util_ll2str(d, sizeof(d), v);
    aof_arg(a, d, (size_t)l);
}

void aof_begin(aof *a, int dbindex, int argc)
{
    if (dbindex >= 0 && dbindex != a->selected) {
        buf_header(a, '*', 2);
        aof_arg(a, "SELECT", 6);
        aof_arg_ll(a, dbindex);
        a->selected = dbindex;
    }
    buf_header(a, '*', argc);
}

void aof_position(const aof *a, struct aof_pos *pos)
{
    pos->seq = a->seq;
    pos->off = a->written + a->len;
    pos->db = a->selected;
}

size_t aof_pending(const aof *a)
{
    return a->len;
}

const char *aof_failed(const aof *a)
{
    if (a->failed[0])
        return a->failed;
    return a->sync_err[0] ? a->sync_err : NULL;
}

static void fail(aof *a, const char *what)
{
    snprintf(a->failed, sizeof(a->failed), "%s (%s)", strerror(errno), what);
}

/* Reopens the current file after a failed write, cut back to the bytes
 * written whole. */
static int reopen(aof *a)
{
    uint64_t keep = a->written;
    if (open_file(a, a->seq, NULL) != 0) {
        fail(a, "reopening the log file");
        return -1;
    }
    if (a->written != keep && ftruncate(a->fd, (off_t)keep) != 0) {
        fail(a, "cutting back the log file");
        return -1;
    }
    a->written = a->synced = keep;
    a->fd_broken = 0;
    return 0;
}

int aof_sync(aof *a)
{
    pthread_mutex_lock(&a->lock);
    int rc = 0;
    if (a->fd >= 0 && a->synced < a->written) {
        uint64_t upto = a->written;
        int64_t t0 = util_mstime();
        if (fdatasync(a->fd) != 0) {
            snprintf(a->sync_err, sizeof(a->sync_err), "%s (fsync of the log file)",
                     strerror(errno));
            a->stats.fsync_errors++;
            rc = -1;
        } else {
            a->synced = upto;
            a->sync_err[0] = 0;
            a->stats.fsyncs++;
            a->stats.pending_fsyncs = 0;
            if (util_mstime() - t0 > 2000)
                a->stats.delayed_fsync++;
        }
        a->stats.last_fsync_ms = util_mstime();
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int aof_flush(aof *a, int sync)
{
    if (a->fd < 0)
        return -1;
    if (a->fd_broken && reopen(a) != 0)
        return -1;
    size_t done = 0;
    while (done < a->len) {
        ssize_t n = write(a->fd, a->buf + done, a->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            fail(a, "writing the log file");
            a->stats.write_errors++;
            /* cut back to the last whole write; the buffer stays */
            int saved = errno;
            if (ftruncate(a->fd, (off_t)a->written) != 0)
                a->fd_broken = 1;
            errno = saved;
            return -1;
        }
        done += (size_t)n;
    }
    if (a->len) {
        pthread_mutex_lock(&a->lock);
        a->written += a->len;
        a->stats.pending_fsyncs++;
        pthread_mutex_unlock(&a->lock);
        a->stats.writes++;
        a->stats.bytes_written += (long long)a->len;
        a->len = 0;
    }
    a->failed[0] = 0;
    if ((sync || a->sync_err[0]) && aof_sync(a) != 0) {
        snprintf(a->failed, sizeof(a->failed), "%s", a->sync_err);
        return -1;
    }
    if (a->cap > (1u << 20)) { /* a big tick's buffer is given back */
        free(a->buf);
        a->buf = NULL;
        a->cap = 0;
    }
    return 0;
}

int aof_rotate_if(aof *a, uint64_t min_bytes)
{
    if (a->fd < 0 || a->len || a->written < min_bytes || aof_failed(a))
        return 0;
    if (aof_sync(a) != 0)
        return -1;
    if (open_file(a, a->seq + 1, NULL) != 0) {
        fail(a, "creating a log file");
        return -1;
    }
    sync_dir(a);
    a->selected = -1; /* every file names its db before its first command */
    a->stats.rotations++;
    return 0;
}

void aof_drop_below(aof *a, uint64_t seq)
{
    uint64_t *seqs;
    int n = list_files(a, &seqs);
    int dropped = 0;
    for (int i = 0; i < n && seqs[i] < seq; i++) {
        if (seqs[i] == a->seq)
            continue;
        char *p = file_path(a, seqs[i]);
        if (unlink(p) == 0) {
            dropped++;
            a->stats.deleted_files++;
        } else {
            log_warning("Can't delete the log file %s: %s", p, strerror(errno));
        }
        free(p);
    }
    free(seqs);
    if (dropped)
        sync_dir(a);
}

void aof_retire(aof *a)
{
    aof_sync_thread_stop(a);
    if (a->fd >= 0) {
        close(a->fd);
        a->fd = -1;
    }
    a->seq = UINT64_MAX; /* no file is the current one */
    aof_drop_below(a, UINT64_MAX);
}

/* ---- appendfsync everysec ------------------------------------------------- */

static void *sync_main(void *arg)
{
    aof *a = arg;
    pthread_mutex_lock(&a->lock);
    while (a->thread_running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&a->cond, &a->lock, &ts);
        if (!a->thread_running)
            break;
        pthread_mutex_unlock(&a->lock);
        (void)aof_sync(a);
        pthread_mutex_lock(&a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

void aof_sync_thread_start(aof *a)
{
    if (a->thread_running)
        return;
    a->thread_running = 1;
    if (pthread_create(&a->thread, NULL, sync_main, a) != 0) {
        a->thread_running = 0;
        log_warning("Can't start the log's fsync thread: every write is fsynced instead");
    }
}

void aof_sync_thread_stop(aof *a)
{
    pthread_mutex_lock(&a->lock);
    int was = a->thread_running;
    a->thread_running = 0;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (was)
        pthread_join(a->thread, NULL);
}

/* ---- sizes ---------------------------------------------------------------- */

void aof_sizes(const aof *a, int *files, uint64_t *total, uint64_t *current)
{
    uint64_t *seqs;
    int n = list_files(a, &seqs);
    *files = n < 0 ? 0 : n;
    *total = 0;
    for (int i = 0; i < n; i++) {
        char *p = file_path(a, seqs[i]);
        struct stat st;
        if (stat(p, &st) == 0)
            *total += (uint64_t)st.st_size;
        free(p);
    }
    free(seqs);
    *current = a->written;
}

const struct aof_stats *aof_stats_of(const aof *a)
{
    return &a->stats;
}

const char *aof_dir(const aof *a)
{
    return a->dir;
}

/* ---- replay --------------------------------------------------------------- */

int aof_parse_command(const char *p, size_t n, size_t *used, int *argc, str **argv)
{
    size_t i = 0;
    long long count;
    const char *nl;
    if (n == 0)
        return 0;
    if (p[0] != '*')
        return -1;
    if (!(nl = memchr(p, '\r', n)) || (size_t)(nl - p) + 1 >= n)
        return 0;
    if (!util_str2ll(p + 1, (size_t)(nl - p) - 1, &count) || count < 1 || count > 1024 * 1024 ||
        nl[1] != '\n')
        return -1;
    i = (size_t)(nl - p) + 2;
    str *v = heap_calloc((size_t)count, sizeof(*v));
    int got = 0, rc = 1;
    while (got < count) {
        long long len;
        if (i >= n) {
            rc = 0;
            break;
        }
        if (p[i] != '$') {
            rc = -1;
            break;
        }
        if (!(nl = memchr(p + i, '\r', n - i)) || (size_t)(nl - p) + 1 >= n) {
            rc = 0;
            break;
        }
        if (!util_str2ll(p + i + 1, (size_t)(nl - p) - i - 1, &len) || len < 0 ||
            len > 512LL * 1024 * 1024 || nl[1] != '\n') {
            rc = -1;
            break;
        }
        i = (size_t)(nl - p) + 2;
        if (n - i < (size_t)len + 2) {
            rc = 0;
            break;
        }
        if (p[i + (size_t)len] != '\r' || p[i + (size_t)len + 1] != '\n') {
            rc = -1;
            break;
        }
        v[got++] = str_new(p + i, (size_t)len);
        i += (size_t)len + 2;
    }
    if (rc != 1) {
        for (int k = 0; k < got; k++)
            str_free(v[k]);
        free(v);
        return rc;
    }
    *used = i;
    *argc = (int)count;
    *argv = v;
    return 1;
}

static void free_args(int argc, str *argv)
{
    for (int i = 0; i < argc; i++)
        str_free(argv[i]);
    free(argv);
}

/* The commands of an open MULTI, held until its EXEC. */
struct held {
    int n, cap;
    struct {
        int argc;
        str *argv;
    } * c;
    int open;
    uint64_t start; /* file offset of the MULTI */
};

static void held_clear(struct held *h)
{
    for (int i = 0; i < h->n; i++)
        free_args(h->c[i].argc, h->c[i].argv);
    h->n = 0;
    h->open = 0;
}

struct replay {
    aof *a;
    int (*fn)(void *ctx, int argc, str *argv, char **err);
    void *ctx;
    long long delivered;
    struct held held;
};

static int is_cmd(int argc, str *argv, const char *name)
{
    return argc == 1 && str_eqi(argv[0], name);
}

/* Delivers or holds one parsed command; takes argv. 0 or -1 (fn failed). */
static int replay_one(struct replay *r, int argc, str *argv, uint64_t at, char **err)
{
    struct held *h = &r->held;
    if (is_cmd(argc, argv, "MULTI") && !h->open) {
        h->open = 1; /* delivered with its EXEC */
        h->start = at;
        free_args(argc, argv);
        return 0;
    } else if (is_cmd(argc, argv, "EXEC") && !h->open) {
        /* replay began inside a transaction the checkpoint covers in part */
        free_args(argc, argv);
        return 0;
    } else if (h->open && !is_cmd(argc, argv, "EXEC")) {
        if (h->n == h->cap) {
            h->cap = h->cap ? h->cap * 2 : 16;
            h->c = heap_realloc(h->c, (size_t)h->cap * sizeof(*h->c));
        }
        h->c[h->n].argc = argc;
        h->c[h->n].argv = argv;
        h->n++;
        return 0;
    }
    if (h->open && is_cmd(argc, argv, "EXEC")) {
        str multi[1] = {str_new("MULTI", 5)};
        int rc = r->fn(r->ctx, 1, multi, err);
        str_free(multi[0]);
        for (int i = 0; rc == 0 && i < h->n; i++)
            rc = r->fn(r->ctx, h->c[i].argc, h->c[i].argv, err);
        if (rc == 0)
            rc = r->fn(r->ctx, argc, argv, err);
        r->delivered += h->n + 2;
        held_clear(h);
        free_args(argc, argv);
        return rc ? -1 : 0;
    }
    int rc = r->fn(r->ctx, argc, argv, err);
    r->delivered++;
    free_args(argc, argv);
    return rc ? -1 : 0;
}

/* Replays file seq from offset off. last: it is the last file (a torn
 * tail may be cut). 0, or -1 with *err. */
static int replay_file(struct replay *r, uint64_t seq, uint64_t off, int db, int last,
                       int truncated_ok, char **err)
{
    char *path = file_path(r->a, seq);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *err = errorf("Can't open the log file", path);
        free(path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < off) {
        /* a checkpoint covers more than was written whole: nothing left */
        close(fd);
        free(path);
        return 0;
    }
    if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
        *err = errorf("Can't seek in the log file", path);
        close(fd);
        free(path);
        return -1;
    }
    if (db >= 0 && off > 0) {
        str sel[2] = {str_new("SELECT", 6), str_fromll(db)};
        int rc = r->fn(r->ctx, 2, sel, err);
        str_free(sel[0]);
        str_free(sel[1]);
        if (rc) {
            close(fd);
            free(path);
            return -1;
        }
    }
    size_t cap = 1 << 20, len = 0, pos = 0;
    char *buf = heap_malloc(cap);
    uint64_t at = off; /* file offset of buf[pos] */
    int eof = 0, rc = 0;
    for (;;) {
        int argc;
        str *argv;
        size_t used;
        int p = aof_parse_command(buf + pos, len - pos, &used, &argc, &argv);
        if (p == 1) {
            if (replay_one(r, argc, argv, at, err) != 0) {
                rc = -1;
                break;
            }
            pos += used;
            at += used;
            continue;
        }
        if (p < 0) {
            char m[600];
            snprintf(m, sizeof(m), "Bad file format reading the append only file %s at offset %llu",
                     path, (unsigned long long)at);
            *err = heap_strdup(m);
            rc = -1;
            break;
        }
        if (eof)
            break;
        /* need more bytes */
        memmove(buf, buf + pos, len - pos);
        len -= pos;
        pos = 0;
        if (len == cap) {
            cap *= 2;
            buf = heap_realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errorf("Can't read the log file", path);
            rc = -1;
            break;
        }
        if (n == 0)
            eof = 1;
        len += (size_t)n;
    }
    if (rc == 0 && (pos < len || r->held.open)) {
        /* a torn last record, or a transaction without its EXEC */
        uint64_t keep = r->held.open ? r->held.start : at;
        if (!last || !truncated_ok) {
            char m[600];
            snprintf(m, sizeof(m),
                     "Unexpected end of file reading the append only file %s at offset %llu%s",
                     path, (unsigned long long)keep,
                     last ? ": set aof-load-truncated yes to load what is whole" : "");
            *err = heap_strdup(m);
            rc = -1;
        } else if (ftruncate(fd, (off_t)keep) != 0) {
            *err = errorf("Can't cut the torn tail of the log file", path);
            rc = -1;
        } else {
            log_warning("!!! Warning: short read while loading the AOF file %s!!! AOF loaded "
                        "anyway because aof-load-truncated is enabled; %llu bytes cut at "
                        "offset %llu",
                        path, (unsigned long long)((uint64_t)st.st_size - keep),
                        (unsigned long long)keep);
            (void)fsync(fd);
        }
        held_clear(&r->held);
    }
    free(buf);
    close(fd);
    free(path);
    return rc;
}

long long aof_replay(aof *a, const struct aof_pos *from, int truncated_ok,
                     int (*fn)(void *ctx, int argc, str *argv, char **err), void *ctx, char **err)
{
    uint64_t *seqs;
    int n = list_files(a, &seqs);
    if (n < 0) {
        *err = errorf("Can't read the log directory", a->dir);
        return -1;
    }
    struct replay r = {a, fn, ctx, 0, {0}};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (seqs[i] < from->seq)
            continue;
        int here = seqs[i] == from->seq;
        rc = replay_file(&r, seqs[i], here ? from->off : 0, here ? from->db : -1, i == n - 1,
                         truncated_ok, err);
    }
    free(seqs);
    held_clear(&r.held);
    free(r.held.c);
    return rc ? -1 : r.delivered;
}
