/*
 * unit.h: a tiny test harness for the C unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_MEM(p, n, q, m); }
 *   int main(void) { RUN(name); ...; return unit_report("test_ds"); }
 *
 * A failed CHECK prints file:line and the expression and marks the current
 * test failed (the test goes on). unit_report prints one line
 * "<suite>: N passed, N failed" and returns the exit status.
 */
#ifndef LT_TESTS_UNIT_H
#define LT_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;
static const char *unit_cur_name;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        unit_cur_failed = 0;                                                                       \
        unit_cur_name = #name;                                                                     \
        test_##name();                                                                             \
        if (unit_cur_failed) {                                                                     \
            unit_failed++;                                                                         \
            printf("FAIL %s\n", #name);                                                            \
        } else {                                                                                   \
            unit_passed++;                                                                         \
        }                                                                                          \
    } while (0)

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            printf("  %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, unit_cur_name, #expr);   \
            unit_cur_failed = 1;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (_a != _b) {                                                                            \
            printf("  %s:%d: %s: %s == %lld, expected %lld\n", __FILE__, __LINE__, unit_cur_name,  \
                   #a, _a, _b);                                                                    \
            unit_cur_failed = 1;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            printf("  %s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,             \
                   unit_cur_name, #a, _a ? _a : "(null)", _b ? _b : "(null)");                     \
            unit_cur_failed = 1;                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_MEM(p, n, q, m)                                                                   \
    do {                                                                                           \
        size_t _n = (size_t)(n), _m = (size_t)(m);                                                 \
        if (_n != _m || memcmp((p), (q), _n) != 0) {                                               \
            printf("  %s:%d: %s: %s (%zu bytes) differs from %s (%zu bytes)\n", __FILE__,          \
                   __LINE__, unit_cur_name, #p, _n, #q, _m);                                       \
            unit_cur_failed = 1;                                                                   \
        }                                                                                          \
    } while (0)

static inline int unit_report(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
