/*
 * test_life.c: one arrangement's life in memory (life.c): the rolling
 * schedule split over the balances open when each instalment opens, a claim
 * paid off freeing capacity, payments settling instalments, missed
 * instalments leading to arrears, reminders and lapse on the right days
 * (whether looked at daily or only when the timer says), recovery,
 * completion, pauses, ending on request, and the digests that decide which
 * organisation is told.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "life.h"

static int32_t D(int32_t y, int m, int d)
{
    return dist_days_from_civil(y, m, d);
}

static brr_cents_t share(dist_arr_t *a, int32_t seq, const char *org)
{
    brr_cents_t sum = 0;
    for (size_t s = 0; s < a->nshares; s++)
        if (a->shares[s].seq == seq &&
            strcmp(a->claims[a->shares[s].claim].c.organisation, org) == 0)
            sum += a->shares[s].cents;
    return sum;
}

static const dist_ainst_t *inst(const dist_arr_t *a, int32_t seq)
{
    for (size_t k = 0; k < a->ninst; k++)
        if (a->inst[k].seq == seq)
            return &a->inst[k];
    return NULL;
}

/* DOMAIN §4's example as an arrangement due on the 1st from 2025-03-01. */
static void domain_example(dist_arr_t *a)
{
    dist_arr_init(a);
    dist_arr_start(a, DIST_ST_ACTIEF, 12345, 1, D(2025, 3, 1));
    assert_int_equal(dist_arr_claim_new(a, "CJIB", "C1", 45000, 0), 0);
    assert_int_equal(dist_arr_claim_new(a, "DUO", "D1", 120000, 0), 0);
    assert_int_equal(dist_arr_claim_new(a, "CAK", "K1", 33300, 0), 0);
}

static void test_life_first_instalment_is_domain_split(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 2, 10), NULL), 1);
    assert_int_equal(a.cur_seq, 1);
    assert_int_equal(share(&a, 1, "CJIB"), 2801);
    assert_int_equal(share(&a, 1, "DUO"), 7471);
    assert_int_equal(share(&a, 1, "CAK"), 2073);
    assert_int_equal(inst(&a, 1)->due, D(2025, 3, 1));
    assert_int_equal(a.next_seq, 2);
    assert_int_equal(a.next_due, D(2025, 4, 1));
    assert_int_equal(a.open_on, D(2025, 3, 2));
    /* nothing more opens before the day after the due date */
    assert_int_equal(dist_arr_open_due(&a, D(2025, 3, 1), NULL), 0);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 3, 2), NULL), 1);
    assert_int_equal(inst(&a, 2)->due, D(2025, 4, 1));
    /* instalment 1 is unpaid, so instalment 2 asks of what is left */
    assert_int_equal(share(&a, 2, "CJIB") + share(&a, 2, "DUO") +
                         share(&a, 2, "CAK"),
                     12345);
    dist_arr_free(&a);
}

static void test_life_due_day_31_follows_month_ends(void **state)
{
    dist_arr_t a;
    dist_arr_init(&a);
    dist_arr_start(&a, DIST_ST_ACTIEF, 1000, 31, D(2024, 1, 31));
    assert_int_equal(dist_arr_claim_new(&a, "CJIB", "C1", 100000, 0), 0);
    assert_int_equal(dist_arr_open_due(&a, D(2024, 3, 1), NULL), 3);
    assert_int_equal(inst(&a, 1)->due, D(2024, 1, 31));
    assert_int_equal(inst(&a, 2)->due, D(2024, 2, 29));
    assert_int_equal(inst(&a, 3)->due, D(2024, 3, 31));
    dist_arr_free(&a);
}

static void test_life_payments_settle_an_instalment(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 10), NULL);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 2801), 0);
    assert_int_equal(dist_arr_pay(&a, "DUO", "D1", 7471), 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_OPEN);
    assert_int_equal(dist_arr_pay(&a, "CAK", "K1", 2073), 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAID);
    assert_true(a.events & DIST_EV_PAID);
    assert_int_equal(a.claims[0].c.open_cents, 45000 - 2801);
    dist_arr_free(&a);
}

