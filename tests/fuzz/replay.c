/*
 * replay.c: runs a libFuzzer target over saved inputs without libFuzzer.
 *
 * Linked (by gcc, for `make check`) with one tests/fuzz/fuzz_*.c. Each
 * argument is a file or a directory; a directory's regular files are read
 * in sorted name order, so runs are reproducible. Every input goes to
 * LLVMFuzzerTestOneInput as a heap buffer of exactly its size (sanitizers
 * then see reads past its end). A target reports a bug by crashing or
 * aborting; replay itself fails only when it cannot read an input.
 *
 * Counting: a test is one corpus (one argument, a directory or a file); it
 * passes when every input in it was replayed. Each input replayed is one
 * check. An input that makes the target crash ends the process, and
 * tests/run-all.sh counts a program that dies without its summary line as a
 * failure. The last lines are "replay: checks: ..." and "replay: N passed,
 * N failed" with N counting corpora.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        fprintf(stderr, "replay: %s: read failed\n", path);
        free(buf);
        return -1;
    }
    /* Exact size: the input's last byte ends the allocation. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of dir in sorted order; returns how many, or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*names));
            if (!nn)
                break;
            names = nn;
        }
        names[count] = strdup(e->d_name);
        if (names[count])
            count++;
    }
    closedir(d);
    qsort(names, count, sizeof(*names), by_name);

    long done = 0;
    for (size_t i = 0; i < count; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(plen);
        struct stat st;
        if (path) {
            snprintf(path, plen, "%s/%s", dir, names[i]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (replay_file(path) < 0)
                    done = -1;
                else if (done >= 0)
                    done++;
            }
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    long inputs = 0, unreadable = 0;
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long n = -1;
        if (stat(argv[i], &st) != 0)
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
        else if (S_ISDIR(st.st_mode))
            n = replay_dir(argv[i]);
        else
            n = replay_file(argv[i]) < 0 ? -1 : 1;
        if (n < 0) {
            failed++;
            unreadable++;
            printf("[FAILED] corpus %s: an input could not be read\n", argv[i]);
        } else if (n == 0) {
            failed++;
            printf("[FAILED] corpus %s: no input\n", argv[i]);
        } else {
            passed++;
            inputs += n;
            printf("[ok] corpus %s: %ld inputs replayed\n", argv[i], n);
        }
    }
    printf("replay: checks: 0 reply comparisons, %ld other checks, %ld failed\n",
           inputs + unreadable, unreadable);
    printf("replay: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
