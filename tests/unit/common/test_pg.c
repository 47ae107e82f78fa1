/*
 * Unit tests of the pure parts of pg.c and proc.c: which SQLSTATEs are
 * retried in place, and the text[] literals batches are built from.  The
 * parts that need a server are in tests/integration/test_pg_outbox.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pg.h"
#include "proc.h"

static void
test_pg_connection_and_concurrency_states_are_transient(void **state)
{
    (void)state;
    assert_true(brr_pg_sqlstate_transient("08006")); /* connection failure */
    assert_true(brr_pg_sqlstate_transient("08000"));
    assert_true(brr_pg_sqlstate_transient("40001")); /* serialization */
    assert_true(brr_pg_sqlstate_transient("40P01")); /* deadlock */
    assert_true(brr_pg_sqlstate_transient("53300")); /* too many conns */
    assert_true(brr_pg_sqlstate_transient("57P01")); /* admin shutdown */
    assert_true(brr_pg_sqlstate_transient("57P03")); /* cannot connect now */
    assert_true(brr_pg_sqlstate_transient(NULL));    /* no answer at all */
}

static void test_pg_data_and_constraint_states_are_permanent(void **state)
{
    (void)state;
    assert_false(brr_pg_sqlstate_transient("23505")); /* unique violation */
    assert_false(brr_pg_sqlstate_transient("22P02")); /* bad text repr */
    assert_false(brr_pg_sqlstate_transient("42P01")); /* undefined table */
    assert_false(brr_pg_sqlstate_transient("40002")); /* integrity constr. */
    assert_false(brr_pg_sqlstate_transient("57000"));
}

static void test_array_literal_quotes_every_element(void **state)
{
    const char *v[] = {"plain", "with \"quote\"", "back\\slash", "", "a,b"};
    char *lit = brr_pg_array_literal(v, 5);
    (void)state;
    assert_string_equal(lit, "{\"plain\",\"with \\\"quote\\\"\","
                             "\"back\\\\slash\",\"\",\"a,b\"}");
    free(lit);
    lit = brr_pg_array_literal(v, 0);
    assert_string_equal(lit, "{}");
    free(lit);
}

static void test_pipe_counts_and_forgets_on_free(void **state)
{
    brr_pg_pipe_t *pp = brr_pg_pipe_new();
    const char *p[2] = {"a", NULL};
    (void)state;
    assert_int_equal(brr_pg_pipe_count(pp), 0);
    brr_pg_pipe_add(pp, "SELECT $1, $2", 2, p, NULL, NULL);
    brr_pg_pipe_add(pp, "SELECT 1", 0, NULL, NULL, NULL);
    assert_int_equal(brr_pg_pipe_count(pp), 2);
    brr_pg_pipe_free(pp); /* leak-checked under ASan */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_pg_connection_and_concurrency_states_are_transient),
        cmocka_unit_test(test_pg_data_and_constraint_states_are_permanent),
        cmocka_unit_test(test_array_literal_quotes_every_element),
        cmocka_unit_test(test_pipe_counts_and_forgets_on_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
