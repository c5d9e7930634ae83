/*
 * dict.c: chained hash table with incremental rehashing (dict.h).
 *
 * Two tables. Normally only t[0] is in use; a resize allocates t[1] and
 * from then on every find/add/delete moves one bucket (dict_rehash_ms moves
 * many) from t[0] to t[1]; when t[0] is empty, t[1] becomes t[0]. New
 * entries go to t[1] while rehashing, so t[0] only ever shrinks.
 *
 * Invariants:
 * - sizes are 0 or powers of two (>= DICT_MIN_SIZE), mask = size - 1;
 * - rehash_idx == -1 when not rehashing; otherwise every bucket of t[0]
 *   below rehash_idx is empty;
 * - while iterators > 0 (live safe iterators, or a dict_scan callback
 *   running) no bucket is moved, so the entry an iterator holds and the
 *   one it will visit next stay where they are. A resize may still start
 *   (it moves nothing by itself), so the table cannot degenerate during a
 *   long iteration.
 * - growth starts when used >= size (load factor 1); shrinking is left to
 *   dict_maybe_shrink (cron), when less than 10% of buckets would be used.
 *
 * - in an embed_str_key dict, an entry is the bytes up to its key field
 *   followed by the key's str block; the key never moves or changes while
 *   the entry lives (other tables may point at it, as the keyspace's
 *   expires table does).
 *
 * All memory (tables, entries, the dict) comes from the hot tier.
 */
#include "ds/dict.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ds/alloc.h"
#include "ds/hashfn.h"
#include "ds/str.h"
#include "ds/util.h"

#define DICT_MIN_SIZE 4
/* A rehash step visits at most this many empty buckets per bucket it was
 * asked to move, so one step stays O(1) even in a sparse table. */
#define DICT_EMPTY_VISITS 10

struct dict_table {
    dict_entry **buckets;
    size_t size; /* 0 or a power of two */
    size_t used;
};

struct dict {
    const dict_type *type;
    struct dict_table t[2];
    long rehash_idx;
    int iterators;
    /* The entry found or added last: a command finds its key several
     * times in a row (the prefetch, the lookup, the write), and this
     * answers the repeats with one compare of memory that is in cache.
     * Forgotten when its entry leaves the dict. */
    dict_entry *memo;
};

static uint8_t dict_seed[16] = {'l', 'o', 'n', 'g', 't', 'a', 'i', 'l',
                                '-', 'd', 'i', 'c', 't', '-', 'v', '1'};

/* ------------------------------------------------------------ small helpers */

static inline int dict_rehashing(const dict *d)
{
    return d->rehash_idx != -1;
}

static inline uint64_t dict_hash(const dict *d, const void *key)
{
    return d->type->hash(key);
}

/* Where an embedded key's str block starts: where the key field would be. */
#define DICT_EMBED_OFFSET offsetof(dict_entry, key)

static inline void *dict_entry_key(const dict *d, const dict_entry *e)
{
    if (d->type->embed_str_key)
        return (char *)e + DICT_EMBED_OFFSET + sizeof(struct str_hdr);
    return e->key;
}

static void dict_free_entry(dict *d, dict_entry *e)
{
    if (d->type->key_free && !d->type->embed_str_key)
        d->type->key_free(e->key);
    if (d->type->val_free)
        d->type->val_free(e->v.val);
    hot_free(e);
}

static size_t dict_next_power(size_t n)
{
    size_t size = DICT_MIN_SIZE;
    while (size < n && size <= (SIZE_MAX >> 1))
        size <<= 1;
    return size;
}

/* Starts a resize to the smallest power of two that holds n entries. With no
 * table yet, the new table becomes t[0] directly. */
static void dict_resize(dict *d, size_t n)
{
    if (dict_rehashing(d))
        return;
    size_t size = dict_next_power(n);
    if (size == d->t[0].size)
        return;
    struct dict_table nt = {hot_calloc(size * sizeof(dict_entry *)), size, 0};
    if (d->t[0].buckets == NULL) {
        d->t[0] = nt;
        return;
    }
    d->t[1] = nt;
    d->rehash_idx = 0;
}

