/* verdict: which answer a parsed, rate-limited POST gets, decided once,
 * from what the checks found, whether the database or the spool answered
 * them. Pure; tests/unit/test_verdict.c holds its table. */
#ifndef FRONTDESK_VERDICT_H
#define FRONTDESK_VERDICT_H

#include <stdbool.h>

/* What is known of a post's idempotency key, from the database or the
 * spool. The numbers are stable: they are what the spool's functions
 * have always returned. */
enum key_state {
	KEY_NEW = 0,       /* no key, or none accepted with it yet (or it
	                    * expired); from a claim: claimed for this post */
	KEY_SAME = 1,      /* accepted before with the same fields */
	KEY_OTHER = 2,     /* accepted before with other fields */
	KEY_PENDING = 3,   /* a twin's spool entry is not on disk yet */
	KEY_ERROR = -1,    /* the question could not be answered */
};

struct verdict_facts {
	bool checks_failed;   /* a check could not reach its store (503) */
	bool honeypot;        /* the website field was filled */
	bool valid;           /* every field passed, the key header included */
	enum key_state key;
};

enum verdict {
	VERDICT_STORE,        /* store it; answer accepted */
	VERDICT_STORE_SPAM,   /* store it as spam, no email; answer accepted */
	VERDICT_DROP_SPAM,    /* keep nothing; answer accepted all the same */
	VERDICT_REPLAY,       /* the key's first answer again */
	VERDICT_CONFLICT,     /* 409: the key was used for other fields */
	VERDICT_INVALID,      /* 422 with the fields' errors */
	VERDICT_UNAVAILABLE,  /* 503 with Retry-After */
};

/*
 * The order of docs/interface.md, after the rate limit: the honeypot (answered as
 * accepted, so a bot learns nothing: stored as spam when its fields are
 * valid, else dropped), then the idempotent replay (a key already accepted
 * gets its first answer for the same fields and 409 for other fields, even
 * when this post is also invalid), then validation (422), then the store.
 * A key whose twin is still being spooled, or that could not be looked up,
 * gets 503: nothing may be answered as accepted that is not durable.
 */
enum verdict verdict_decide(const struct verdict_facts *f);

#endif
