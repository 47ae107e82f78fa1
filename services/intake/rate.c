/*
 * rate.c: the token bucket behind the per-channel rate limit of api.c.
 *
 * One web-form back end must not starve the others or the database: each
 * channel has a bucket refilled at its rate up to its burst, every request
 * takes a token, and a request that finds the bucket empty is answered 429
 * with the time until the next token.  Pure: the caller passes the clock.
 */
#include "intake.h"

void intake_bucket_init(intake_bucket_t *b, double rate, double burst,
                        uint64_t now_ms)
{
    b->rate = rate > 0 ? rate : 1;
    b->burst = burst >= 1 ? burst : 1;
    b->tokens = b->burst;
    b->last_ms = now_ms;
}

uint64_t intake_bucket_take(intake_bucket_t *b, uint64_t now_ms)
{
    double wait;
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    wait = (1.0 - b->tokens) * 1000.0 / b->rate;
    return wait < 1.0 ? 1 : (uint64_t)wait + 1;
}