static void test_life_pay_refuses_bad_reports(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 10), NULL);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "nope", 100), BRR_ENOTFOUND);
    assert_int_equal(dist_arr_pay(&a, "DUO", "C1", 100), BRR_ENOTFOUND);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 0), BRR_EINVAL);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 45001), BRR_ERANGE);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 45000), 0);
    assert_int_equal(dist_arr_claim_new(&a, "CJIB", "C1", 5, 0), BRR_EEXISTS);
    assert_int_equal(dist_arr_claim_new(&a, "CJIB", "", 5, 0), BRR_EINVAL);
    assert_int_equal(dist_arr_claim_new(&a, "CJIB", "C2", 0, 0), BRR_EINVAL);
    dist_arr_free(&a);
}

static void test_life_claim_paid_off_frees_capacity(void **state)
{
    dist_arr_t a;
    dist_arr_init(&a);
    dist_arr_start(&a, DIST_ST_ACTIEF, 5000, 1, D(2025, 3, 1));
    dist_arr_claim_new(&a, "CJIB", "C1", 1000, 0);
    dist_arr_claim_new(&a, "DUO", "D1", 100000, 0);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    /* the minimum per organisation lifts CJIB's pro-rata 49 to 500 */
    assert_int_equal(share(&a, 1, "CJIB"), 500);
    assert_int_equal(share(&a, 1, "DUO"), 4500);
    /* CJIB is paid its whole claim, DUO its share */
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 1000), 0);
    assert_int_equal(dist_arr_pay(&a, "DUO", "D1", 4500), 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAID);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 3, 2), NULL), 1);
    assert_int_equal(share(&a, 2, "CJIB"), 0);
    assert_int_equal(share(&a, 2, "DUO"), 5000);
    dist_arr_free(&a);
}

static void test_life_withdrawal_resplits_unpaid_instalment(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 10), NULL);
    assert_int_equal(dist_arr_claim_withdraw(&a, "DUO", "D1"), 0);
    assert_int_equal(share(&a, 1, "DUO"), 0);
    assert_int_equal(dist_arr_resplit(&a, NULL), 0);
    assert_int_equal(share(&a, 1, "DUO"), 0);
    assert_int_equal(share(&a, 1, "CJIB") + share(&a, 1, "CAK"), 12345);
    assert_int_equal(dist_arr_pay(&a, "DUO", "D1", 1), BRR_ENOTFOUND);
    dist_arr_free(&a);
}

static void test_life_lower_balance_caps_newest_share(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 3, 2), NULL); /* instalments 1 and 2 */
    assert_int_equal(dist_arr_claim_set(&a, "CAK", "K1", 3000), 0);
    assert_int_equal(share(&a, 1, "CAK"), 2073);
    assert_int_equal(share(&a, 2, "CAK"), 3000 - 2073);
    assert_int_equal(dist_arr_claim_set(&a, "CAK", "K1", -1), BRR_EINVAL);
    dist_arr_free(&a);
}

/* The day of each lifecycle event, looking every day or only when the
 * arrangement's own wake day has come (as the durable timer does). */
typedef struct {
    int32_t arrears, reminder, lapse;
} days_t;

static days_t run_unpaid(int only_on_wake)
{
    dist_arr_t a;
    days_t out = {0, 0, 0};
    int32_t wake = D(2025, 2, 1);
    domain_example(&a);
    for (int32_t t = D(2025, 2, 1); t <= D(2025, 7, 1); t++) {
        if (only_on_wake && t < wake)
            continue;
        a.events = 0;
        assert_true(dist_arr_open_due(&a, t, NULL) >= 0);
        assert_int_equal(dist_arr_step(&a, t, NULL), 0);
        if (a.events & DIST_EV_ARREARS)
            out.arrears = t;
        if (a.events & DIST_EV_REMINDER)
            out.reminder = t;
        if (a.events & DIST_EV_LAPSED)
            out.lapse = t;
        wake = dist_arr_wake(&a, t, NULL);
        assert_true(wake > t);
    }
    assert_int_equal(a.state, DIST_ST_VERVALLEN);
    assert_int_equal(dist_arr_wake(&a, D(2025, 7, 1), NULL), DIST_NEVER);
    dist_arr_free(&a);
    return out;
}

