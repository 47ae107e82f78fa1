/*
 * test_normset.c: loading and validating the norm-set files, their
 * revisions (current and superseded), picking a set by reference date and
 * finding one by identifier; and the figures of every published revision,
 * frozen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "normset.h"

static const char *good =
    "{\"version\":\"2025-01-01\",\"revision\":1,"
    "\"effective_from\":\"2025-01-01\","
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
    assert_int_equal(ns.revision, 1);
    assert_string_equal(ns.id, "2025-01-01.r1");
    assert_false(ns.superseded);
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

static void test_revision_required_and_bounded(void **state)
{
    brr_normset_t ns;

    (void)state;
    expect_error("\"revision\":1,", "", "revision: missing");
    expect_error("\"revision\":1,", "\"revision\":0,",
                 "revision: must be an integer from 1 to 9999");
    expect_error("\"revision\":1,", "\"revision\":-1,", "revision: must be");
    expect_error("\"revision\":1,", "\"revision\":\"1\",", "revision: must be");
    expect_error("\"revision\":1,", "\"revision\":1.0,", "revision: must be");
    expect_error("\"revision\":1,", "\"revision\":null,", "revision: must be");
    expect_error("\"revision\":1,", "\"revision\":10000,", "revision: must be");
    /* A correction says what it corrects. */
    expect_error("\"revision\":1,", "\"revision\":2,",
                 "revision_note: required for revision 2");
    expect_error("\"revision\":1,", "\"revision\":1,\"revision_note\":\"\",",
                 "revision_note: must be a non-empty string");
    expect_error("\"revision\":1,", "\"revision\":1,\"revision_note\":3,",
                 "revision_note: must be");
    assert_int_equal(parse_with("\"revision\":1,",
                                "\"revision\":9999,\"revision_note\":\"n\",",
                                &ns),
                     0);
    assert_int_equal(ns.revision, 9999);
    assert_string_equal(ns.id, "2025-01-01.r9999");
    assert_int_equal(parse_with("\"revision\":1,",
                                "\"revision\":1,\"revision_note\":\"n\",", &ns),
                     0);
    assert_string_equal(ns.id, "2025-01-01.r1");
}

static void test_superseded_file_name_is_the_identifier(void **state)
{
    brr_normset_t ns;

    (void)state;
    assert_int_equal(capacity_normset_parse(good, strlen(good),
                                            "superseded/2025-01-01.r1.json",
                                            &ns, errbuf, sizeof(errbuf)),
                     0);
    assert_int_equal(capacity_normset_parse(good, strlen(good),
                                            "superseded/2025-01-01.r2.json",
                                            &ns, errbuf, sizeof(errbuf)),
                     BRR_EINVAL);
    assert_non_null(strstr(errbuf, "superseded/2025-01-01.r2.json: file name"));
    assert_non_null(strstr(errbuf, "\"2025-01-01.r1.json\""));
}

