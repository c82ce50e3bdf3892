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
	STORE_DUPLICATE = 3,     /* a unique index refused the row (23505) */
	STORE_REFUSED = 4,       /* the database refuses these values for good */
	STORE_ERROR = -1,        /* the database answered with an error */
	STORE_DOWN = -2          /* no connection to the database */
};

/* A post, as frontdesk_post() (sql/011_post.sql) takes it: counted
 * against the rate limit, its location and key looked up and, if store
 * and the location is active and the key new, stored. */
struct store_post {
	const char *addr;     /* the client's netaddr key; NULL: not counted */
	long limit;           /* [limits] per_ip_per_hour; 0: not counted */
	const struct appointment *a;
	bool store;           /* valid but for the location's availability */
	bool spam;            /* the honeypot: stored as spam, no email */
	const char *key;      /* NULL: none (fp is then ignored) */
	const void *fp;
	size_t fplen;
	const char *msgid_domain;
};

/* What it found, and did. */
struct store_posted {
	long retry_after;     /* 0, or over the limit: 429 with this */
	bool location;        /* active (false: unknown or disabled) */
	bool stored;          /* stored under reference, the key claimed */
	enum key_state key;   /* KEY_NEW (unseen or expired), KEY_SAME, KEY_OTHER */
	char reference[REFERENCE_LEN + 1];      /* the one tried (stored or not) */
	char key_reference[REFERENCE_LEN + 1];  /* the key's request's */
	char thank_you_url[512];      /* the location's override, or "" */
	char key_thank_you_url[512];  /* the key's request's location's */
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
/* One post in one round trip and one transaction. A reference is drawn
 * into out->reference (again, if it collides); STORE_DOWN may follow a
 * statement sent on a link that broke, which may have committed under
 * out->reference. */
int store_post(struct store *s, const struct store_post *in,
    struct store_posted *out);

#endif