static void test_life_missed_reminders_and_lapse_days(void **state)
{
    days_t daily = run_unpaid(0), timer = run_unpaid(1);
    /* due Mar 1, grace 14 days: missed on Mar 16 */
    assert_int_equal(daily.arrears, D(2025, 3, 16));
    assert_int_equal(daily.reminder, D(2025, 3, 31));
    /* two instalments open (Apr 1's missed on Apr 16) after the second
     * reminder's full period */
    assert_int_equal(daily.lapse, D(2025, 4, 16));
    assert_int_equal(timer.arrears, daily.arrears);
    assert_int_equal(timer.reminder, daily.reminder);
    assert_int_equal(timer.lapse, daily.lapse);
}

static void test_life_catch_up_after_downtime(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    /* the service was down from February to the middle of May */
    assert_int_equal(dist_arr_open_due(&a, D(2025, 5, 15), NULL), 3);
    assert_int_equal(dist_arr_step(&a, D(2025, 5, 15), NULL), 0);
    /* one step at a time: arrears today, the second reminder only after
     * the first one's grace */
    assert_int_equal(a.state, DIST_ST_ACHTERSTAND);
    assert_int_equal(a.reminders, 1);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_MISSED);
    assert_int_equal(inst(&a, 2)->state, DIST_IST_MISSED);
    /* May 1 + 14 days of grace: still in time on May 15 */
    assert_int_equal(inst(&a, 3)->state, DIST_IST_OPEN);
    assert_int_equal(inst(&a, 4)->state, DIST_IST_OPEN);
    /* the timer looks again when instalment 3's grace ends */
    assert_int_equal(dist_arr_wake(&a, D(2025, 5, 15), NULL), D(2025, 5, 16));
    assert_int_equal(dist_arr_step(&a, D(2025, 5, 16), NULL), 0);
    assert_int_equal(inst(&a, 3)->state, DIST_IST_MISSED);
    assert_int_equal(a.reminders, 1);
    assert_int_equal(dist_arr_wake(&a, D(2025, 5, 16), NULL), D(2025, 5, 30));
    dist_arr_free(&a);
}

static void test_life_paying_arrears_recovers(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    dist_arr_step(&a, D(2025, 3, 16), NULL);
    assert_int_equal(a.state, DIST_ST_ACHTERSTAND);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 2801), 0);
    assert_int_equal(dist_arr_pay(&a, "DUO", "D1", 7471), 0);
    assert_int_equal(dist_arr_pay(&a, "CAK", "K1", 2073), 0);
    assert_int_equal(dist_arr_step(&a, D(2025, 3, 17), NULL), 0);
    assert_int_equal(a.state, DIST_ST_ACTIEF);
    assert_int_equal(a.reminders, 0);
    assert_true(a.events & DIST_EV_RECOVERED);
    dist_arr_free(&a);
}

static void test_life_completes_when_every_balance_is_zero(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    dist_arr_pay(&a, "CJIB", "C1", 45000);
    dist_arr_pay(&a, "DUO", "D1", 120000);
    assert_int_equal(dist_arr_claim_withdraw(&a, "CAK", "K1"), 0);
    assert_int_equal(dist_arr_open_total(&a), 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAID);
    assert_int_equal(dist_arr_step(&a, D(2025, 2, 2), NULL), 0);
    assert_int_equal(a.state, DIST_ST_VOLDAAN);
    assert_int_equal(dist_arr_wake(&a, D(2025, 2, 2), NULL), DIST_NEVER);
    assert_int_equal(dist_arr_end(&a), BRR_EINVAL);
    dist_arr_free(&a);
}

