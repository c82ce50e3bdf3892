/* test_limiter: the rate limit a process keeps while the database cannot
 * count: the same limit over a sliding hour (to the minute, never less),
 * Retry-After to the second, and a table that a flood of addresses cannot
 * empty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "tap.h"

/* A steady clock well past its start, at a minute's boundary. */
#define T0 (1000000LL * 60)

static struct limiter *
fresh(void)
{
	static const unsigned char seed[16] = "test seed 123456";
	struct limiter *l = malloc(sizeof(*l));

	if (l == NULL)
		abort();
	limiter_init(l, seed);
	return l;
}

/* How many of n posts from key at now are allowed. */
static int
posts(struct limiter *l, const char *key, int n, long limit, long long now,
    long *retry)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += limiter_count(l, key, limit, now, retry);
	return ok;
}

int
main(void)
{
	struct limiter *l = fresh();
	long retry = 0;
	int ok;

	/* 40 posts at once from one address, 5 an hour: 5. */
	tap_ok(posts(l, "198.51.100.1", 40, 5, T0 + 10, &retry) == 5,
	    "5 of 40 posts at once get through");
	tap_ok(retry == 3660 - 10, "Retry-After: until the minute of the "
	    "first post is 61 minutes old (%ld)", retry);
	tap_ok(!limiter_count(l, "198.51.100.1", 5, T0 + 1800, &retry) &&
	    retry == 3660 - 1800, "half an hour on, still over; the wait is "
	    "shorter by as much (%ld)", retry);
	tap_ok(!limiter_count(l, "198.51.100.1", 5, T0 + 3659, &retry) &&
	    retry == 1, "a second before: 1 s (%ld)", retry);
	tap_ok(limiter_count(l, "198.51.100.1", 5, T0 + 3660, &retry),
	    "at Retry-After, allowed again");
	tap_ok(posts(l, "198.51.100.2", 5, 5, T0 + 3660, &retry) == 5,
	    "another address has its own count");

	/* Sliding: 3 posts, then 2 half an hour later; over until the first
	 * 3 are over, then 3 more, not 5. */
	free(l);
	l = fresh();
	posts(l, "2001:db8:1:2::/64", 3, 5, T0, &retry);
	posts(l, "2001:db8:1:2::/64", 2, 5, T0 + 1800, &retry);
	tap_ok(!limiter_count(l, "2001:db8:1:2::/64", 5, T0 + 1801, &retry) &&
	    retry == 3660 - 1801, "sliding: the oldest posts decide the wait "
	    "(%ld)", retry);
	ok = posts(l, "2001:db8:1:2::/64", 5, 5, T0 + 3660, &retry);
	tap_ok(ok == 3, "sliding: once the first 3 are over, 3 more (%d)", ok);
	tap_ok(!limiter_count(l, "2001:db8:1:2::/64", 5, T0 + 3660, &retry) &&
	    retry == 1800, "and then the wait is for the next oldest (%ld)",
	    retry);
	tap_ok(posts(l, "2001:db8:1:2::/64", 5, 5, T0 + 4 * 3600, &retry) == 5,
	    "hours later, a whole hour's posts again");

	/* A limit of 1; a very large one. */
	tap_ok(posts(l, "192.0.2.9", 3, 1, T0, &retry) == 1 && retry == 3660,
	    "limit 1: one post an hour (%ld)", retry);
	tap_ok(posts(l, "192.0.2.10", 3000, 1000000000L, T0, &retry) == 3000,
	    "a limit of a billion counts without overflow");

	/* A flood of 100,000 addresses, each posting its 2 at once: the table
	 * stays its size, no address gets a third post in the hour, and an
	 * address that posted before the flood is still over after it. */
	free(l);
	l = fresh();
	tap_ok(posts(l, "198.51.100.77", 2, 2, T0, &retry) == 2,
	    "flood: the first address's 2 posts");
	ok = 0;
	for (int i = 0; i < 100000; i++) {
		char key[NETADDR_KEY_LEN];

		snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
		    i & 255);
		ok += posts(l, key, 3, 2, T0 + 60 + i / 1000, &retry);
	}
	tap_ok(ok <= 200000, "flood: no address got a third post (%d of "
	    "300000 allowed)", ok);
	tap_ok(!limiter_count(l, "198.51.100.77", 2, T0 + 400, &retry),
	    "flood: the first address is still over its limit");
	tap_ok(sizeof(struct limiter) < 2 * 1024 * 1024, "the table is a "
	    "fixed %zu bytes", sizeof(struct limiter));
	free(l);

	tap_ok(limiter_shared("192.0.2.1", 1, &retry) &&
	    !limiter_shared("192.0.2.1", 1, &retry) && retry >= 3600 &&
	    retry <= 3660, "the process's own table, on the steady clock (%ld)",
	    retry);
	return tap_done();
}
