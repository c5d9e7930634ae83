/*
 * fault.c: arming the fault shim from a test (fault.h). The writer side of
 * the control block's sequence lock lives here: seq odd while the rule
 * fields change, even again once they are whole (see ltfault.h).
 */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct fault_ctl {
    struct ltfault_ctl *c;
    char path[PATH_MAX];
    char shim[PATH_MAX];
};

static char *saved_env[3];
static int saved_set[3];
static const char *const env_names[3] = {"LD_PRELOAD", "LTFAULT_CTL", "ASAN_OPTIONS"};

static int find_shim(char *out, size_t len)
{
    const char *env = getenv("LTFAULT_SO");
    if (env && *env) {
        snprintf(out, len, "%s", env);
    } else {
        char exe[PATH_MAX - 32];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0)
            return -1;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(out, len, "%s/../fault/ltfault.so", exe);
    }
    char real[PATH_MAX];
    if (!realpath(out, real))
        return -1;
    snprintf(out, len, "%s", real);
    return 0;
}

fault_ctl *fault_ctl_create(void)
{
    fault_ctl *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    if (find_shim(f->shim, sizeof(f->shim)) != 0) {
        printf("fault: the shim ltfault.so is not built (%s); set LTFAULT_SO\n", f->shim);
        free(f);
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(f->path, sizeof(f->path), "%s/ltfault-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(f->path);
    if (fd < 0 || ftruncate(fd, sizeof(struct ltfault_ctl)) != 0) {
        printf("fault: cannot create %s: %s\n", f->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(f);
        return NULL;
    }
    void *p = mmap(NULL, sizeof(struct ltfault_ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        printf("fault: mmap %s: %s\n", f->path, strerror(errno));
        unlink(f->path);
        free(f);
        return NULL;
    }
    f->c = p;
    f->c->magic = LTFAULT_MAGIC;
    return f;
}

void fault_ctl_free(fault_ctl *f)
{
    if (!f)
        return;
    munmap(f->c, sizeof(*f->c));
    unlink(f->path);
    free(f);
}

const char *fault_shim_path(const fault_ctl *f)
{
    return f->shim;
}

void fault_env_set(const fault_ctl *f)
{
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(env_names[i]);
        saved_set[i] = v != NULL;
        free(saved_env[i]);
        saved_env[i] = v ? strdup(v) : NULL;
    }
    setenv("LD_PRELOAD", f->shim, 1);
    setenv("LTFAULT_CTL", f->path, 1);
    char asan[1024];
    const char *old = saved_env[2];
    snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", old ? old : "",
             old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
}

void fault_env_clear(void)
{
    for (int i = 0; i < 3; i++) {
        if (saved_set[i])
            setenv(env_names[i], saved_env[i], 1);
        else
            unsetenv(env_names[i]);
        free(saved_env[i]);
        saved_env[i] = NULL;
        saved_set[i] = 0;
    }
}

static void arm_rule(fault_ctl *f, uint32_t ops, uint32_t kinds, int err, int64_t delay_us,
                     int64_t skip, int64_t count, const char *prefix)
{
    struct ltfault_ctl *c = f->c;
    char canon[PATH_MAX] = "";
    if (prefix && *prefix && !realpath(prefix, canon))
        snprintf(canon, sizeof(canon), "%s", prefix);

    atomic_store(&c->armed, 0);
    atomic_fetch_add(&c->seq, 1); /* odd: readers retry */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&c->ops, ops, memory_order_relaxed);
    atomic_store_explicit(&c->kinds, kinds, memory_order_relaxed);
    atomic_store_explicit(&c->err, err, memory_order_relaxed);
    atomic_store_explicit(&c->delay_us, delay_us, memory_order_relaxed);
    snprintf(c->prefix, sizeof(c->prefix), "%s", canon);
    atomic_store(&c->skip, skip);
    atomic_store(&c->count, count);
    atomic_store(&c->hits, 0);
    atomic_store(&c->match, 0);
    atomic_fetch_add_explicit(&c->seq, 1, memory_order_release); /* even: whole again */
    atomic_store(&c->armed, 1);
}

void fault_arm(fault_ctl *f, uint32_t ops, uint32_t kinds, int err, int64_t skip, int64_t count,
               const char *prefix)
{
    arm_rule(f, ops, kinds, err, 0, skip, count, prefix);
}

void fault_slow(fault_ctl *f, uint32_t ops, uint32_t kinds, int64_t delay_us, const char *prefix)
{
    arm_rule(f, ops, kinds, 0, delay_us, 0, -1, prefix);
}

void fault_disarm(fault_ctl *f)
{
    atomic_store(&f->c->armed, 0);
}

uint64_t fault_hits(const fault_ctl *f)
{
    return atomic_load(&f->c->hits);
}

uint64_t fault_matched(const fault_ctl *f)
{
    return atomic_load(&f->c->match);
}