static void test_life_pause_never_misses(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    assert_int_equal(dist_arr_pause(&a, D(2025, 2, 15), 0), 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAUSED);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 4, 5), NULL), 2);
    assert_int_equal(inst(&a, 3)->state, DIST_IST_PAUSED);
    assert_int_equal(dist_arr_step(&a, D(2025, 4, 30), NULL), 0);
    assert_int_equal(a.state, DIST_ST_GEPAUZEERD);
    assert_int_equal(dist_arr_resume(&a, 0, 0, NULL), 0);
    assert_int_equal(dist_arr_resume(&a, 0, 0, NULL), BRR_EINVAL);
    assert_int_equal(dist_arr_step(&a, D(2025, 4, 30), NULL), 0);
    assert_int_equal(a.state, DIST_ST_ACTIEF);
    /* the schedule goes on where it was: nothing was asked while paused */
    assert_int_equal(dist_arr_open_due(&a, D(2025, 4, 30), NULL), 0);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 5, 2), NULL), 1);
    assert_int_equal(share(&a, 4, "DUO"), 7471);
    dist_arr_free(&a);
}

/* DOMAIN §5: EXTEND keeps the instalment and moves the end date by the
 * paused months; RESPREAD keeps the end date and raises the instalment. */
static void test_life_pause_extend_moves_the_end_date(void **state)
{
    dist_arr_t a;
    int32_t before;
    domain_example(&a); /* 198300 in instalments of 12345: 17, to 2026-07-01 */
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    before = dist_arr_end_date(&a);
    assert_int_equal(before, D(2026, 7, 1));
    /* EXTEND: 3 due dates paused */
    assert_int_equal(dist_arr_pause(&a, D(2025, 3, 1), D(2025, 5, 31)), 0);
    assert_int_equal(a.amount, 12345);
    assert_int_equal(dist_arr_end_date(&a), D(2026, 10, 1));
    assert_int_equal(a.paid_count, 0);
    dist_arr_free(&a);
}

static void test_life_pause_respread_keeps_the_end_date(void **state)
{
    dist_arr_t a;
    int32_t before;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    before = dist_arr_end_date(&a);
    assert_int_equal(dist_arr_pause(&a, D(2025, 3, 1), D(2025, 5, 31)), 0);
    assert_int_equal(a.pause_base, 12345);
    assert_int_equal(a.pause_keep_end, before);
    assert_int_equal(dist_arr_respread(&a, D(2025, 5, 31), NULL), 0);
    /* 198300 over Jun 2025..Jul 2026: 14 instalments of 14165 (rounded up) */
    assert_int_equal(a.amount, 14165);
    assert_int_equal(dist_arr_end_date(&a), before);
    /* a pause past the end: everything in one instalment, never less */
    assert_int_equal(dist_arr_respread(&a, D(2026, 8, 31), NULL), 0);
    assert_int_equal(a.amount, 198300);
    dist_arr_free(&a);
}

/* An instalment due after the pause's last day opens during the pause (the
 * day after the one before was due) and asks money as usual; only those
 * due in the pause are PAUSED. */
