/* store: frontdesk's PostgreSQL statements (one connection per thread). */
#ifndef FRONTDESK_STORE_H
#define FRONTDESK_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "common/buf.h"
#include "common/reference.h"
#include "spool.h"
#include "validate.h"

struct store {
	PGconn *conn;
	const char *conninfo;
	const char *app_name;
	bool prepared;
	bool retried;   /* the last statement was sent again on a new link */
};

enum store_result {
	STORE_OK = 0,
	STORE_LOCATION_GONE = 1, /* not an active location (any more) */
	STORE_KEY_TAKEN = 2,     /* the idempotency key came first elsewhere */
	STORE_DUPLICATE = 3,     /* a unique index refused the row (23505) */
	STORE_REFUSED = 4,       /* the database refuses these values for good */
	STORE_ERROR = -1,        /* the database answered with an error */
	STORE_DOWN = -2          /* no connection to the database */
};

/* What the database knows before a submission is judged. */
struct store_precheck {
	bool location;        /* active (false: unknown or disabled) */
	enum key_state key;   /* KEY_NEW (unseen or expired), KEY_SAME, KEY_OTHER */
	char reference[REFERENCE_LEN + 1];
	char thank_you_url[512];  /* the replayed request's location's, or "" */
};

/* Connects (or reconnects) and prepares; 0, or STORE_DOWN. */
int store_open(struct store *s);
void store_close(struct store *s);
/* Does the database answer? */
bool store_healthy(struct store *s);
/* Appends the active locations as a JSON array to out. */
int store_locations_json(struct store *s, struct buf *out);
/* Appends the outbox's gauges and delivery counters (Prometheus text). */
int store_outbox_stats(struct store *s, struct buf *out);
/* Appends frontdesk_mailer_heartbeat_age_seconds: the newest mailer
 * heartbeat's age, +Inf when there is none. */
int store_mailer_heartbeat(struct store *s, struct buf *out);
/* Counts a post from addr (a netaddr key) against limit posts per hour;
 * *allowed false means over, with *retry_after seconds until it is not. */
int store_ratelimit(struct store *s, const char *addr, long limit,
    bool *allowed, long *retry_after);
/* The active locations, in order: n pairs of slug and thank-you URL
 * override ("" for none), pairs[2i] and pairs[2i + 1] (to free). */
int store_active_locations(struct store *s, char ***pairs, size_t *n);
/* Stores a spooled request, exactly once; STORE_LOCATION_GONE when its
 * location no longer exists at all, STORE_REFUSED when the database
 * refuses its values for good (a data exception or an integrity
 * violation), STORE_ERROR when it refuses it for now (anything else: a
 * lock, a timeout, a revoked grant an operator is fixing). Errors are not
 * logged here: state gets the SQLSTATE ("" when there is none) and the
 * caller logs a change once, not every try. */
int store_replay(struct store *s, const struct spool_entry *e,
    char state[6]);
/* key may be NULL (then fp is ignored). */
int store_precheck(struct store *s, const char *slug, const char *key,
    const void *fp, size_t fplen, struct store_precheck *out);
/* Inserts the request (and, unless spam, its outbox row) in one statement.
 * Fills ref with the new reference; thank_you gets the location's
 * thank-you URL override, if it has one. */
int store_submit(struct store *s, const struct appointment *a, bool spam,
    const char *key, const void *fp, size_t fplen, const char *msgid_domain,
    char ref[REFERENCE_LEN + 1], struct buf *thank_you);

#endif
