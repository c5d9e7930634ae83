/*
 * log.c: Redis-format log lines. The role character is always 'M' (longtail
 * has no replicas yet); the level marks are Redis's: . - * #
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ds/log.h"

static int min_level = LL_NOTICE;
static int log_fd = STDOUT_FILENO;

void log_set_level(int level)
{
    min_level = level;
}

int log_set_file(const char *path)
{
    int fd = STDOUT_FILENO;
    if (path && path[0]) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
    }
    if (log_fd != STDOUT_FILENO)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[1024], line[1200], when[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));
    static const char marks[] = ".-*#";
    int n = snprintf(line, sizeof(line), "%d:M %s %c %s\n", (int)getpid(), when,
                     marks[level > LL_WARNING ? LL_WARNING : level], msg);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}

void log_raw_safe(const char *msg)
{
    ssize_t w = write(log_fd, msg, strlen(msg));
    (void)w;
}