static void test_life_pause_instalment_due_after_it_opens_open(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    assert_int_equal(dist_arr_pause(&a, D(2025, 3, 1), D(2025, 4, 30)), 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAUSED);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 3, 2), NULL), 1);
    assert_int_equal(inst(&a, 2)->state, DIST_IST_PAUSED); /* Apr 1 */
    assert_int_equal(share(&a, 2, "DUO"), 0);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 4, 2), NULL), 1);
    assert_int_equal(inst(&a, 3)->due, D(2025, 5, 1));
    assert_int_equal(inst(&a, 3)->state, DIST_IST_OPEN);
    assert_int_equal(a.cur_seq, 3);
    assert_int_equal(share(&a, 3, "CJIB"), 2801);
    assert_int_equal(share(&a, 3, "DUO"), 7471);
    assert_int_equal(share(&a, 3, "CAK"), 2073);
    /* no reminder or lapse while paused, however late it gets */
    assert_int_equal(dist_arr_step(&a, D(2025, 4, 29), NULL), 0);
    assert_int_equal(a.state, DIST_ST_GEPAUZEERD);
    assert_int_equal(a.reminders, 0);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAUSED);
    /* the end: nothing reopens, the lifecycle runs again */
    assert_int_equal(dist_arr_resume(&a, D(2025, 4, 30), 0, NULL), 0);
    assert_int_equal(inst(&a, 2)->state, DIST_IST_PAUSED);
    assert_int_equal(a.pause_until, 0);
    assert_int_equal(dist_arr_step(&a, D(2025, 5, 16), NULL), 0);
    assert_int_equal(inst(&a, 3)->state, DIST_IST_MISSED);
    assert_int_equal(a.state, DIST_ST_ACHTERSTAND);
    dist_arr_free(&a);
}

/* What the organisations are told at the start: the first instalment
 * after the pause, split as it will be asked, for either effect. */
static void test_life_pause_next_after_is_what_opens(void **state)
{
    for (int respread = 0; respread <= 1; respread++) {
        dist_arr_t a;
        brr_cents_t told[3], sum = 0;
        int32_t due;
        domain_example(&a);
        dist_arr_open_due(&a, D(2025, 2, 1), NULL);
        assert_int_equal(dist_arr_pause(&a, D(2025, 3, 1), D(2025, 5, 31)), 0);
        if (respread)
            assert_int_equal(dist_arr_respread(&a, D(2025, 5, 31), NULL), 0);
        assert_int_equal(
            dist_arr_next_after(&a, D(2025, 5, 31), NULL, told, &due), 0);
        assert_int_equal(due, D(2025, 6, 1));
        for (size_t i = 0; i < 3; i++)
            sum += told[i];
        assert_int_equal(sum, respread ? 14165 : 12345);
        assert_true(told[1] > told[0] && told[0] > told[2]); /* pro rata */
        /* Mar, Apr, May open PAUSED; Jun opens OPEN with what was told */
        assert_int_equal(dist_arr_open_due(&a, D(2025, 5, 2), NULL), 3);
        assert_int_equal(inst(&a, 4)->due, D(2025, 6, 1));
        assert_int_equal(inst(&a, 4)->state, DIST_IST_OPEN);
        assert_int_equal(share(&a, 4, "CJIB"), told[0]);
        assert_int_equal(share(&a, 4, "DUO"), told[1]);
        assert_int_equal(share(&a, 4, "CAK"), told[2]);
        /* once open, the same answer */
        brr_cents_t again[3];
        assert_int_equal(
            dist_arr_next_after(&a, D(2025, 5, 31), NULL, again, &due), 0);
        assert_int_equal(due, D(2025, 6, 1));
        assert_memory_equal(again, told, sizeof(told));
        /* the planned end changes nothing: RESPREAD gives the same amount */
        assert_int_equal(dist_arr_resume(&a, D(2025, 5, 31), respread, NULL),
                         0);
        assert_int_equal(a.amount, respread ? 14165 : 12345);
        assert_int_equal(share(&a, 4, "DUO"), told[1]);
        dist_arr_free(&a);
    }
}

/* RESPREAD for a pause cut short: what fell due after its real last day
 * asks money again, and the instalment comes down for the months it no
 * longer paused, keeping the end date; never below the instalment from
 * before the pause. */