/* Moves up to n non-empty buckets of t[0] into t[1]. Returns 1 if buckets
 * remain to move. */
static int dict_rehash(dict *d, int n)
{
    if (!dict_rehashing(d))
        return 0;
    size_t empty_visits = (size_t)n * DICT_EMPTY_VISITS;
    struct dict_table *from = &d->t[0], *to = &d->t[1];

    while (n-- > 0 && from->used > 0) {
        assert((size_t)d->rehash_idx < from->size);
        while (from->buckets[d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0)
                return 1;
        }
        dict_entry *e = from->buckets[d->rehash_idx];
        while (e) {
            dict_entry *next = e->next;
            size_t idx = dict_hash(d, dict_entry_key(d, e)) & (to->size - 1);
            e->next = to->buckets[idx];
            to->buckets[idx] = e;
            from->used--;
            to->used++;
            e = next;
        }
        from->buckets[d->rehash_idx] = NULL;
        d->rehash_idx++;
    }

    if (from->used == 0) {
        hot_free(from->buckets);
        d->t[0] = d->t[1];
        memset(&d->t[1], 0, sizeof(d->t[1]));
        d->rehash_idx = -1;
        return 0;
    }
    return 1;
}

/* The incremental step every operation pays. */
static inline void dict_rehash_step(dict *d)
{
    if (d->iterators == 0 && dict_rehashing(d))
        dict_rehash(d, 1);
}

static void dict_expand_if_needed(dict *d)
{
    if (dict_rehashing(d))
        return;
    if (d->t[0].size == 0)
        dict_resize(d, DICT_MIN_SIZE);
    else if (d->t[0].used >= d->t[0].size)
        dict_resize(d, d->t[0].used + 1);
}

/* Finds key. When found and linkp is given, *linkp gets the link that
 * points to the entry and *tablep the table holding it (for unlinking). */
static dict_entry *dict_lookup(dict *d, const void *key, uint64_t h, dict_entry ***linkp,
                               struct dict_table **tablep)
{
    for (int t = 0; t <= 1; t++) {
        struct dict_table *tb = &d->t[t];
        if (tb->size == 0)
            break;
        size_t idx = h & (tb->size - 1);
        /* Buckets of t[0] below rehash_idx are empty: skip the memory access. */
        if (t == 0 && dict_rehashing(d) && (long)idx < d->rehash_idx)
            continue;
        dict_entry **link = &tb->buckets[idx];
        for (dict_entry *e = *link; e; link = &e->next, e = e->next) {
            const void *k = dict_entry_key(d, e);
            if (k == key || d->type->key_eq(k, key)) {
                if (linkp) {
                    *linkp = link;
                    *tablep = tb;
                }
                return e;
            }
        }
        if (!dict_rehashing(d))
            break;
    }
    return NULL;
}

/* -------------------------------------------------------------- public API */

dict *dict_create(const dict_type *type)
{
    dict *d = hot_calloc(sizeof(*d));
    d->type = type;
    d->rehash_idx = -1;
    return d;
}

/* Frees every entry of tb, leaving its buckets empty. */
static void table_free_entries(dict *d, struct dict_table *tb)
{
    for (size_t i = 0; i < tb->size && tb->used > 0; i++) {
        dict_entry *e = tb->buckets[i];
        tb->buckets[i] = NULL;
        while (e) {
            dict_entry *next = e->next;
            dict_free_entry(d, e);
            tb->used--;
            e = next;
        }
    }
}

void dict_clear(dict *d)
{
    for (int t = 0; t <= 1; t++) {
        struct dict_table *tb = &d->t[t];
        table_free_entries(d, tb);
        hot_free(tb->buckets);
        memset(tb, 0, sizeof(*tb));
    }
    d->rehash_idx = -1;
    d->memo = NULL;
}

