/*
 * unit.h: a tiny test harness for the C unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_MEM(p, n, q, m); }
 *   int main(void) { RUN(name); ...; return unit_report("test_ds"); }
 *
 * A test is one TEST function: it passes when every check inside it passed,
 * and fails if one failed or if it made no check at all. A failed CHECK prints
 * file:line and the expression and marks the current test failed (the test
 * goes on); a test's own comparison that prints its own message counts
 * through unit_check(ok). Each test prints "[ok] name: N checks" or
 * "[FAILED] name: ...". unit_report prints the checks, then one line
 * "<suite>: N passed, N failed" counting tests, and returns the exit status.
 */
#ifndef LT_TESTS_UNIT_H
#define LT_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;
static long unit_checks, unit_checks_failed, unit_cur_checks;
static const char *unit_cur_name;

#define TEST(name) static void test_##name(void)

/* Count one check of the current test; returns "ok". */
static inline int unit_check(int ok)
{
    unit_checks++;
    unit_cur_checks++;
    if (!ok) {
        unit_checks_failed++;
        unit_cur_failed++;
    }
    return ok;
}

static inline void unit_end(const char *name)
{
    if (unit_cur_checks == 0) {
        unit_failed++;
        printf("[FAILED] %s: made no check\n", name);
    } else if (unit_cur_failed) {
        unit_failed++;
        printf("[FAILED] %s: %d of %ld checks failed\n", name, unit_cur_failed, unit_cur_checks);
    } else {
        unit_passed++;
        printf("[ok] %s: %ld checks\n", name, unit_cur_checks);
    }
}

#define RUN(name)                                                                                  \
    do {                                                                                           \
        unit_cur_failed = 0;                                                                       \
        unit_cur_checks = 0;                                                                       \
        unit_cur_name = #name;                                                                     \
        test_##name();                                                                             \
        unit_end(#name);                                                                           \
    } while (0)

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!unit_check(!!(expr)))                                                                 \
            printf("  %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, unit_cur_name, #expr);   \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (!unit_check(_a == _b))                                                                 \
            printf("  %s:%d: %s: %s == %lld, expected %lld\n", __FILE__, __LINE__, unit_cur_name,  \
                   #a, _a, _b);                                                                    \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!unit_check(_a && _b && strcmp(_a, _b) == 0))                                          \
            printf("  %s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,             \
                   unit_cur_name, #a, _a ? _a : "(null)", _b ? _b : "(null)");                     \
    } while (0)

#define CHECK_EQ_MEM(p, n, q, m)                                                                   \
    do {                                                                                           \
        size_t _n = (size_t)(n), _m = (size_t)(m);                                                 \
        if (!unit_check(_n == _m && memcmp((p), (q), _n) == 0))                                    \
            printf("  %s:%d: %s: %s (%zu bytes) differs from %s (%zu bytes)\n", __FILE__,          \
                   __LINE__, unit_cur_name, #p, _n, #q, _m);                                       \
    } while (0)

static inline int unit_report(const char *suite)
{
    printf("%s: checks: 0 reply comparisons, %ld other checks, %ld failed\n", suite, unit_checks,
           unit_checks_failed);
    printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