static void test_life_pause_cut_short_respreads_down(void **state)
{
    dist_arr_t a;
    int32_t before;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    before = dist_arr_end_date(&a); /* 2026-07-01 */
    assert_int_equal(dist_arr_pause(&a, D(2025, 3, 1), D(2025, 5, 31)), 0);
    assert_int_equal(dist_arr_respread(&a, D(2025, 5, 31), NULL), 0);
    assert_int_equal(a.amount, 14165);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 3, 2), NULL), 1);
    assert_int_equal(inst(&a, 2)->state, DIST_IST_PAUSED);
    /* cancelled on Mar 10: it ran Mar 1..9 */
    assert_int_equal(dist_arr_resume(&a, D(2025, 3, 9), 1, NULL), 0);
    assert_int_equal(a.state, DIST_ST_ACTIEF);
    assert_int_equal(inst(&a, 1)->state, DIST_IST_PAUSED); /* Mar 1 */
    assert_int_equal(inst(&a, 2)->state, DIST_IST_OPEN);   /* Apr 1 */
    assert_int_equal(a.cur_seq, 2);
    /* 198300 over Apr 2025..Jul 2026: 16 instalments of 12394 */
    assert_int_equal(a.amount, 12394);
    assert_int_equal(share(&a, 2, "CJIB") + share(&a, 2, "DUO") +
                         share(&a, 2, "CAK"),
                     12394);
    assert_int_equal(dist_arr_end_date(&a), before);
    assert_int_equal(a.pause_until, 0);
    assert_int_equal(a.pause_base, 0);
    dist_arr_free(&a);

    /* paid down during the pause: the old instalment, not less */
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    assert_int_equal(dist_arr_pause(&a, D(2025, 3, 1), D(2025, 5, 31)), 0);
    assert_int_equal(dist_arr_respread(&a, D(2025, 5, 31), NULL), 0);
    assert_int_equal(dist_arr_pay(&a, "DUO", "D1", 100000), 0);
    assert_int_equal(dist_arr_resume(&a, D(2025, 3, 1), 1, NULL), 0);
    assert_int_equal(a.amount, 12345);
    dist_arr_free(&a);

    /* a pause from before the schedule was stored with it (loaded paused,
     * nothing known of before): its end changes no amount */
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    a.state = DIST_ST_GEPAUZEERD;
    assert_int_equal(dist_arr_resume(&a, D(2025, 3, 9), 1, NULL), 0);
    assert_int_equal(a.amount, 12345);
    assert_int_equal(a.state, DIST_ST_ACTIEF);
    dist_arr_free(&a);
}

/* Random pauses in random lives: money stays exact (checked by the
 * invariants of test_life_random_lives_keep_money_exact) and a resumed
 * RESPREAD arrangement never asks less than before its pause. */
static void test_life_random_pauses_respread_bounds(void **state)
{
    srand(11);
    for (int run = 0; run < 1000; run++) {
        dist_arr_t a;
        brr_cents_t base;
        int32_t t = D(2025, 1, 1), start, end, until;
        dist_arr_init(&a);
        dist_arr_start(&a, DIST_ST_ACTIEF, 500 + rand() % 20000,
                       1 + rand() % 31, D(2025, 1, 20));
        for (int o = 0; o < 1 + rand() % 5; o++) {
            char org[8] = "ORG0";
            org[3] = (char)('A' + o);
            dist_arr_claim_new(&a, org, "R", 1 + rand() % 300000, 0);
        }
        /* applied on its start day, or up to 20 days after (retroactive) */
        t += rand() % 60;
        assert_true(dist_arr_open_due(&a, t, NULL) >= 0);
        base = a.amount;
        start = t - rand() % 20;
        end = t + rand() % 120;
        until = t + rand() % (end - t + 1);
        assert_int_equal(dist_arr_pause(&a, start, end), 0);
        assert_int_equal(dist_arr_respread(&a, end, NULL), 0);
        assert_true(a.amount >= base);
        for (; t <= until; t += 5) {
            assert_true(dist_arr_open_due(&a, t, NULL) >= 0);
            assert_int_equal(dist_arr_step(&a, t, NULL), 0);
        }
        for (size_t k = 0; k < a.ninst; k++)
            assert_true(a.inst[k].state != DIST_IST_MISSED);
        assert_int_equal(dist_arr_resume(&a, until, 1, NULL), 0);
        assert_true(a.amount >= base);
        for (size_t k = 0; k < a.ninst; k++) {
            brr_cents_t sum = 0;
            if (a.inst[k].state == DIST_IST_PAUSED) {
                assert_true(a.inst[k].due >= start);
                assert_true(a.inst[k].due <= until);
            }
            for (size_t s = 0; s < a.nshares; s++)
                if (a.shares[s].seq == a.inst[k].seq)
                    sum += a.shares[s].cents;
            if (a.inst[k].state == DIST_IST_PAUSED)
                assert_int_equal(sum, 0);
            else
                assert_true(sum <= a.amount);
        }
        assert_true(dist_arr_open_total(&a) >= 0);
        dist_arr_free(&a);
    }
}

