/* spool: accepted requests kept on disk while the database is down. */
#ifndef FRONTDESK_SPOOL_H
#define FRONTDESK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/reference.h"
#include "validate.h"
#include "verdict.h"

/* One spooled request: everything its database rows will hold. */
struct spool_entry {
	char reference[REFERENCE_LEN + 1];
	char created_at[40];          /* ISO 8601, UTC, microseconds */
	bool spam;
	struct appointment a;         /* owned; freed by spool_entry_free */
	char *key;                    /* idempotency key or NULL */
	char *msgid_domain;
};

/* Makes dir/tmp, dir/new, dir/failed and dir/keys (mode 0700), checks
 * that a file can be written there, makes the spool's key for keys/ if it
 * has none (dir/fingerprint.key), and counts the spool's size: 0, or -1
 * with err. */
int spool_init(const char *dir, char *err, size_t errsize);
/* Durably writes e: a temporary file, fsync, rename into new/, fsync of
 * the directory. Only then may the request be answered as accepted. When
 * it would take every file in the spool past max_size bytes (0: no
 * bound), across the processes sharing it, it writes nothing: -1 with
 * errno ENOSPC. */
int spool_write(const char *dir, const struct spool_entry *e, long max_size);
/* The bytes of every file in the spool (dir/usage's own aside), as
 * counted in dir/usage; -1 when it cannot be read. */
long long spool_usage(const char *dir);
/* Counts them again from the files: what a crash or an admin changed. */
int spool_recount(const char *dir);
/* The JSON text of e, and back (pure; for the tests too). */
char *spool_encode(const struct spool_entry *e);
int spool_decode(const char *text, struct spool_entry *e);
void spool_entry_free(struct spool_entry *e);

/* The replayer's memory of the entries the database refused for now:
 * when each may be tried again (1 s doubling to SPOOL_BACKOFF_MAX), since
 * when it is refused and what was logged about it, so that each change
 * is logged once, not every try. Zero it, set the two limits, and free it
 * with spool_retry_free. */
#define SPOOL_BACKOFF_MAX 300
struct spool_held;
struct spool_retry {
	long give_up_after;   /* seconds refused for now, then failed/; 0 never */
	long max_body;        /* [fastcgi] max_body: bounds an entry's size */
	struct spool_held *held;   /* sorted by name */
	size_t n, cap;
};
void spool_retry_free(struct spool_retry *rs);

/* How a spooled entry fared with the database. */
enum spool_outcome {
	SPOOL_STORED = 0,   /* stored: the file is removed */
	SPOOL_STOP = 1,     /* the database is down again: keep it, and the
	                     * rest wait too */
	SPOOL_LATER = 2,    /* refused for now: keep it, the others go on; it
	                     * is tried again after a backoff, and moved to
	                     * dir/failed once refused for give_up_after */
	SPOOL_NEVER = -1,   /* it can never be stored: moved to dir/failed */
	SPOOL_GONE = 3,     /* another process replayed it meanwhile */
};

/* Calls fn for each file waiting in dir/new, oldest first, each held
 * under an exclusive lock so that processes sharing the spool never
 * replay one twice at once. Only a regular file of ours, not a link,
 * no larger than an entry can be (spool_entry_max), named as spool_write
 * names it, that decodes and passes spool_entry_check at time now reaches
 * fn; any other goes to dir/failed with one log line. fn says how the
 * entry fared (enum spool_outcome); with SPOOL_LATER and SPOOL_NEVER it
 * may say why in why (one line, no patient data). Returns how many were
 * stored, or -1. */
int spool_replay(const char *dir, struct spool_retry *rs, time_t now,
    enum spool_outcome (*fn)(const struct spool_entry *e, void *arg,
    char *why, size_t whysize), void *arg);
/* Is e what spool_write writes for a valid post accepted not long before
 * now? Every field as validate_form would have stored it, the key a key,
 * created_at a real time from SPOOL_MAX_AGE before now to SPOOL_MAX_AHEAD
 * after, msgid_domain fit for a Message-ID. 0; -1 with why (the field
 * and the rule, never its value); VALIDATE_NOMEM. */
#define SPOOL_MAX_AGE (30L * 24 * 3600)
#define SPOOL_MAX_AHEAD 300L
int spool_entry_check(const struct spool_entry *e, time_t now, char *why,
    size_t whysize);
/* The largest file a valid post of at most max_body bytes makes. */
size_t spool_entry_max(long max_body);
/* Are files waiting? */
bool spool_pending(const char *dir);

/* Claims an idempotency key for a spooled request (link(2): one claim
 * wins across threads and processes). The claim, dir/keys/KEY, holds ref
 * and fp keyed with the spool's key: nothing of the patient's fields.
 * KEY_NEW: claimed; KEY_SAME: claimed before with the same fingerprint and
 * that request is on disk (ref gets its reference; a twin waits up to 2 s
 * for it); KEY_OTHER: another fingerprint; KEY_PENDING: the same post's
 * entry is still not on disk, so nothing may be answered as accepted;
 * KEY_ERROR (the spool full under max_size among the causes). */
enum key_state spool_claim_key(const char *dir, const char *key, const void *fp,
    size_t fplen, char ref[REFERENCE_LEN + 1], long max_size);
/* The same question without claiming: a key spooled during an outage
 * whose request still waits in dir/new. KEY_SAME (ref filled), KEY_OTHER,
 * or KEY_NEW for none such. */
enum key_state spool_find_key(const char *dir, const char *key, const void *fp,
    size_t fplen, char ref[REFERENCE_LEN + 1]);

/* Gives up a claim whose request could not be spooled. */
void spool_release_key(const char *dir, const char *key);

/* The active locations as last read from the database (n pairs of slug
 * and thank-you URL override, "" for none), kept in dir/locations.json so
 * that a restart while the database is down still knows them. */
int spool_save_locations(const char *dir, const char *const *pairs, size_t n);
/* Is slug among them? One read of the file answers both questions: its
 * thank-you URL override goes into thank_you ("" for none; NULL: not
 * wanted). */
bool spool_location_find(const char *dir, const char *slug, char *thank_you,
    size_t size);
/* Has a list been noted at all? */
bool spool_locations_noted(const char *dir);

#endif