void dict_clear_keep(dict *d, size_t max_buckets)
{
    struct dict_table *tb = &d->t[0];
    if (dict_rehashing(d) || tb->size == 0 || tb->size > max_buckets) {
        dict_clear(d);
        return;
    }
    table_free_entries(d, tb);
    d->memo = NULL;
}

void dict_release(dict *d)
{
    if (!d)
        return;
    dict_clear(d);
    hot_free(d);
}

size_t dict_size(const dict *d)
{
    return d->t[0].used + d->t[1].used;
}

size_t dict_mem_usage(const dict *d)
{
    /* embedded keys are counted with their entries by whoever sums keys */
    size_t entry = d->type->embed_str_key ? DICT_EMBED_OFFSET : sizeof(dict_entry);
    return sizeof(*d) + (d->t[0].size + d->t[1].size) * sizeof(dict_entry *) + dict_size(d) * entry;
}

void *dict_key(const dict *d, const dict_entry *e)
{
    return dict_entry_key(d, e);
}

dict_entry *dict_find_tagged(dict *d, unsigned tag, const void *key, size_t len)
{
    union {
        struct str_hdr h;
        char bytes[256];
    } buf;
    if (len + 2 + sizeof(struct str_hdr) + 1 > sizeof(buf)) {
        str k = str_new_tagged(tag, key, len);
        dict_entry *e = dict_find(d, k);
        str_free(k);
        return e;
    }
    buf.h.len = buf.h.cap = (uint32_t)(len + 2);
    char *k = buf.bytes + sizeof(buf.h);
    k[0] = (char)(tag >> 8);
    k[1] = (char)tag;
    memcpy(k + 2, key, len);
    k[len + 2] = 0;
    return dict_find(d, k);
}

/* The memo, when it is key's entry. */
static inline dict_entry *memo_of(const dict *d, const void *key)
{
    dict_entry *m = d->memo;
    return m && d->type->key_eq(dict_entry_key(d, m), key) ? m : NULL;
}

dict_entry *dict_find(dict *d, const void *key)
{
    if (dict_size(d) == 0)
        return NULL;
    dict_rehash_step(d);
    dict_entry *e = memo_of(d, key);
    if (!e)
        e = dict_lookup(d, key, dict_hash(d, key), NULL, NULL);
    if (e)
        d->memo = e;
    return e;
}

static dict_entry *dict_insert(dict *d, void *key, uint64_t h)
{
    struct dict_table *tb = dict_rehashing(d) ? &d->t[1] : &d->t[0];
    size_t idx = h & (tb->size - 1);
    dict_entry *e;
    if (d->type->embed_str_key) {
        size_t len = str_len(key);
        e = hot_malloc(DICT_EMBED_OFFSET + sizeof(struct str_hdr) + len + 1);
        struct str_hdr *h = (struct str_hdr *)((char *)e + DICT_EMBED_OFFSET);
        h->len = h->cap = (uint32_t)len;
        char *k = (char *)(h + 1);
        memcpy(k, key, len);
        k[len] = '\0';
    } else {
        e = hot_malloc(sizeof(*e));
        e->key = key;
    }
    e->v.val = NULL;
    e->next = tb->buckets[idx];
    tb->buckets[idx] = e;
    tb->used++;
    return e;
}

dict_entry *dict_add_or_find(dict *d, void *key, int *existed)
{
    dict_rehash_step(d);
    dict_entry *e = memo_of(d, key);
    int found = e != NULL;
    if (!e) {
        uint64_t h = dict_hash(d, key);
        e = dict_size(d) ? dict_lookup(d, key, h, NULL, NULL) : NULL;
        found = e != NULL;
        if (!e) {
            dict_expand_if_needed(d);
            e = dict_insert(d, key, h);
        }
    }
    if (existed)
        *existed = found;
    d->memo = e;
    return e;
}

dict_entry *dict_add(dict *d, void *key, void *val)
{
    int existed;
    dict_entry *e = dict_add_or_find(d, key, &existed);
    if (existed)
        return NULL;
    e->v.val = val;
    return e;
}