static void test_life_paid_instalments_are_counted(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    assert_int_equal(dist_arr_pay(&a, "CJIB", "C1", 2801), 0);
    assert_int_equal(dist_arr_pay(&a, "DUO", "D1", 7471), 0);
    assert_int_equal(a.paid_count, 0);
    assert_int_equal(dist_arr_pay(&a, "CAK", "K1", 2073), 0);
    assert_int_equal(a.paid_count, 1);
    dist_arr_free(&a);
}

static void test_life_end_on_request(void **state)
{
    dist_arr_t a;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    assert_int_equal(dist_arr_end(&a), 0);
    assert_int_equal(a.state, DIST_ST_BEEINDIGD);
    assert_int_equal(dist_arr_open_due(&a, D(2025, 6, 1), NULL), 0);
    assert_int_equal(dist_arr_wake(&a, D(2025, 6, 1), NULL), DIST_NEVER);
    dist_arr_free(&a);
}

static void test_life_digest_tells_only_affected_organisations(void **state)
{
    dist_arr_t a;
    uint64_t cjib, duo;
    domain_example(&a);
    dist_arr_open_due(&a, D(2025, 2, 1), NULL);
    cjib = dist_arr_org_digest(&a, "CJIB");
    duo = dist_arr_org_digest(&a, "DUO");
    dist_arr_pay(&a, "CJIB", "C1", 2801);
    assert_int_not_equal(dist_arr_org_digest(&a, "CJIB"), cjib);
    assert_int_equal(dist_arr_org_digest(&a, "DUO"), duo);
    /* a state change reaches everybody */
    dist_arr_end(&a);
    assert_int_not_equal(dist_arr_org_digest(&a, "DUO"), duo);
    dist_arr_free(&a);
}

static void test_life_end_date_projects_remaining(void **state)
{
    dist_arr_t a;
    dist_arr_init(&a);
    dist_arr_start(&a, DIST_ST_ACTIEF, 1000, 5, D(2025, 1, 5));
    dist_arr_claim_new(&a, "CJIB", "C1", 2500, 0);
    dist_arr_open_due(&a, D(2025, 1, 1), NULL);
    /* 1000 due Jan 5, then 1000 and 500 more: Mar 5 */
    assert_int_equal(dist_arr_end_date(&a), D(2025, 3, 5));
    dist_arr_free(&a);
}

/* Random lives: money is never created or lost, no share or balance goes
 * negative, and a share never asks more than its claim still owes. */
