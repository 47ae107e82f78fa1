/*
 * test_normset.c: loading and validating the norm-set files, and picking a
 * set by reference date.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "normset.h"

static const char *good =
    "{\"version\":\"2025-01-01\",\"effective_from\":\"2025-01-01\","
    "\"effective_until\":\"2025-06-30\",\"description\":\"t\","
    "\"bijstandsnorm\":{"
    "\"single\":{\"cents\":134545,\"source\":\"s\"},"
    "\"couple\":{\"cents\":192207,\"source\":\"s\"},"
    "\"single_aow\":{\"cents\":150107,\"source\":\"s\"},"
    "\"couple_aow\":{\"cents\":205348,\"source\":\"s\"}},"
    "\"bvv_max\":{"
    "\"single\":{\"cents\":207124,\"source\":\"s\"},"
    "\"single_parent\":{\"cents\":224224,\"source\":\"s\"},"
    "\"couple\":{\"cents\":273903,\"source\":\"s\"},"
    "\"couple_with_children\":{\"cents\":285596,\"source\":\"s\"}},"
    "\"toeslagen\":null,\"toeslagen_note\":\"n\"}";

static char errbuf[512];

/* Parses good with one substring replaced. */
static int parse_with(const char *from, const char *to, brr_normset_t *ns)
{
    char doc[4096];
    const char *at = strstr(good, from);
    size_t pre;

    assert_non_null(at);
    pre = (size_t)(at - good);
    snprintf(doc, sizeof(doc), "%.*s%s%s", (int)pre, good, to,
             at + strlen(from));
    errbuf[0] = '\0';
    return capacity_normset_parse(doc, strlen(doc), "2025-01-01.json", ns,
                                  errbuf, sizeof(errbuf));
}

