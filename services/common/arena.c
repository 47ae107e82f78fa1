/*
 * arena.c: the per-message / per-request bump allocator of arena.h.
 *
 * A consumer or HTTP handler allocates from its arena while it handles one
 * unit of work and resets it afterwards; nothing is freed one by one.
 * Blocks form a list from the newest (head) back to the oldest.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_BLOCK (64 * 1024)

struct brr_arena_block {
    brr_arena_block_t *next; /* older block */
    size_t cap;              /* usable bytes from data */
    size_t used;
    unsigned char *data; /* ARENA_ALIGN-aligned start inside this block */
};

static void arena_oom(size_t size)
{
    static const char msg[] = "fatal: arena: out of memory\n";

    (void)size;
    /* write(2), not the logger: nothing may allocate any more. */
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
    }
    abort();
}

static size_t align_up(size_t n)
{
    if (n > SIZE_MAX - (ARENA_ALIGN - 1))
        arena_oom(n);
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static brr_arena_block_t *block_new(size_t cap)
{
    size_t hdr = sizeof(brr_arena_block_t);
    brr_arena_block_t *b;
    uintptr_t p;

    if (cap > SIZE_MAX - hdr - ARENA_ALIGN)
        arena_oom(cap);
    b = malloc(hdr + ARENA_ALIGN + cap);
    if (b == NULL)
        arena_oom(cap);
    p = (uintptr_t)(b + 1);
    p = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    b->data = (unsigned char *)p;
    b->cap = cap;
    b->used = 0;
    b->next = NULL;
    return b;
}

static void *pb_alloc(void *data, size_t size)
{
    return brr_arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* released with the arena */
}

void brr_arena_init(brr_arena_t *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? align_up(block_size) : ARENA_DEFAULT_BLOCK;
    a->used_total = 0;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
}

void *brr_arena_alloc(brr_arena_t *a, size_t size)
{
    brr_arena_block_t *b = a->head;
    size_t n = align_up(size ? size : 1);
    void *p;

    if (b != NULL && b->cap - b->used >= n) {
        p = b->data + b->used;
        b->used += n;
        a->used_total += n;
        return p;
    }
    if (n > a->block_size) {
        /* A large request gets its own block, linked behind the current
         * one so the space left in that block stays in use. */
        brr_arena_block_t *big = block_new(n);
        big->used = n;
        if (b != NULL) {
            big->next = b->next;
            b->next = big;
        } else {
            a->head = big;
        }
        a->used_total += n;
        return big->data;
    }
    b = block_new(a->block_size);
    b->next = a->head;
    a->head = b;
    b->used = n;
    a->used_total += n;
    return b->data;
}

void *brr_arena_calloc(brr_arena_t *a, size_t n, size_t size)
{
    size_t total;
    void *p;

    if (__builtin_mul_overflow(n, size, &total))
        arena_oom(SIZE_MAX);
    p = brr_arena_alloc(a, total);
    memset(p, 0, total);
    return p;
}

char *brr_arena_strndup(brr_arena_t *a, const char *s, size_t len)
{
    char *p;

    if (len == SIZE_MAX)
        arena_oom(len);
    p = brr_arena_alloc(a, len + 1);
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *brr_arena_strdup(brr_arena_t *a, const char *s)
{
    return brr_arena_strndup(a, s, strlen(s));
}

char *brr_arena_sprintf(brr_arena_t *a, const char *fmt, ...)
{
    va_list ap, again;
    int n;
    char *p;

    va_start(ap, fmt);
    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(again);
        return brr_arena_strndup(a, "", 0); /* bad format: an empty string */
    }
    p = brr_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, again);
    va_end(again);
    return p;
}

void brr_arena_reset(brr_arena_t *a)
{
    brr_arena_block_t *keep = NULL;
    brr_arena_block_t *b;

    /* Keep the first (oldest) ordinary block for the next message; large
     * blocks are freed so that one huge message does not pin its memory. */
    for (b = a->head; b != NULL; b = b->next)
        if (b->cap == a->block_size)
            keep = b;
    b = a->head;
    while (b != NULL) {
        brr_arena_block_t *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->used_total = 0;
}

void brr_arena_destroy(brr_arena_t *a)
{
    brr_arena_block_t *b = a->head;

    while (b != NULL) {
        brr_arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

ProtobufCAllocator *brr_arena_protobuf(brr_arena_t *a)
{
    /* Refreshed here in case the arena struct was copied since init. */
    a->pb.allocator_data = a;
    return &a->pb;
}
