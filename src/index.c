/* index: open addressing with linear probing and backward-shift deletion. */
#include "index.h"

#include <errno.h>
#include <stdlib.h>

static size_t home(const struct index *ix, uint64_t hash)
{
    return (size_t)hash & (ix->cap - 1);
}

static void place(struct index *ix, uint64_t hash, void *value)
{
    size_t i = home(ix, hash);
    while (ix->slots[i].value)
        i = (i + 1) & (ix->cap - 1);
    ix->slots[i] = (struct index_slot){hash, value};
    ix->len++;
}

/* At most half full: probes stay short. */
static int grow(struct index *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 16;
    struct index_slot *old = ix->slots, *slots = calloc(cap, sizeof(*slots));
    size_t oldcap = ix->cap;
    if (!slots)
        return -ENOMEM;
    ix->slots = slots;
    ix->cap = cap;
    ix->len = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].value)
            place(ix, old[i].hash, old[i].value);
    free(old);
    return 0;
}

int index_put(struct index *ix, uint64_t hash, void *value)
{
    if ((ix->len + 1) * 2 > ix->cap && grow(ix) < 0)
        return -ENOMEM;
    place(ix, hash, value);
    return 0;
}

void *index_find(const struct index *ix, uint64_t hash, index_match *match, const void *key)
{
    if (!ix->cap)
        return NULL;
    for (size_t i = home(ix, hash); ix->slots[i].value; i = (i + 1) & (ix->cap - 1))
        if (ix->slots[i].hash == hash && match(ix->slots[i].value, key))
            return ix->slots[i].value;
    return NULL;
}

/* Whether slot j's entry, whose home is h, may move back to the hole at i. */
static bool may_fill(size_t i, size_t j, size_t h)
{
    return i <= j ? (h <= i || h > j) : (h <= i && h > j);
}

void index_del(struct index *ix, uint64_t hash, const void *value)
{
    if (!ix->cap)
        return;
    size_t mask = ix->cap - 1, i = home(ix, hash);
    while (ix->slots[i].value && ix->slots[i].value != value)
        i = (i + 1) & mask;
    if (!ix->slots[i].value)
        return;
    ix->len--;
    for (size_t j = (i + 1) & mask; ix->slots[j].value; j = (j + 1) & mask)
        if (may_fill(i, j, home(ix, ix->slots[j].hash))) {
            ix->slots[i] = ix->slots[j];
            i = j;
        }
    ix->slots[i] = (struct index_slot){0};
}

void index_free(struct index *ix)
{
    free(ix->slots);
    *ix = (struct index){0};
}

/* FNV-1a, then a final mix: names differ in their last characters (web_00, web_01). */
uint64_t index_hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return index_hash_int(h);
}

/* splitmix64's finaliser. */
uint64_t index_hash_int(uint64_t n)
{
    n = (n ^ (n >> 30)) * 0xbf58476d1ce4e5b9ULL;
    n = (n ^ (n >> 27)) * 0x94d049bb133111ebULL;
    return n ^ (n >> 31);
}
