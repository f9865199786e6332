/* index: a hash index from keys to values the caller owns (processes by name, by
 * pid). Open addressing with linear probing; a removal shifts its run back, so no
 * tombstones pile up. The caller hashes the key and says when a value matches it:
 * the index keeps no copy of any key. Every operation is O(1) on average. */
#ifndef TEND_INDEX_H
#define TEND_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct index_slot {
    uint64_t hash;
    void *value; /* NULL: free */
};

struct index {
    struct index_slot *slots;
    size_t cap, len; /* cap: a power of two, or 0 */
};

typedef bool index_match(const void *value, const void *key);

/* Adds value under hash (a value may be added once). 0, or -ENOMEM. */
int index_put(struct index *ix, uint64_t hash, void *value);
/* The value under hash that match() says is key's, or NULL. */
void *index_find(const struct index *ix, uint64_t hash, index_match *match, const void *key);
/* Takes value (this very pointer) out; nothing when it is not there. */
void index_del(struct index *ix, uint64_t hash, const void *value);
void index_free(struct index *ix);

/* Hashes for the keys tend uses. */
uint64_t index_hash_str(const char *s);
uint64_t index_hash_int(uint64_t n);

#endif
