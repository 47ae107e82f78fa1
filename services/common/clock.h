/*
 * clock.h: "now" for the code whose behaviour depends on the calendar
 * (brr-pause's durable timers and the pause limits' "today").
 *
 * clock.c is NOT part of brr_common: a binary compiles it itself, so the
 * test clock exists only in binaries built for it.  Built normally,
 * brr_clock_now() is the system's real time and nothing can change it.
 * Built with BRR_TEST_CLOCK defined (the extra target brr-pause-testclock,
 * or a whole tree configured with -DBRR_TEST_CLOCK=ON for tests), it reads
 * the file named by BRR_TEST_CLOCK_FILE on every call: one line with unix
 * seconds sets "now"; a missing or empty file means the real time.  Tests
 * move time by writing that file, never by sleeping.
 */
#ifndef BRR_CLOCK_H
#define BRR_CLOCK_H

#include <stdint.h>

/* Unix time in seconds: the real time, or the test clock's (see above). */
int64_t brr_clock_now(void);

/* 1 when this binary was built with the test clock. */
int brr_clock_is_test(void);

#endif