static void test_id_parse(void **state)
{
    static const char *const bad[] = {"2024-01-01.r0",  "2024-01-01.r",
                                      "2024-01-01.r01", "2024-02-30.r1",
                                      "2024-01-01.x1",  "2024-01-01.r12345",
                                      "2024-01-01r1",   "2024-01-01.r1 ",
                                      "2024-1-01.r1",   "",
                                      "2024-01-01.r-1", "2024-01-01.ra"};
    char version[11];
    int rev = -1;

    (void)state;
    assert_int_equal(capacity_normset_id_parse("2024-01-01.r2", version, &rev),
                     0);
    assert_string_equal(version, "2024-01-01");
    assert_int_equal(rev, 2);
    assert_int_equal(
        capacity_normset_id_parse("2026-07-01.r9999", version, &rev), 0);
    assert_int_equal(rev, 9999);
    /* What assessments stored before revisions existed. */
    assert_int_equal(capacity_normset_id_parse("2025-01-01", version, &rev), 0);
    assert_string_equal(version, "2025-01-01");
    assert_int_equal(rev, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (capacity_normset_id_parse(bad[i], version, &rev) != BRR_EINVAL)
            fail_msg("\"%s\" accepted", bad[i]);
    assert_int_equal(capacity_normset_id_parse(NULL, version, &rev),
                     BRR_EINVAL);
}

/* A copy of base as revision rev of its version, superseded or current. */
static brr_normset_t revision_of(const brr_normset_t *base, int rev,
                                 int superseded)
{
    brr_normset_t v = *base;

    v.revision = rev;
    v.superseded = superseded;
    snprintf(v.id, sizeof(v.id), "%s.r%d", v.version, rev);
    return v;
}

static void expect_init_error(const brr_normset_t *v, size_t n, const char *msg)
{
    brr_normsets_t s;

    errbuf[0] = '\0';
    assert_int_equal(capacity_normsets_init(&s, v, n, errbuf, sizeof(errbuf)),
                     BRR_EINVAL);
    assert_null(s.sets);
    if (strstr(errbuf, msg) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", errbuf, msg);
}

static void test_revisions_validated_together(void **state)
{
    brr_normset_t base, other, v[4];
    brr_normsets_t s;
    const brr_normset_t *revs[4];

    (void)state;
    assert_int_equal(parse_with("\"description\"", "\"description\"", &base),
                     0);
    other = base;
    memcpy(other.version, "2025-07-01", 11);
    other.from = base.until + 1;
    other.until = base.until + 184;
    other = revision_of(&other, 1, 0);

    /* current r2 with superseded r1: fine */
    v[0] = revision_of(&base, 2, 0);
    v[1] = revision_of(&base, 1, 1);
    v[2] = other;
    assert_int_equal(capacity_normsets_init(&s, v, 3, errbuf, sizeof(errbuf)),
                     0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.nsuperseded, 1);
    /* by date: only the current revision */
    assert_string_equal(capacity_normsets_find(&s, base.from)->id,
                        "2025-01-01.r2");
    assert_string_equal(capacity_normsets_find(&s, base.until)->id,
                        "2025-01-01.r2");
    assert_string_equal(capacity_normsets_find(&s, other.from)->id,
                        "2025-07-01.r1");
    /* by identifier: current and superseded */
    assert_true(capacity_normsets_find_id(&s, "2025-01-01.r1")->superseded);
    assert_false(capacity_normsets_find_id(&s, "2025-01-01.r2")->superseded);
    assert_non_null(capacity_normsets_find_id(&s, "2025-07-01.r1"));
    assert_null(capacity_normsets_find_id(&s, "2025-01-01.r3"));
    assert_null(capacity_normsets_find_id(&s, "2025-07-01.r2"));
    assert_null(capacity_normsets_find_id(&s, "2025-01-01"));
    assert_null(capacity_normsets_find_id(&s, NULL));
    assert_int_equal(capacity_normsets_revisions(&s, "2025-01-01", revs, 4), 2);
    assert_string_equal(revs[0]->id, "2025-01-01.r1");
    assert_string_equal(revs[1]->id, "2025-01-01.r2");
    assert_int_equal(capacity_normsets_revisions(&s, "2025-01-01", revs, 1),
                     2); /* counts past cap */
    assert_int_equal(capacity_normsets_revisions(&s, "2025-07-01", revs, 4), 1);
    assert_int_equal(capacity_normsets_revisions(&s, "2024-01-01", revs, 4), 0);
    capacity_normsets_free(&s);
    assert_null(capacity_normsets_find_id(&s, "2025-01-01.r1"));

    /* duplicate identifier: r2 current and r2 superseded */
    v[0] = revision_of(&base, 2, 0);
    v[1] = revision_of(&base, 1, 1);
    v[2] = revision_of(&base, 2, 1);
    expect_init_error(v, 3,
                      "duplicate norm set identifier 2025-01-01.r2: "
                      "2025-01-01.json and superseded/2025-01-01.r2.json");
    /* the same superseded revision twice */
    v[2] = revision_of(&base, 1, 1);
    expect_init_error(v, 3,
                      "duplicate norm set identifier 2025-01-01.r1: "
                      "superseded/2025-01-01.r1.json is loaded twice");
    /* two current revisions of one version */
    v[0] = revision_of(&base, 1, 0);
    v[1] = revision_of(&base, 2, 0);
    expect_init_error(v, 2, "norm set 2025-01-01: two current revisions");
    /* a superseded revision above the current one */
    v[0] = revision_of(&base, 1, 0);
    v[1] = revision_of(&base, 2, 1);
    expect_init_error(v, 2,
                      "superseded/2025-01-01.r2.json: superseded revision 2 "
                      "is not below the current revision 1 in "
                      "2025-01-01.json");
    /* a superseded revision without its current set */
    v[0] = other;
    v[1] = revision_of(&base, 1, 1);
    expect_init_error(v, 2,
                      "superseded/2025-01-01.r1.json: no current revision "
                      "of norm set 2025-01-01");
    /* an earlier revision lost */
    v[0] = revision_of(&base, 3, 0);
    v[1] = revision_of(&base, 2, 1);
    expect_init_error(v, 2,
                      "2025-01-01.json: revision 3, but "
                      "superseded/2025-01-01.r1.json is missing");
    v[1] = revision_of(&base, 1, 1);
    expect_init_error(v, 2, "superseded/2025-01-01.r2.json is missing");
    v[0] = revision_of(&base, 2, 0);
    expect_init_error(v, 1, "superseded/2025-01-01.r1.json is missing");
    /* only superseded sets */
    v[0] = revision_of(&base, 1, 1);
    expect_init_error(v, 1, "no norm sets");
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
    assert_string_equal(ns->id, "2024-01-01.r2");
    /* Revision 1 of each corrected 2024 set, kept for old assessments. */
    ns = capacity_normsets_find_id(&s, "2024-01-01.r1");
    assert_non_null(ns);
    assert_true(ns->superseded);
    assert_int_equal(ns->norm[1][1], 193398); /* as DOMAIN.md §3 */
    ns = capacity_normsets_find_id(&s, "2024-07-01.r1");
    assert_non_null(ns);
    assert_true(ns->superseded);
    assert_false(ns->has_bvv_max);
    assert_string_equal(
        capacity_normsets_find(&s, capacity_date_from_ymd(2024, 7, 1))->id,
        "2024-07-01.r2");
    assert_int_equal(s.nsuperseded, 2);
    /* A superseded set is never picked by date. */
    for (brr_date_t t = capacity_date_from_ymd(2024, 1, 1);
         t <= capacity_date_from_ymd(2026, 12, 31); t++)
        assert_false(capacity_normsets_find(&s, t)->superseded);
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

/* Every revision ever published, with its figures.  An assessment names
 * its set by identifier, so these never change: a corrected figure is a new
 * revision (a new row here, the old file moved to superseded/), never an
 * edit of a published one.  Norms: single, single AOW, couple, couple AOW;
 * maxima: single, single parent, couple, couple with children (0: none). */
static const struct {
    const char *id, *until;
    brr_cents_t norm[4], max[4];
} published[] = {
    {"2024-01-01.r1",
     "2024-06-30",
     {128383, 142576, 183404, 193398},
     {199621, 216260, 263149, 274709}},
    {"2024-01-01.r2",
     "2024-06-30",
     {128383, 142576, 183404, 193232},
     {199621, 216260, 263149, 274709}},
    {"2024-07-01.r1",
     "2024-12-31",
     {130845, 145685, 186921, 197664},
     {0, 0, 0, 0}},
    {"2024-07-01.r2",
     "2024-12-31",
     {130845, 145685, 186921, 197664},
     {201960, 218131, 266491, 277582}},
    {"2025-01-01.r1",
     "2025-06-30",
     {134545, 150107, 192207, 205348},
     {207124, 224224, 273903, 285596}},
    {"2025-07-01.r1",
     "2025-12-31",
     {136906, 153021, 195580, 209498},
     {209367, 226467, 277107, 288800}},
    {"2026-01-01.r1",
     "2026-06-30",
     {140150, 156469, 200213, 214416},
     {219142, 252669, 288141, 315531}},
    {"2026-07-01.r1",
     "2026-12-31",
     {141946, 158734, 202779, 217610},
     {220848, 254375, 290579, 317968}},
};

static void test_published_revisions_are_frozen(void **state)
{
    const size_t np = sizeof(published) / sizeof(published[0]);
    brr_normsets_t s;

    (void)state;
    assert_int_equal(
        capacity_normsets_load_dir(BRR_NORMSET_DIR, &s, errbuf, sizeof(errbuf)),
        0);
    for (size_t i = 0; i < np; i++) {
        const brr_normset_t *ns =
            capacity_normsets_find_id(&s, published[i].id);
        char until[11];

        if (ns == NULL)
            fail_msg("%s is no longer loaded", published[i].id);
        capacity_date_format_iso(ns->until, until);
        assert_string_equal(until, published[i].until);
        assert_int_equal(ns->norm[0][0], published[i].norm[0]);
        assert_int_equal(ns->norm[0][1], published[i].norm[1]);
        assert_int_equal(ns->norm[1][0], published[i].norm[2]);
        assert_int_equal(ns->norm[1][1], published[i].norm[3]);
        assert_int_equal(ns->has_bvv_max, published[i].max[0] != 0);
        for (int hh = 0; hh < BRR_HH_COUNT; hh++)
            assert_int_equal(ns->has_bvv_max ? ns->bvv_max[hh] : 0,
                             published[i].max[hh]);
        assert_false(ns->has_toeslagen);
    }
    /* A set added to data/normsets gets its row here too. */
    for (size_t i = 0; i < s.n + s.nsuperseded; i++) {
        const brr_normset_t *ns = i < s.n ? &s.sets[i] : &s.superseded[i - s.n];
        size_t k = 0;

        while (k < np && strcmp(published[k].id, ns->id) != 0)
            k++;
        if (k == np)
            fail_msg("%s is not in the published table of this test", ns->id);
    }
    capacity_normsets_free(&s);
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

/* good as revision rev (with a note) of 2025-01-01. */
static char *good_revision(int rev)
{
    static char doc[4096];
    const char *at = strstr(good, "\"revision\":1,");

    assert_non_null(at);
    snprintf(doc, sizeof(doc),
             "%.*s\"revision\":%d,\"revision_note\":\"correction\",%s",
             (int)(at - good), good, rev, at + strlen("\"revision\":1,"));
    return doc;
}

static void test_load_dir_with_superseded_revisions(void **state)
{
    char dir[] = "/tmp/brr-normset-XXXXXX", sub[64];
    brr_normsets_t s;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/superseded", dir);

    /* revision 2 without its revision 1 */
    write_file(dir, "2025-01-01.json", good_revision(2));
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EINVAL);
    assert_non_null(strstr(errbuf, "2025-01-01.json: revision 2, but "
                                   "superseded/2025-01-01.r1.json is missing"));

    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(sub, "2025-01-01.r1.json", good);
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.nsuperseded, 1);
    assert_string_equal(s.sets[0].id, "2025-01-01.r2");
    assert_true(capacity_normsets_find_id(&s, "2025-01-01.r1")->superseded);
    capacity_normsets_free(&s);

    /* the current revision's identifier again under superseded/ */
    write_file(sub, "2025-01-01.r2.json", good_revision(2));
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EINVAL);
    assert_non_null(strstr(errbuf, "duplicate norm set identifier "
                                   "2025-01-01.r2: 2025-01-01.json and "
                                   "superseded/2025-01-01.r2.json"));
    remove_file(sub, "2025-01-01.r2.json");

    /* a superseded file named as a current one */
    write_file(sub, "2025-01-01.json", good);
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EINVAL);
    assert_non_null(strstr(errbuf, "superseded/2025-01-01.json: a superseded "
                                   "file is named after its identifier"));
    remove_file(sub, "2025-01-01.json");

    /* a bad superseded file is named with its directory */
    write_file(sub, "2025-01-01.r1.json", "{\"version\":");
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EPARSE);
    assert_non_null(strstr(errbuf, "superseded/2025-01-01.r1.json"));
    assert_null(s.sets);
    write_file(sub, "2025-01-01.r1.json", good);

    /* a superseded revision left in the top directory */
    write_file(dir, "2025-01-01.r1.json", good);
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EINVAL);
    assert_non_null(strstr(errbuf, "2025-01-01.r1.json: a superseded revision "
                                   "belongs in superseded/2025-01-01.r1.json"));
    remove_file(dir, "2025-01-01.r1.json");

    /* a file without a revision */
    write_file(
        dir, "2025-07-01.json",
        "{\"version\":\"2025-07-01\",\"effective_from\":\"2025-07-01\"}");
    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)),
        BRR_EINVAL);
    assert_non_null(strstr(errbuf, "2025-07-01.json: revision: missing"));
    remove_file(dir, "2025-07-01.json");

    assert_int_equal(
        capacity_normsets_load_dir(dir, &s, errbuf, sizeof(errbuf)), 0);
    capacity_normsets_free(&s);
    remove_file(sub, "2025-01-01.r1.json");
    rmdir(sub);
    remove_file(dir, "2025-01-01.json");
    rmdir(dir);
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
        cmocka_unit_test(test_revision_required_and_bounded),
        cmocka_unit_test(test_superseded_file_name_is_the_identifier),
        cmocka_unit_test(test_id_parse),
        cmocka_unit_test(test_revisions_validated_together),
        cmocka_unit_test(test_overlapping_sets_refused),
        cmocka_unit_test(test_load_repository_sets),
        cmocka_unit_test(test_load_dir_errors_name_the_file),
        cmocka_unit_test(test_load_dir_with_superseded_revisions),
        cmocka_unit_test(test_published_revisions_are_frozen),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
