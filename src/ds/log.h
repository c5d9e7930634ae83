/*
 * log.h: logging in Redis's format ("pid:role dd Mon yyyy hh:mm:ss.mmm * msg")
 * to stdout or to `logfile`, filtered by `loglevel`.
 */
#ifndef LT_DS_LOG_H
#define LT_DS_LOG_H

enum log_level { LL_DEBUG = 0, LL_VERBOSE = 1, LL_NOTICE = 2, LL_WARNING = 3, LL_NOTHING = 4 };

void log_set_level(int level);
/* path NULL or "" logs to stdout. Returns 0, or -1 if the file can't be opened. */
int log_set_file(const char *path);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Async-signal-safe line (signal handlers). */
void log_raw_safe(const char *msg);

#define log_debug(...)   log_msg(LL_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LL_VERBOSE, __VA_ARGS__)
#define log_notice(...)  log_msg(LL_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LL_WARNING, __VA_ARGS__)

#endif
