/*
 * clock.c: see clock.h.  Compiled into each binary that needs it, never
 * into brr_common, so BRR_TEST_CLOCK decides per binary.
 */
#include "clock.h"

#include <time.h>

#ifdef BRR_TEST_CLOCK
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The test clock's time, or -1 when the file is unset, absent or empty. */
static int64_t test_now(void)
{
    const char *path = getenv("BRR_TEST_CLOCK_FILE");
    char line[32];
    FILE *f;
    char *end;
    long long v;
    if (path == NULL || path[0] == '\0' || (f = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) == NULL) {
        fclose(f);
        return -1;
    }
    fclose(f);
    errno = 0;
    v = strtoll(line, &end, 10);
    if (errno != 0 || end == line || v < 0 || v > INT64_C(253402300799))
        return -1; /* not a time up to 9999-12-31: the real time */
    return (int64_t)v;
}
#endif

int64_t brr_clock_now(void)
{
#ifdef BRR_TEST_CLOCK
    int64_t t = test_now();
    if (t >= 0)
        return t;
#endif
    return (int64_t)time(NULL);
}

int brr_clock_is_test(void)
{
#ifdef BRR_TEST_CLOCK
    return 1;
#else
    return 0;
#endif
}
