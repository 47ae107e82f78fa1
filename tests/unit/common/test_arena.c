/* Unit tests for services/common/arena.c: alignment, block growth, large
 * requests, reset and the protobuf-c allocator view. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arena.h"

static int aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

static void test_arena_alloc_is_aligned_and_disjoint(void **state)
{
    brr_arena_t a;
    unsigned char *prev = NULL;

    (void)state;
    brr_arena_init(&a, 256);
    assert_non_null(brr_arena_alloc(&a, 0)); /* size 0: still a pointer */
    for (size_t n = 1; n <= 40; n++) {
        unsigned char *p = brr_arena_alloc(&a, n);
        assert_true(aligned16(p));
        memset(p, (int)n, n);
        if (prev != NULL)
            assert_int_equal(prev[0], (unsigned char)(n - 1));
        prev = p;
    }
    /* 16 (size 0) + 40 allocations rounded to 16, 32 or 48 bytes. */
    assert_int_equal(a.used_total, 16 + 16 * 16 + 16 * 32 + 8 * 48);
    brr_arena_destroy(&a);
}

static void test_arena_fills_block_then_grows(void **state)
{
    brr_arena_t a;
    char *p[5];

    (void)state;
    brr_arena_init(&a, 64);
    assert_int_equal(a.block_size, 64);
    for (int i = 0; i < 4; i++)
        p[i] = brr_arena_alloc(&a, 16);
    /* One block of 64 holds exactly four 16-byte allocations. */
    assert_ptr_equal(p[1], p[0] + 16);
    assert_ptr_equal(p[3], p[0] + 48);
    p[4] = brr_arena_alloc(&a, 1);
    assert_true(p[4] < p[0] || p[4] >= p[0] + 64);
    assert_int_equal(a.used_total, 80);
    brr_arena_destroy(&a);
    assert_null(a.head);
}

static void test_arena_large_request_gets_own_block(void **state)
{
    brr_arena_t a;
    char *small1, *big, *small2;

    (void)state;
    brr_arena_init(&a, 128);
    small1 = brr_arena_alloc(&a, 16);
    big = brr_arena_alloc(&a, 1000);
    memset(big, 'x', 1000);
    assert_true(aligned16(big));
    /* The current block keeps serving small requests. */
    small2 = brr_arena_alloc(&a, 16);
    assert_ptr_equal(small2, small1 + 16);
    /* Exactly the block size still fits a fresh ordinary block. */
    assert_non_null(brr_arena_alloc(&a, 128));
    brr_arena_destroy(&a);
}

static void test_arena_reset_reuses_first_block(void **state)
{
    brr_arena_t a;
    char *first, *again;

    (void)state;
    brr_arena_init(&a, 64);
    first = brr_arena_alloc(&a, 32);
    for (int i = 0; i < 10; i++)
        brr_arena_alloc(&a, 48);
    brr_arena_alloc(&a, 4096);
    brr_arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    assert_non_null(a.head);
    again = brr_arena_alloc(&a, 32);
    /* The first block survives, and the next message starts at its
     * beginning again. */
    assert_ptr_equal(again, first);
    assert_int_equal(a.used_total, 32);
    brr_arena_reset(&a);
    brr_arena_reset(&a); /* resetting an empty arena is fine */
    brr_arena_destroy(&a);
    brr_arena_destroy(&a); /* and so is destroying twice */
}

static void test_arena_reset_after_only_large(void **state)
{
    brr_arena_t a;

    (void)state;
    brr_arena_init(&a, 64);
    brr_arena_alloc(&a, 1000);
    brr_arena_reset(&a);
    assert_null(a.head); /* no ordinary block to keep */
    assert_non_null(brr_arena_alloc(&a, 8));
    brr_arena_destroy(&a);
}

static void test_arena_default_block_size(void **state)
{
    brr_arena_t a;

    (void)state;
    brr_arena_init(&a, 0);
    assert_int_equal(a.block_size, 64 * 1024);
    brr_arena_destroy(&a);
    brr_arena_init(&a, 100);
    assert_int_equal(a.block_size, 112); /* rounded to the alignment */
    brr_arena_destroy(&a);
}

static void test_arena_calloc_zeroes(void **state)
{
    brr_arena_t a;
    unsigned char *p;

    (void)state;
    brr_arena_init(&a, 64);
    /* Dirty the block first so zeroes cannot be an accident of malloc. */
    memset(brr_arena_alloc(&a, 64), 0xab, 64);
    brr_arena_reset(&a);
    p = brr_arena_calloc(&a, 6, 10);
    for (int i = 0; i < 60; i++)
        assert_int_equal(p[i], 0);
    assert_non_null(brr_arena_calloc(&a, 0, 10));
    brr_arena_destroy(&a);
}

static void test_arena_strings(void **state)
{
    brr_arena_t a;
    char *s;

    (void)state;
    brr_arena_init(&a, 0);
    s = brr_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(s, "abc");
    assert_string_equal(brr_arena_strdup(&a, "hello"), "hello");
    assert_string_equal(brr_arena_strdup(&a, ""), "");
    assert_string_equal(brr_arena_sprintf(&a, "%s-%d", "org", 42), "org-42");
    s = brr_arena_sprintf(&a, "%0300d", 7);
    assert_int_equal(strlen(s), 300);
    assert_int_equal(s[299], '7');
    brr_arena_destroy(&a);
}

static void test_arena_protobuf_allocator(void **state)
{
    brr_arena_t a, moved;
    ProtobufCAllocator *pb;
    void *p;
    size_t before;

    (void)state;
    brr_arena_init(&a, 0);
    pb = brr_arena_protobuf(&a);
    p = pb->alloc(pb->allocator_data, 24);
    assert_non_null(p);
    assert_true(aligned16(p));
    assert_int_equal(a.used_total, 32);
    before = a.used_total;
    pb->free(pb->allocator_data, p); /* no-op */
    assert_int_equal(a.used_total, before);

    /* A copied arena struct gets a view pointing at the copy. */
    moved = a;
    pb = brr_arena_protobuf(&moved);
    assert_ptr_equal(pb->allocator_data, &moved);
    pb->alloc(pb->allocator_data, 16);
    assert_int_equal(moved.used_total, 48);
    brr_arena_destroy(&moved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alloc_is_aligned_and_disjoint),
        cmocka_unit_test(test_arena_fills_block_then_grows),
        cmocka_unit_test(test_arena_large_request_gets_own_block),
        cmocka_unit_test(test_arena_reset_reuses_first_block),
        cmocka_unit_test(test_arena_reset_after_only_large),
        cmocka_unit_test(test_arena_default_block_size),
        cmocka_unit_test(test_arena_calloc_zeroes),
        cmocka_unit_test(test_arena_strings),
        cmocka_unit_test(test_arena_protobuf_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
