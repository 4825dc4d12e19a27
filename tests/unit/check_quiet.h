/* Assertions for Check tests that only speak on failure: Check's ck_assert_*
 * record a mark point (a write to the parent) on every success, which is slow
 * in hot loops. */
#ifndef HEAPSCOPE_TESTS_CHECK_QUIET_H
#define HEAPSCOPE_TESTS_CHECK_QUIET_H

#include <check.h>
#include <stdint.h>

#define REQUIRE(cond, ...)              \
    do {                                \
        if (!(cond))                    \
            ck_abort_msg(__VA_ARGS__);  \
    } while (0)
#define REQ_EQ(x, y)                                                                 \
    do {                                                                             \
        intmax_t x_ = (intmax_t)(x), y_ = (intmax_t)(y);                              \
        if (x_ != y_)                                                                \
            ck_abort_msg("%s == %s: got %jd, want %jd", #x, #y, x_, y_);             \
    } while (0)

#endif