static void test_life_random_lives_keep_money_exact(void **state)
{
    srand(4);
    for (int run = 0; run < 2000; run++) {
        dist_arr_t a;
        brr_cents_t total = 0, paid = 0;
        int norgs = 1 + rand() % 6;
        int32_t t = D(2025, 1, 1);
        dist_arr_init(&a);
        dist_arr_start(&a, DIST_ST_ACTIEF, 500 + rand() % 20000,
                       1 + rand() % 31, D(2025, 1, 20));
        for (int o = 0; o < norgs; o++) {
            char org[8] = "ORG0", ref[8] = "R0";
            brr_cents_t v = 1 + rand() % 200000;
            org[3] = (char)('A' + o);
            ref[1] = (char)('0' + rand() % 3);
            if (dist_arr_claim_new(&a, org, ref, v, 0) == 0)
                total += v;
        }
        for (int day = 0; day < 400 && dist_arr_live(&a); day += 3, t += 3) {
            assert_true(dist_arr_open_due(&a, t, NULL) >= 0);
            if (rand() % 4 == 0 && a.nclaims > 0) {
                size_t i = (size_t)rand() % a.nclaims;
                brr_cents_t v = 1 + rand() % 6000;
                if (dist_arr_pay(&a, a.claims[i].c.organisation,
                                 a.claims[i].c.reference, v) == 0)
                    paid += v;
                assert_int_equal(dist_arr_resplit(&a, NULL), 0);
            }
            assert_int_equal(dist_arr_step(&a, t, NULL), 0);
            assert_int_equal(dist_arr_open_total(&a) + paid, total);
            for (size_t s = 0; s < a.nshares; s++) {
                assert_true(a.shares[s].cents >= 0);
                assert_true(a.shares[s].paid >= 0);
                assert_true(a.shares[s].paid <= a.shares[s].cents);
            }
            for (size_t i = 0; i < a.nclaims; i++) {
                brr_cents_t ask = 0;
                assert_true(a.claims[i].c.open_cents >= 0);
                for (size_t s = 0; s < a.nshares; s++) {
                    const dist_ainst_t *in = inst(&a, a.shares[s].seq);
                    if (a.shares[s].claim == i && in != NULL &&
                        (in->state == DIST_IST_OPEN ||
                         in->state == DIST_IST_MISSED))
                        ask += a.shares[s].cents - a.shares[s].paid;
                }
                assert_true(ask <= a.claims[i].c.open_cents);
            }
        }
        dist_arr_free(&a);
    }
}

static void test_life_state_names_round_trip(void **state)
{
    for (int s = DIST_ST_AANGEVRAAGD; s <= DIST_ST_BEEINDIGD; s++) {
        dist_state_t out;
        assert_int_equal(
            dist_state_parse(dist_state_name((dist_state_t)s), &out), 0);
        assert_int_equal(out, s);
    }
    for (int s = DIST_IST_OPEN; s <= DIST_IST_PAUSED; s++) {
        dist_ist_t out;
        assert_int_equal(dist_ist_parse(dist_ist_name((dist_ist_t)s), &out), 0);
        assert_int_equal(out, s);
    }
    {
        dist_state_t out;
        assert_int_equal(dist_state_parse("WEG", &out), BRR_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_first_instalment_is_domain_split),
        cmocka_unit_test(test_life_due_day_31_follows_month_ends),
        cmocka_unit_test(test_life_payments_settle_an_instalment),
        cmocka_unit_test(test_life_pay_refuses_bad_reports),
        cmocka_unit_test(test_life_claim_paid_off_frees_capacity),
        cmocka_unit_test(test_life_withdrawal_resplits_unpaid_instalment),
        cmocka_unit_test(test_life_lower_balance_caps_newest_share),
        cmocka_unit_test(test_life_missed_reminders_and_lapse_days),
        cmocka_unit_test(test_life_catch_up_after_downtime),
        cmocka_unit_test(test_life_paying_arrears_recovers),
        cmocka_unit_test(test_life_completes_when_every_balance_is_zero),
        cmocka_unit_test(test_life_pause_never_misses),
        cmocka_unit_test(test_life_pause_extend_moves_the_end_date),
        cmocka_unit_test(test_life_pause_respread_keeps_the_end_date),
        cmocka_unit_test(test_life_pause_instalment_due_after_it_opens_open),
        cmocka_unit_test(test_life_pause_next_after_is_what_opens),
        cmocka_unit_test(test_life_pause_cut_short_respreads_down),
        cmocka_unit_test(test_life_random_pauses_respread_bounds),
        cmocka_unit_test(test_life_paid_instalments_are_counted),
        cmocka_unit_test(test_life_end_on_request),
        cmocka_unit_test(test_life_digest_tells_only_affected_organisations),
        cmocka_unit_test(test_life_end_date_projects_remaining),
        cmocka_unit_test(test_life_random_lives_keep_money_exact),
        cmocka_unit_test(test_life_state_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
