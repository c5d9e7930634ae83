/*
 * harness.h: the integration-test harness shared by lt-script, lt-restart,
 * lt-bigdata and lt-badinput.
 *
 * - lt_server: a server binary (longtail-server or redis-server, same command
 *   line) run as a child process on a free port, in a fresh temporary
 *   directory that is removed at the end unless the test failed.
 * - lt_conn: a client connection. hiredis opens it (with timeouts) and
 *   formats commands; replies are read by our own RESP2/RESP3 reader, because
 *   Debian's hiredis 0.14 has no RESP3 support and the scripts need every
 *   reply type, exactly as sent.
 * - lt_reply_format: any reply as one canonical line of text, the form the
 *   command scripts compare against (see scripts/README.md).
 * - tests and checks: a test (lt_test_begin) is a named unit of behaviour that
 *   passes or fails as a whole; the checks inside it (lt_check,
 *   lt_check_reply) are counted apart. Each binary ends with a line of its
 *   checks and then "<name>: N passed, N failed" counting tests, and a
 *   non-zero exit status on any failure.
 *
 * Invariants: a started server is always a direct child of the test process
 * and dies with it (PR_SET_PDEATHSIG), so a test killed by its timeout leaves
 * no server behind. SIGPIPE is ignored once the harness is used.
 */
#ifndef LT_TESTS_HARNESS_H
#define LT_TESTS_HARNESS_H

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- growable buffer ---------------------------------------------------- */

typedef struct lt_buf {
    char *p;
    size_t len, cap;
} lt_buf;