static void expect_error(const char *from, const char *to, const char *msg)
{
    brr_normset_t ns;

    assert_int_not_equal(parse_with(from, to, &ns), 0);
    if (strstr(errbuf, msg) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", errbuf, msg);
}

static void test_parse_good_document(void **state)
{
    brr_normset_t ns;

    (void)state;
    assert_int_equal(capacity_normset_parse(good, strlen(good),
                                            "2025-01-01.json", &ns, errbuf,
                                            sizeof(errbuf)),
                     0);
    assert_string_equal(ns.version, "2025-01-01");
    assert_int_equal(ns.norm[0][0], 134545);
    assert_int_equal(ns.norm[1][0], 192207);
    assert_int_equal(ns.norm[0][1], 150107);
    assert_int_equal(ns.norm[1][1], 205348);
    assert_true(ns.has_bvv_max);
    assert_int_equal(ns.bvv_max[BRR_HH_SINGLE_PARENT], 224224);
    assert_int_equal(ns.bvv_max[BRR_HH_COUPLE_WITH_CHILDREN], 285596);
    assert_false(ns.has_toeslagen);
    assert_int_equal(ns.until - ns.from, 180);
}

static void test_missing_figure(void **state)
{
    (void)state;
    expect_error("\"couple\":{\"cents\":192207,\"source\":\"s\"},", "",
                 "bijstandsnorm.couple: missing figure");
    expect_error("\"cents\":285596,", "",
                 "bvv_max.couple_with_children.cents: missing figure");
}

static void test_negative_or_zero_figure(void **state)
{
    (void)state;
    expect_error("134545", "-134545",
                 "bijstandsnorm.single.cents: must be a positive integer");
    expect_error("134545", "0", "bijstandsnorm.single.cents");
    expect_error("134545", "1345.45", "bijstandsnorm.single.cents");
    expect_error("134545", "\"134545\"", "bijstandsnorm.single.cents");
}

static void test_figure_without_source(void **state)
{
    (void)state;
    expect_error("\"single\":{\"cents\":134545,\"source\":\"s\"}",
                 "\"single\":{\"cents\":134545}",
                 "bijstandsnorm.single.source");
    expect_error("\"single\":{\"cents\":134545,\"source\":\"s\"}",
                 "\"single\":{\"cents\":134545,\"source\":\"\"}",
                 "every figure needs its source");
}

static void test_dates_in_wrong_order(void **state)
{
    (void)state;
    expect_error("\"effective_until\":\"2025-06-30\"",
                 "\"effective_until\":\"2024-12-31\"",
                 "effective_until is before effective_from");
    expect_error("\"effective_until\":\"2025-06-30\"",
                 "\"effective_until\":\"2025-02-30\"",
                 "effective_until: must be a date");
    expect_error("\"effective_from\":\"2025-01-01\"",
                 "\"effective_from\":\"2025-01-02\"",
                 "differs from effective_from");
}

static void test_unknown_and_missing_fields(void **state)
{
    (void)state;
    expect_error("\"description\":\"t\",", "\"descripton\":\"t\",",
                 "descripton: unknown field");
    expect_error("\"single_aow\":", "\"single_aov\":",
                 "bijstandsnorm.single_aov: unknown field");
    expect_error("\"bvv_max\":{", "\"bvv_maxx\":{", "unknown field");
    expect_error("\"toeslagen\":null,", "", "toeslagen: must be null");
}

static void test_null_maxima_need_a_note(void **state)
{
    const char *full = "\"bvv_max\":{"
                       "\"single\":{\"cents\":207124,\"source\":\"s\"},"
                       "\"single_parent\":{\"cents\":224224,\"source\":\"s\"},"
                       "\"couple\":{\"cents\":273903,\"source\":\"s\"},"
                       "\"couple_with_children\":{\"cents\":285596,"
                       "\"source\":\"s\"}},";
    brr_normset_t ns;

    (void)state;
    expect_error(full, "\"bvv_max\":null,", "bvv_max_note");
    assert_int_equal(
        parse_with(full, "\"bvv_max\":null,\"bvv_max_note\":\"n\",", &ns), 0);
    assert_false(ns.has_bvv_max);
}

static void test_toeslagen_block_refused(void **state)
{
    (void)state;
    expect_error("\"toeslagen\":null", "\"toeslagen\":{\"zorgtoeslag\":1}",
                 "toeslagen: must be null");
}

static void test_maximum_below_group1_protection_refused(void **state)
{
    (void)state;
    expect_error("207124", "140000", "bvv_max.single");
}

static void test_not_json_and_file_name(void **state)
{
    brr_normset_t ns;

    (void)state;
    assert_int_equal(
        capacity_normset_parse("{", 1, "x.json", &ns, errbuf, sizeof(errbuf)),
        BRR_EPARSE);
    assert_int_equal(capacity_normset_parse(good, strlen(good),
                                            "2025-07-01.json", &ns, errbuf,
                                            sizeof(errbuf)),
                     BRR_EINVAL);
    assert_non_null(strstr(errbuf, "file name"));
}

static void test_overlapping_sets_refused(void **state)
{
    brr_normset_t v[2];
    brr_normsets_t s;

    (void)state;
    assert_int_equal(parse_with("\"description\"", "\"description\"", &v[0]),
                     0);
    v[1] = v[0];
    memcpy(v[1].version, "2025-06-01", 11);
    v[1].from = v[0].until - 29;
    v[1].until = v[0].until + 100;
    assert_int_equal(capacity_normsets_init(&s, v, 2, errbuf, sizeof(errbuf)),
                     BRR_EINVAL);
    assert_non_null(strstr(errbuf, "overlaps"));
    v[1].from = v[0].until + 1;
    assert_int_equal(capacity_normsets_init(&s, v, 2, errbuf, sizeof(errbuf)),
                     0);
    assert_int_equal(s.n, 2);
    capacity_normsets_free(&s);
}

static void test_load_repository_sets(void **state)
{
    brr_normsets_t s;
    const brr_normset_t *ns;

    (void)state;
    assert_int_equal(
        capacity_normsets_load_dir(BRR_NORMSET_DIR, &s, errbuf, sizeof(errbuf)),
        0);
    assert_true(s.n >= 4);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.sets[i].from > s.sets[i - 1].until);

    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2025, 1, 1));
    assert_non_null(ns);
    assert_string_equal(ns->version, "2025-01-01");
    assert_int_equal(ns->norm[0][0], 134545);
    assert_int_equal(ns->bvv_max[BRR_HH_SINGLE], 207124);
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2024, 12, 31));
    assert_string_equal(ns->version, "2024-07-01");
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2024, 1, 1));
    assert_string_equal(ns->version, "2024-01-01");
    assert_int_equal(ns->bvv_max[BRR_HH_COUPLE], 263149);
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2025, 7, 1));
    assert_string_equal(ns->version, "2025-07-01");
    assert_int_equal(ns->norm[1][1], 209498);
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2024, 7, 1));
    assert_true(ns->has_bvv_max);
    assert_int_equal(ns->bvv_max[BRR_HH_SINGLE], 201960);
    assert_int_equal(ns->bvv_max[BRR_HH_COUPLE_WITH_CHILDREN], 277582);
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2024, 6, 30));
    assert_int_equal(ns->norm[1][1], 193232); /* art. 22b Participatiewet */
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2026, 1, 1));
    assert_non_null(ns);
    assert_string_equal(ns->version, "2026-01-01");
    assert_int_equal(ns->norm[0][0], 140150);
    assert_int_equal(ns->bvv_max[BRR_HH_SINGLE_PARENT], 252669);
    ns = capacity_normsets_find(&s, capacity_date_from_ymd(2026, 12, 31));
    assert_non_null(ns);
    assert_string_equal(ns->version, "2026-07-01");
    assert_int_equal(ns->norm[1][0], 202779);
    assert_int_equal(ns->bvv_max[BRR_HH_COUPLE_WITH_CHILDREN], 317968);
    /* No set has toeslagen parameters: group 2 stays refused. */
    for (size_t i = 0; i < s.n; i++)
        assert_false(s.sets[i].has_toeslagen);
    assert_null(
        capacity_normsets_find(&s, capacity_date_from_ymd(2023, 12, 31)));
    assert_null(capacity_normsets_find(&s, capacity_date_from_ymd(2027, 1, 1)));
    capacity_normsets_free(&s);
    assert_null(capacity_normsets_find(&s, 0));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static void test_load_dir_errors_name_the_file(void **state)
{
    char dir[] = "/tmp/brr-normset-XXXXXX";
    brr_normsets_t s;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EINVAL); /* empty */
    assert_non_null(strstr(errbuf, "no *.json"));

    write_file(dir, "2025-01-01.json", good);
    write_file(dir, "README.md", "not a set");
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(s.n, 1);
    capacity_normsets_free(&s);

    write_file(dir, "2025-07-01.json", "{\"version\":");
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EPARSE);
    assert_non_null(strstr(errbuf, "2025-07-01.json"));
    assert_null(s.sets);
    remove_file(dir, "2025-07-01.json");
    remove_file(dir, "2025-01-01.json");
    remove_file(dir, "README.md");
    rmdir(dir);

    assert_int_equal(capacity_normsets_load_dir("/nonexistent/brr", &s, errbuf,
                                                sizeof(errbuf)),
                     BRR_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good_document),
        cmocka_unit_test(test_missing_figure),
        cmocka_unit_test(test_negative_or_zero_figure),
        cmocka_unit_test(test_figure_without_source),
        cmocka_unit_test(test_dates_in_wrong_order),
        cmocka_unit_test(test_unknown_and_missing_fields),
        cmocka_unit_test(test_null_maxima_need_a_note),
        cmocka_unit_test(test_toeslagen_block_refused),
        cmocka_unit_test(test_maximum_below_group1_protection_refused),
        cmocka_unit_test(test_not_json_and_file_name),
        cmocka_unit_test(test_overlapping_sets_refused),
        cmocka_unit_test(test_load_repository_sets),
        cmocka_unit_test(test_load_dir_errors_name_the_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
