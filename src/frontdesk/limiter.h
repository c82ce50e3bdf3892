/* limiter: the rate limit one process keeps by itself while the database
 * cannot count (docs/interface.md: "The rate limit holds while the
 * database is down too. Each process may count on its own then"). */
#ifndef FRONTDESK_LIMITER_H
#define FRONTDESK_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/netaddr.h"

/* Posts are counted by the minute: one counts from the minute it was made
 * to the end of the 60th minute after, 60 to 61 minutes, never less than
 * the hour the database counts. */
#define LIMITER_MINUTES 61
/* A fixed table: LIMITER_SETS x LIMITER_WAYS client keys (4096), each in
 * the set its keyed hash names. */
#define LIMITER_SETS 512
#define LIMITER_WAYS 8

struct limiter_slot {
	char key[NETADDR_KEY_LEN];
	long long minute;                 /* of its last post; -1: free */
	uint32_t hits[LIMITER_MINUTES];   /* posts by minute, [minute % 61] */
};

struct limiter {
	unsigned char seed[16];           /* the hash's key (SipHash) */
	struct limiter_slot set[LIMITER_SETS][LIMITER_WAYS];
};

/* Empties l; seed keys its hash, so that no client can pick addresses
 * that fall into one set. */
void limiter_init(struct limiter *l, const unsigned char seed[16]);
/* Counts a post from key at time now (seconds, any steady clock) against
 * limit posts an hour: true, counted; false, over the limit (not counted,
 * as the database does not count a refused post), with *retry_after the
 * seconds until one would be allowed. A full set gives a new key the slot
 * of the key that posted least recently, with its posts still counting:
 * a flood of addresses can make a count too high, never wipe one out. */
bool limiter_count(struct limiter *l, const char *key, long limit,
    long long now, long *retry_after);
/* limiter_count on the process's own table, under its lock, at
 * CLOCK_MONOTONIC's time. */
bool limiter_shared(const char *key, long limit, long *retry_after);

#endif