dict_entry *dict_unlink(dict *d, const void *key)
{
    if (dict_size(d) == 0)
        return NULL;
    dict_rehash_step(d);
    uint64_t h = dict_hash(d, key);
    dict_entry **link;
    struct dict_table *tb;
    dict_entry *e = dict_lookup(d, key, h, &link, &tb);
    if (!e)
        return NULL;
    *link = e->next;
    e->next = NULL;
    tb->used--;
    if (d->memo == e)
        d->memo = NULL;
    return e;
}

void dict_free_unlinked(dict *d, dict_entry *e)
{
    if (e)
        dict_free_entry(d, e);
}

int dict_delete(dict *d, const void *key)
{
    dict_entry *e = dict_unlink(d, key);
    if (!e)
        return -1;
    dict_free_entry(d, e);
    return 0;
}

/* ---------------------------------------------------------------- sampling */

dict_entry *dict_random(dict *d)
{
    if (dict_size(d) == 0)
        return NULL;
    dict_rehash_step(d);

    dict_entry *head;
    if (dict_rehashing(d)) {
        /* Buckets of t[0] below rehash_idx are known empty: draw among the
         * rest of t[0] and all of t[1]. */
        size_t s0 = d->t[0].size, s1 = d->t[1].size;
        size_t skip = (size_t)d->rehash_idx;
        do {
            size_t i = skip + util_rand64() % (s0 + s1 - skip);
            head = i < s0 ? d->t[0].buckets[i] : d->t[1].buckets[i - s0];
        } while (!head);
    } else {
        size_t mask = d->t[0].size - 1;
        do {
            head = d->t[0].buckets[util_rand64() & mask];
        } while (!head);
    }

    size_t len = 0;
    for (dict_entry *e = head; e; e = e->next)
        len++;
    size_t pick = util_rand64() % len;
    while (pick--)
        head = head->next;
    return head;
}

size_t dict_sample(dict *d, dict_entry **out, size_t count)
{
    size_t n = dict_size(d);
    if (count > n)
        count = n;
    if (count == 0)
        return 0;
    for (size_t i = 0; i < count && d->iterators == 0 && dict_rehashing(d); i++)
        dict_rehash(d, 1);

    int tables = dict_rehashing(d) ? 2 : 1;
    size_t span = d->t[0].size;
    if (tables == 2 && d->t[1].size > span)
        span = d->t[1].size;
    size_t mask = span - 1;

    /* Walk consecutive indexes from a random start; each index is visited
     * at most once (walked + skipped < span), so no entry can be returned
     * twice. A long run of empty buckets triggers a forward jump, which
     * spreads the sample without breaking that bound. */
    size_t idx = util_rand64() & mask;
    size_t walked = 0, stored = 0, empty_run = 0;
    size_t budget = count * 10;

    while (stored < count && walked < span && budget-- > 0) {
        int found = 0;
        for (int t = 0; t < tables && stored < count; t++) {
            if (t == 0 && tables == 2 && (long)idx < d->rehash_idx)
                continue;
            if (idx >= d->t[t].size)
                continue;
            for (dict_entry *e = d->t[t].buckets[idx]; e && stored < count; e = e->next) {
                out[stored++] = e;
                found = 1;
            }
        }
        if (found) {
            empty_run = 0;
        } else if (++empty_run >= 5 && empty_run > count) {
            size_t left = span - walked - 1;
            if (left > 2) {
                size_t jump = 1 + util_rand64() % (left / 2);
                idx = (idx + jump) & mask;
                walked += jump;
            }
            empty_run = 0;
        }
        idx = (idx + 1) & mask;
        walked++;
    }
    return stored;
}

/* -------------------------------------------------------------------- scan */

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
    return __builtin_bswap64(v);
}

/* Next cursor after visiting bucket (v & mask): increment the reversed
 * bits above the mask's complement, so that the order of visits is
 * compatible with every power-of-two table size. */
static inline uint64_t scan_next(uint64_t v, uint64_t mask)
{
    v |= ~mask;
    v = rev64(v);
    v++;
    return rev64(v);
}