void lt_buf_append(lt_buf *b, const void *p, size_t n);
void lt_buf_puts(lt_buf *b, const char *s);
void lt_buf_printf(lt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The NUL-terminated contents, ownership passes to the caller; "b" is reset. */
char *lt_buf_take(lt_buf *b);
/* The whole file at path (malloc'd, NUL-terminated; its size in *len when
 * len is not NULL), or NULL when it cannot be read. */
char *lt_read_file(const char *path, size_t *len);

/* ---- servers ------------------------------------------------------------ */

#define LT_MAX_ARGS 64

typedef struct lt_server {
    char bin[PATH_MAX];       /* the server binary */
    char root[PATH_MAX - 64]; /* mkdtemp directory owning everything below */
    char dir[PATH_MAX];       /* root/data: the server's --dir */
    char log[PATH_MAX];       /* root/server.log: the server's --logfile */
    char out[PATH_MAX];       /* root/stdout.log: the child's stdout and stderr */
    int port;
    pid_t pid;            /* 0 when not running */
    int start_timeout_ms; /* how long start waits for PING (default 10 s) */
    int nargs;
    char *args[LT_MAX_ARGS]; /* extra arguments, owned copies */
} lt_server;

/*
 * Start "bin" with --port, --dir and --logfile followed by the "nextra"
 * arguments in "extra" (copied). Picks a random free port in 20000-60000 and
 * retries with another if the server could not bind it. Returns 0 once the
 * server answers PING, or -1 (with the tail of its logs printed).
 */
int lt_server_start(lt_server *s, const char *bin, const char *const *extra, int nextra);

/*
 * lt_server_start in two steps, for a test that prepares the directory
 * first (mounts a file system on s->dir, ...): prepare makes the
 * directories and copies the arguments, launch starts the server on a new
 * port and waits for PING. Same return values.
 */
int lt_server_prepare(lt_server *s, const char *bin, const char *const *extra, int nextra);
int lt_server_launch(lt_server *s);

/* Start the server again on the same directory and port, after stop or
 * kill; on a fresh port (s->port) if another process took it meanwhile. */
int lt_server_restart(lt_server *s);

/*
 * Start another process of the same binary on the same directory (with a new
 * port) and wait up to "timeout_ms" for it to exit; returns its exit status,
 * or -1 if it was still running (it is then killed). Used to check that a
 * second server refuses a directory in use.
 */
int lt_server_start_second(lt_server *s, int timeout_ms);

/*
 * SIGTERM and wait (up to 30 s, then SIGKILL). Returns the exit status
 * (0-255), 128 + signal number if a signal ended it, -1 if not running.
 */
int lt_server_stop(lt_server *s);

/* Wait up to "timeout_ms" for the server to exit by itself (SHUTDOWN).
 * Returns as lt_server_stop, or -2 if it still runs. */
int lt_server_wait(lt_server *s, int timeout_ms);

/* SIGKILL and wait. Returns as lt_server_stop. */
int lt_server_kill(lt_server *s);

/* 1 if the child is still running (reaps it otherwise). */
int lt_server_alive(lt_server *s);

/* Print the last "lines" lines of the server's log and of its stdout/stderr. */
void lt_server_print_logs(const lt_server *s, int lines);

/*
 * Kill the server if it runs, free the arguments, and remove the temporary
 * directory, unless "failed": then keep it and print its path.
 */
void lt_server_cleanup(lt_server *s, int failed);

/* A hiredis connection to the server (RESP2 only with hiredis 0.14). */
redisContext *lt_connect(const lt_server *s, int timeout_ms);

/* ---- replies ------------------------------------------------------------ */

/*
 * One reply, as read from the wire. "type" is the RESP type byte:
 *   '+' status, '-' error, ':' integer, '$' bulk, '*' array, '%' map,
 *   '~' set, '>' push, '|' attribute (never at top level: see attr),
 *   ',' double, '#' boolean, '=' verbatim, '_' null, '(' big number,
 *   '!' blob error.
 * RESP2 null bulk and null array keep type '$' / '*' with "null" set.
 * Maps and attributes hold 2 * n elements (key, value, ...).
 */
typedef struct lt_reply {
    char type;
    int null;
    long long integer; /* ':' and '#' (0/1) */
    char *str;         /* text of + - $ , = ( ! (NUL-terminated copy) */
    size_t len;
    size_t n; /* number of elements (entries for maps) */
    struct lt_reply **elem;
    struct lt_reply *attr; /* attribute sent before this reply, or NULL */
} lt_reply;

void lt_reply_free(lt_reply *r);

/*
 * The canonical one-line text of a reply (malloc'd):
 *   +OK  -ERR msg  :12  "bulk"  (nil)  *(nil)  *2["a",:1]  %1{"k":"v"}
 *   ~2{"a","b"} (elements sorted)  >2["a","b"]  ,1.5  #t  #f  _  (123
 *   =txt:"text"  !"blob error"  and |1{"k":"v"} in front of attributed replies.
 * Bulk text is quoted with C-style escapes (\" \\ \r \n \t \xHH).
 */
char *lt_reply_format(const lt_reply *r);

/* Append "p[0..n)" to "out" quoted-string-escaped (no surrounding quotes). */
void lt_escape(lt_buf *out, const char *p, size_t n);

/* The same canonical form for a hiredis reply (malloc'd). */
char *lt_redis_reply_format(const redisReply *r);

/* Sort the elements of an array/set/push reply (maps: by entry) by canonical text. */
void lt_reply_sort(lt_reply *r);

/* ---- connections -------------------------------------------------------- */

#define LT_OK          0
#define LT_ERR_IO      (-1) /* write or read failed, or reset */
#define LT_ERR_EOF     (-2) /* the server closed the connection */
#define LT_ERR_TIMEOUT (-3)
#define LT_ERR_PROTO   (-4) /* the server sent something that is not RESP */

typedef struct lt_conn {
    redisContext *ctx; /* owns the socket */
    int fd;
    int timeout_ms; /* for each read */
    char *buf;      /* received, not yet parsed bytes: buf[off..len) */
    size_t len, off, cap;
} lt_conn;

/* Connect to 127.0.0.1:"port"; NULL on failure. */
lt_conn *lt_conn_open(int port, int timeout_ms);
void lt_conn_close(lt_conn *c);

/* Queue a command (sent at once, buffered by the kernel). 0 or LT_ERR_IO. */
int lt_conn_send_argv(lt_conn *c, int argc, const char **argv, const size_t *lens);
int lt_conn_send_raw(lt_conn *c, const void *p, size_t n);

/* Send a command given as printf-free NULL-terminated C strings. */
int lt_conn_send(lt_conn *c, const char *arg0, ...);

/* Read one reply into "*out". Returns LT_OK or one of LT_ERR_*. */
int lt_conn_read(lt_conn *c, lt_reply **out);

/* Send argv and read its reply; NULL on any error (printed). */
lt_reply *lt_conn_call_argv(lt_conn *c, int argc, const char **argv, const size_t *lens);

/* Send NULL-terminated C-string arguments and read the reply; NULL on error. */
lt_reply *lt_conn_call(lt_conn *c, const char *arg0, ...);

/* Wait up to "timeout_ms" for the server to close the connection: 1 if it did. */
int lt_conn_wait_closed(lt_conn *c, int timeout_ms);

/* Call and return the canonical text of the reply (malloc'd, "(error)" on failure). */
char *lt_conn_call_text(lt_conn *c, const char *arg0, ...);

/* Parse the "field:value" lines of an INFO reply: value of "field" as a
 * long long in "*out"; returns 0 if found. */
int lt_info_field(const lt_reply *r, const char *field, long long *out);
/* INFO section over c (NULL allowed): the number of "field", or -1 when
 * there is no such field (or no reply). */
long long lt_conn_info(lt_conn *c, const char *section, const char *field);
/* Waits until longtail has written every change into a checkpoint (INFO
 * persistence checkpoint_dirty_keys and checkpoint_in_progress are 0):
 * 0, or -1 after timeout_ms. A server without those fields (redis-server)
 * has nothing to wait for: 0 at once. */
int lt_wait_checkpointed(lt_conn *c, int timeout_ms);

/* ---- tests and checks --------------------------------------------------- */

/*
 * A test is a named unit of behaviour that passes or fails as a whole, and is
 * counted once; a check is one assertion inside it. lt_test_begin("name")
 * starts a test (ending the one before); a test fails if any check inside it
 * failed, or if it made no check at all. Each ended test prints "[ok] name: ..." or "[FAILED] name:
 * ...".
 *
 * Checks are of two kinds: reply comparisons (a server's reply compared with
 * the expected one: lt_check_reply, lt_check_replied) and other checks
 * (lt_check). Every check must belong to a test: checks made outside any test
 * count as one more failed test, so no assertion can escape the count.
 *
 * lt_report ends the open test and prints
 *   <name>: checks: R reply comparisons, O other checks, F failed
 *   <name>: N passed, N failed            (tests)
 */

extern int lt_verbose;

/*
 * Declare that the program runs "ntests" tests (printed as "plan: N tests"):
 * lt_report counts each one never begun (an early return after a failure) as
 * failed, and running more than planned as one failed test too (the plan is
 * wrong); tests/run-all.sh counts the tests not passed as failed when the
 * program dies before its summary.
 */
void lt_plan(int ntests);

/* Start test "name" (copied), ending the one that is open. */
void lt_test_begin(const char *name);

/* End the open test (if any); returns 1 if it passed. */
int lt_test_end(void);

/*
 * End the open test as skipped, saying "why": it counts as neither passed nor
 * failed (the plan still counts it as run). Only for a test with nothing to
 * check in this run, such as a script of longtail's own commands run against
 * redis-server; a test that made a check cannot be skipped (it ends as usual).
 */
void lt_test_skip(const char *why);

/* Checks failed so far, in all tests (to keep a failed server's directory). */
int lt_checks_failed(void);

/* Checks failed so far in the open test. */
int lt_test_checks_failed(void);

/* Count one check without printing: "reply" 1 for a reply comparison. For
 * callers that print their own diagnostics (lt-script). */
void lt_count_check(int reply, int ok);

/* Count one check; on failure print "file:line: message". Returns "ok". */
int lt_check_at(const char *file, int line, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define lt_check(ok, ...) lt_check_at(__FILE__, __LINE__, (ok) ? 1 : 0, __VA_ARGS__)

/* The same, counted as a reply comparison: "ok" says whether a server's reply
 * (or what it sent) matched the expected one. */
int lt_check_replied_at(const char *file, int line, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define lt_check_replied(ok, ...) lt_check_replied_at(__FILE__, __LINE__, (ok) ? 1 : 0, __VA_ARGS__)

/* Check that the canonical text of "r" equals "expected" (frees nothing): a
 * reply comparison. */
int lt_check_reply_at(const char *file, int line, const lt_reply *r, const char *expected,
                      const char *what);
#define lt_check_reply(r, expected, what)                                                          \
    lt_check_reply_at(__FILE__, __LINE__, (r), (expected), (what))

/* End the open test and print the checks line and "<name>: N passed, N
 * failed" (tests); returns the process exit status (1 if anything failed). */
int lt_report(const char *name);

/* Append one command in RESP form to "b" (to send a pipeline in one write). */
void lt_format_command(lt_buf *b, int argc, const char **argv, const size_t *lens);

/* ---- command line of the special tests ---------------------------------- */

typedef struct lt_opts {
    const char *server; /* the binary to start */
    int reference;      /* 1: redis-server, longtail-only checks are skipped */
} lt_opts;

/*
 * Parse "[--server PATH] [--reference] [-v]". The server defaults to
 * "redis-server" with --reference, else to $LT_SERVER, else to
 * ../../longtail-server next to the binary. Returns 0, or -1 after printing
 * the usage.
 */
int lt_opts_parse(lt_opts *o, int argc, char **argv, const char *name);

/* ---- misc --------------------------------------------------------------- */

long long lt_now_ms(void);
long long lt_now_us(void);
void lt_sleep_ms(int ms);
/* Deterministic pseudo-random numbers (xorshift64*) for reproducible data. */
unsigned long long lt_rand_next(unsigned long long *state);
/* Server path from "--server PATH", else env LT_SERVER, else "dflt" (resolved
 * relative to the directory of the running binary when it is relative). */
const char *lt_server_path(const char *given, const char *dflt);

#endif
