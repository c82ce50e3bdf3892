/* limiter: a process's own rate limit while the database cannot count. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/reference.h"
#include "limiter.h"

static size_t
bucket(long long minute)
{
	return (size_t)(((minute % LIMITER_MINUTES) + LIMITER_MINUTES) %
	    LIMITER_MINUTES);
}

void
limiter_init(struct limiter *l, const unsigned char seed[16])
{
	memcpy(l->seed, seed, sizeof(l->seed));
	for (size_t s = 0; s < LIMITER_SETS; s++)
		for (size_t w = 0; w < LIMITER_WAYS; w++) {
			memset(&l->set[s][w], 0, sizeof(l->set[s][w]));
			l->set[s][w].minute = -1;
		}
}

/* The slot of key: its own, or the one it takes over. */
static struct limiter_slot *
slot_of(struct limiter *l, const char *key, long long minute)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct limiter_slot *set, *oldest;
	uint64_t v = 0;

	crypto_shorthash(h, (const unsigned char *)key, strlen(key), l->seed);
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	set = l->set[v % LIMITER_SETS];
	oldest = &set[0];
	for (size_t w = 0; w < LIMITER_WAYS; w++) {
		if (set[w].minute >= 0 && strcmp(set[w].key, key) == 0)
			return &set[w];
		if (set[w].minute < oldest->minute)
			oldest = &set[w];
	}
	/* A free slot, one whose posts no longer count, or else the least
	 * recently used, posts and all. */
	if (oldest->minute < minute - (LIMITER_MINUTES - 1)) {
		memset(oldest->hits, 0, sizeof(oldest->hits));
		oldest->minute = minute;
	}
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	return oldest;
}

bool
limiter_count(struct limiter *l, const char *key, long limit, long long now,
    long *retry_after)
{
	long long minute = now / 60, total = 0, left;
	struct limiter_slot *s = slot_of(l, key, minute);

	/* The minutes since its last post no longer hold the posts of an
	 * hour ago (their buckets come round again). */
	for (long long m = s->minute + 1; m <= minute &&
	    m <= s->minute + LIMITER_MINUTES; m++)
		s->hits[bucket(m)] = 0;
	if (minute > s->minute)
		s->minute = minute;
	for (size_t i = 0; i < LIMITER_MINUTES; i++)
		total += s->hits[i];
	if (total < limit) {
		s->hits[bucket(s->minute)]++;
		return true;
	}
	/* Under the limit once enough of the oldest minutes are over: the
	 * posts of minute m count until (m + 61) * 60. */
	left = total;
	for (long long m = s->minute - (LIMITER_MINUTES - 1); m <= s->minute;
	    m++) {
		left -= s->hits[bucket(m)];
		if (left < limit) {
			*retry_after = (long)((m + LIMITER_MINUTES) * 60 - now);
			return false;
		}
	}
	*retry_after = LIMITER_MINUTES * 60;   /* not reached: left is 0 */
	return false;
}

static struct limiter shared;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void
shared_init(void)
{
	unsigned char seed[16] = { 0 };

	/* Without randomness the hash is still a hash: only the sets can
	 * then be aimed at. */
	(void)random_bytes(seed, sizeof(seed));
	limiter_init(&shared, seed);
}

bool
limiter_shared(const char *key, long limit, long *retry_after)
{
	struct timespec ts;
	bool allowed;

	pthread_once(&shared_once, shared_init);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&shared_lock);
	allowed = limiter_count(&shared, key, limit, (long long)ts.tv_sec,
	    retry_after);
	pthread_mutex_unlock(&shared_lock);
	return allowed;
}