static void scan_bucket(dict_entry *e, dict_scan_fn *fn, void *privdata)
{
    while (e) {
        dict_entry *next = e->next; /* fn may delete e */
        fn(privdata, e);
        e = next;
    }
}

uint64_t dict_scan(dict *d, uint64_t cursor, dict_scan_fn *fn, void *privdata)
{
    if (dict_size(d) == 0)
        return 0;
    d->iterators++; /* callbacks may delete: keep buckets in place */

    uint64_t v = cursor;
    if (!dict_rehashing(d)) {
        uint64_t m0 = d->t[0].size - 1;
        scan_bucket(d->t[0].buckets[v & m0], fn, privdata);
        v = scan_next(v, m0);
    } else {
        /* Visit the cursor's bucket in the small table, then every bucket
         * of the large table that it expands into. */
        struct dict_table *small = &d->t[0], *large = &d->t[1];
        if (small->size > large->size) {
            small = &d->t[1];
            large = &d->t[0];
        }
        uint64_t m0 = small->size - 1, m1 = large->size - 1;
        scan_bucket(small->buckets[v & m0], fn, privdata);
        do {
            scan_bucket(large->buckets[v & m1], fn, privdata);
            v = scan_next(v, m1);
        } while (v & (m0 ^ m1));
    }

    d->iterators--;
    return v;
}

/* --------------------------------------------------------------- iteration */

void dict_iter_init(dict_iter *it, dict *d)
{
    it->d = d;
    it->index = -1;
    it->table = 0;
    it->entry = NULL;
    it->next = NULL;
    d->iterators++;
}

dict_entry *dict_iter_next(dict_iter *it)
{
    dict *d = it->d;
    for (;;) {
        if (it->next) {
            it->entry = it->next;
            it->next = it->entry->next;
            return it->entry;
        }
        struct dict_table *tb = &d->t[it->table];
        it->index++;
        if ((size_t)it->index >= tb->size) {
            /* A resize may have started since init: t[1] then holds the
             * entries added since, and nothing has moved (iterators > 0). */
            if (it->table == 0 && dict_rehashing(d)) {
                it->table = 1;
                it->index = -1;
                continue;
            }
            it->entry = NULL;
            return NULL;
        }
        it->next = tb->buckets[it->index];
    }
}

void dict_iter_done(dict_iter *it)
{
    if (it->d) {
        assert(it->d->iterators > 0);
        it->d->iterators--;
        it->d = NULL;
    }
}

/* ----------------------------------------------------------------- resizing */

int dict_rehash_ms(dict *d, int ms)
{
    if (d->iterators > 0)
        return dict_rehashing(d);
    uint64_t deadline = util_monotonic_us() + (uint64_t)ms * 1000;
    while (dict_rehash(d, 100)) {
        if (util_monotonic_us() >= deadline)
            return 1;
    }
    return 0;
}

void dict_maybe_shrink(dict *d)
{
    if (dict_rehashing(d))
        return;
    size_t size = d->t[0].size, used = d->t[0].used;
    if (size > DICT_MIN_SIZE && used * 10 < size)
        dict_resize(d, used);
}

/* ------------------------------------------------------------ ready types */

void dict_set_hash_seed(const uint8_t seed[16])
{
    memcpy(dict_seed, seed, sizeof(dict_seed));
}

uint64_t dict_str_hash(const void *key)
{
    const str s = (const str)key;
    return hashfn_siphash(s, str_len(s), dict_seed);
}

int dict_str_eq(const void *a, const void *b)
{
    const str x = (const str)a, y = (const str)b;
    size_t l = str_len(x);
    return l == str_len(y) && memcmp(x, y, l) == 0;
}

void dict_str_hot_free(void *key)
{
    str_hot_free(key);
}

void dict_str_free(void *key)
{
    str_free(key);
}

uint64_t dict_cstr_nocase_hash(const void *key)
{
    const char *s = key;
    return hashfn_siphash_nocase(s, strlen(s), dict_seed);
}

int dict_cstr_nocase_eq(const void *a, const void *b)
{
    return strcasecmp(a, b) == 0;
}
