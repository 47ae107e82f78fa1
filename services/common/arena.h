/*
 * arena.h: a bump allocator for memory whose lifetime is one message or one
 * HTTP request (PostgreSQL's memory contexts, h2o's per-request pool).
 *
 * Allocate freely, then brr_arena_reset() once the message is handled.
 * Allocation aborts on out-of-memory, so callers never test for NULL.
 * brr_arena_protobuf() exposes the arena as a ProtobufCAllocator so that
 * protobuf-c decodes straight into it; its free() is a no-op.
 */
#ifndef BRR_ARENA_H
#define BRR_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct brr_arena_block brr_arena_block_t;

typedef struct {
    brr_arena_block_t *head; /* current block */
    size_t block_size;       /* size of ordinary blocks */
    size_t used_total;       /* bytes handed out since the last reset */
    ProtobufCAllocator pb;   /* allocator view for protobuf-c */
} brr_arena_t;

/* Initialises an arena whose blocks are block_size bytes (0: 64 KiB). */
void brr_arena_init(brr_arena_t *a, size_t block_size);

/* Returns size bytes aligned to 16; never NULL (aborts on OOM).  Requests
 * larger than the block size get a block of their own. */
void *brr_arena_alloc(brr_arena_t *a, size_t size);

/* Zeroed allocation of n * size bytes, overflow-checked (aborts). */
void *brr_arena_calloc(brr_arena_t *a, size_t n, size_t size);

/* Copies s (len bytes) into the arena and NUL-terminates it. */
char *brr_arena_strndup(brr_arena_t *a, const char *s, size_t len);
char *brr_arena_strdup(brr_arena_t *a, const char *s);

/* printf into the arena. */
char *brr_arena_sprintf(brr_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Releases everything allocated since init or the last reset, keeping the
 * first block for reuse. */
void brr_arena_reset(brr_arena_t *a);

/* Frees every block; the arena may be initialised again. */
void brr_arena_destroy(brr_arena_t *a);

/* The arena as protobuf-c's allocator (valid while the arena lives). */
ProtobufCAllocator *brr_arena_protobuf(brr_arena_t *a);

#endif
