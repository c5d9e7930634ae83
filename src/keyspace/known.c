/*
 * known.c: the set of keys a command's prefetch learned about (known.h).
 *
 * An array in the order entries were added, the keys' bytes copied one
 * after the other into one buffer; past KNOWN_LINEAR entries a
 * dict from the tagged key (dbid + key bytes) to the position is built, so
 * a command with ten thousand keys does not search linearly for each.
 * Adding a key twice keeps the first entry (the same read answered both).
 */
#include "keyspace/known.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/dict.h"
#include "ds/str.h"
#include "ds/alloc.h"

#define KNOWN_LINEAR 16

static const dict_type index_type = {dict_str_hash, dict_str_eq, dict_str_free, NULL};

struct known_keys *known_new(void)
{
    return heap_calloc(1, sizeof(struct known_keys));
}

void known_free(struct known_keys *kk)
{
    if (!kk)
        return;
    if (kk->index)
        dict_release(kk->index);
    free(kk->k);
    free(kk->bytes);
    free(kk);
}

void known_clear(struct known_keys *kk)
{
    if (!kk)
        return;
    kk->read_failed = 0;
    if (kk->n == 0)
        return;
    kk->n = 0;
    kk->used = 0;
    if (kk->index) {
        dict_release(kk->index);
        kk->index = NULL;
    }
}

static void index_add(struct known_keys *kk, size_t pos)
{
    const struct known_key *k = &kk->k[pos];
    dict_entry *e =
        dict_add(kk->index, str_new_tagged(k->h.dbid, kk->bytes + k->off, k->h.len), NULL);
    if (e)
        e->v.u64 = pos;
}

const struct known_key *known_find(const struct known_keys *kk, uint16_t dbid, const char *key,
                                   size_t len)
{
    if (!kk || kk->n == 0)
        return NULL;
    if (kk->index) {
        dict_entry *e = dict_find_tagged(kk->index, dbid, key, len);
        return e ? &kk->k[e->v.u64] : NULL;
    }
    for (size_t i = 0; i < kk->n; i++) {
        const struct known_key *k = &kk->k[i];
        if (k->h.dbid == dbid && k->h.len == len && !memcmp(kk->bytes + k->off, key, len))
            return k;
    }
    return NULL;
}

static void known_add(struct known_keys *kk, const struct known_key *k)
{
    if (known_find(kk, k->h.dbid, k->h.key, k->h.len))
        return;
    if (kk->n == kk->cap) {
        kk->cap = kk->cap ? kk->cap * 2 : 8;
        kk->k = heap_realloc(kk->k, kk->cap * sizeof(*kk->k));
    }
    if (!kk->bytes || kk->used + k->h.len > kk->bcap) {
        kk->bcap = (kk->used + k->h.len) * 2 + 64;
        kk->bytes = heap_realloc(kk->bytes, kk->bcap);
    }
    struct known_key *nk = &kk->k[kk->n++];
    *nk = *k;
    nk->off = kk->used;
    nk->h.key = NULL;
    memcpy(kk->bytes + kk->used, k->h.key, k->h.len);
    kk->used += k->h.len;
    if (kk->index) {
        index_add(kk, kk->n - 1);
    } else if (kk->n > KNOWN_LINEAR) {
        kk->index = dict_create(&index_type);
        for (size_t i = 0; i < kk->n; i++)
            index_add(kk, i);
    }
}

void known_add_absent(struct known_keys *kk, uint16_t dbid, const char *key, size_t len)
{
    struct known_key k = {1, 0, {.dbid = dbid, .key = key, .len = len}};
    known_add(kk, &k);
}

void known_add_header(struct known_keys *kk, const struct key_header *h)
{
    struct known_key k = {0, 0, *h};
    known_add(kk, &k);
}

void known_read_failed(struct known_keys *kk, const char *msg)
{
    if (!kk || kk->read_failed)
        return;
    kk->read_failed = 1;
    snprintf(kk->read_err, sizeof(kk->read_err), "%s", msg);
}
