/* store: frontdesk's PostgreSQL statements (one connection per thread). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "db/db.h"
#include "common/log.h"
#include "fingerprint.h"
#include "store.h"

/* One prepared statement per question frontdesk asks. */
static const struct db_statement statements[] = {
	{ "locations",
	    "SELECT slug, name FROM locations WHERE active ORDER BY id", 0 },
	/* After a lost link: did our insert commit before it broke? */
	{ "submitted",
	    "SELECT l.thank_you_url FROM appointment_requests r"
	    " JOIN locations l ON l.id = r.location_id WHERE r.reference = $1",
	    1 },
	/* A post: the rate limit, the location, the key and the store in
	 * one round trip (sql/011_post.sql); all the web may do with
	 * rate_limits and idempotency_keys. */
	{ "post",
	    "SELECT retry_after, location_active, thank_you_url, key_reference,"
	    " key_same, key_thank_you_url, stored FROM public.frontdesk_post($1,"
	    " $2::int, $3, $4, $5::boolean, $6::boolean, $7, $8, $9, $10, $11,"
	    " $12, $13, $14::boolean, $15, $16::bytea, $17)", 17 },
	{ "health", "SELECT 1", 0 },
	{ "active_locations", "SELECT slug, coalesce(thank_you_url, '')"
	    " FROM locations WHERE active ORDER BY id", 0 },
	/* A spooled request, exactly once: its reference was given out
	 * already, so a second replay of it inserts nothing. The key is
	 * judged by frontdesk_key_replay (sql/009_keys.sql), once, for each
	 * row of loc (none when the location is gone): a repost of a post
	 * the database had before the outage (same key and fields) is not
	 * stored twice, its reference an alias of that one's ('same'); a key
	 * the database had for other fields stays theirs, and the request is
	 * stored without it ('other'). The location need not be active any
	 * more. */
	{ "replay",
	    "WITH loc AS ("
	    "  SELECT id FROM locations WHERE slug = $2"
	    "), k AS MATERIALIZED ("
	    "  SELECT public.frontdesk_key_replay($12, $14::bytea, $1,"
	    "   $13::timestamptz) AS r FROM loc"
	    "), req AS ("
	    "  INSERT INTO appointment_requests (reference, location_id, status,"
	    "   first_name, last_name, email, phone, service, preferred_time,"
	    "   message, consent, submission_id, created_at)"
	    "  SELECT $1, loc.id, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
	    "   CASE WHEN (k.r).state = 'new' THEN $12::text END,"
	    "   $13::timestamptz FROM loc, k WHERE (k.r).state <> 'same'"
	    "  ON CONFLICT (reference) DO NOTHING"
	    "  RETURNING id"
	    "), ob AS ("
	    "  INSERT INTO outbox (request_id, message_id)"
	    "  SELECT id, '<' || $1 || '.' || gen_random_uuid() || '@' || $15 || '>'"
	    "  FROM req WHERE $3 = 'received'"
	    "  RETURNING id"
	    ")"
	    " SELECT EXISTS (SELECT 1 FROM loc), (SELECT count(*) FROM req),"
	    "  (SELECT (r).state FROM k), (SELECT (r).reference FROM k),"
	    "  (SELECT count(*) FROM ob)", 15 },
	/* For /metrics: the queue now, and every delivery attempt so far. */
	{ "outbox_stats",
	    "SELECT (SELECT count(*) FROM outbox"
	    "  WHERE status IN ('pending', 'sending')),"
	    " (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)"
	    "  FROM outbox WHERE status IN ('pending', 'sending')),"
	    " (SELECT count(*) FROM outbox WHERE status = 'dead'),"
	    /* counted as they are written and purged (sql/010): O(1) */
	    " (SELECT n FROM delivery_counts WHERE outcome = 'sent'),"
	    " (SELECT n FROM delivery_counts WHERE outcome = 'retry'),"
	    " (SELECT n FROM delivery_counts WHERE outcome = 'dead')", 0 },
	/* For /metrics: how long since any mailer wrote its heartbeat (one
	 * row per mailer process, the newest found by its index). NULL:
	 * none ever did. */
	{ "mailer_heartbeat",
	    "SELECT CASE WHEN max(at) IS NOT NULL THEN round(extract(epoch FROM"
	    "  greatest(now() - max(at), interval '0')), 3) END"
	    " FROM mailer_heartbeats", 0 },
};

static int
store_prepare(struct store *s)
{
	if (db_prepare(s->conn, statements, sizeof(statements) /
	    sizeof(statements[0])) == -1)
		return -1;
	s->prepared = true;
	return 0;
}

/* While the database cannot be reached, one connection attempt every two
 * seconds, across all threads, is enough: the other requests are answered
 * at once (from the spool, or 503) instead of each waiting out a connect
 * timeout to a host that does not answer. */
#define STORE_RETRY_MS 2000
static atomic_llong store_retry_at;

static long long
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
store_open(struct store *s)
{
	/* Our defaults come first so that the conninfo can override them.
	 * Over TCP, a server that vanished without a word is noticed within
	 * seconds, not hours; no statement of ours may hold a thread long.
	 * Read-write: of a multi-host conninfo's hosts, the primary (a
	 * standby would fail every insert on a connection that looks fine). */
	const char *keys[] = { "application_name", "connect_timeout",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", "options", "target_session_attrs", "dbname",
	    NULL };
	const char *vals[] = { s->app_name ? s->app_name : "frontdesk", "3",
	    "10", "5", "3", "15000", "-c statement_timeout=15000",
	    "read-write", s->conninfo, NULL };
	char q[256];

	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK &&
	    s->prepared)
		return 0;
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
	s->prepared = false;
	if (store_now_ms() < atomic_load(&store_retry_at))
		return STORE_DOWN;
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		atomic_store(&store_retry_at, store_now_ms() + STORE_RETRY_MS);
		log_warn("db_connect_failed", "error=%s", log_quote(q, sizeof(q),
		    s->conn ? PQerrorMessage(s->conn) : "out of memory"));
		return STORE_DOWN;
	}
	if (store_prepare(s) == -1) {
		PQfinish(s->conn);
		s->conn = NULL;
		return STORE_DOWN;
	}
	return 0;
}

void
store_close(struct store *s)
{
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
	s->prepared = false;
}

/* Runs a prepared statement; reconnects and retries once when the
 * connection turns out to be dead (db_lost: the server restarted, or a
 * standby took over, since). With failed, an error the server answered
 * is not logged: its result goes there for the caller, who reads its
 * fields and clears it (NULL when there is none). */
static PGresult *
store_exec_failed(struct store *s, const char *name, int n,
    const char *const *vals, const int *lens, const int *formats, int *err,
    PGresult **failed)
{
	char q[256];

	s->retried = false;
	if (failed != NULL)
		*failed = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;
		const char *code;

		s->retried = attempt > 0;
		if (store_open(s) != 0) {
			*err = STORE_DOWN;
			return NULL;
		}
		r = PQexecPrepared(s->conn, name, n, vals, lens, formats, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			return r;
		if (db_lost(s->conn, r)) {
			PQclear(r);
			store_close(s);
			continue;
		}
		code = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		*err = code != NULL && strcmp(code, "23505") == 0 ?
		    STORE_DUPLICATE : STORE_ERROR;
		if (failed != NULL) {
			*failed = r;
			return NULL;
		}
		/* A unique violation of a statement sent again on a new link
		 * is, as a rule, its first sending's commit: the caller tells
		 * (store_submitted), and it is no error. */
		if (!(s->retried && *err == STORE_DUPLICATE))
			log_error("db_query_failed", "statement=%s error=%s", name,
			    db_error(s->conn, r, q, sizeof(q)));
		PQclear(r);
		return NULL;
	}
	*err = STORE_DOWN;
	return NULL;
}

static PGresult *
store_exec(struct store *s, const char *name, int n, const char *const *vals,
    const int *lens, const int *formats, int *err)
{
	return store_exec_failed(s, name, n, vals, lens, formats, err, NULL);
}

bool
store_healthy(struct store *s)
{
	int err;
	PGresult *r = store_exec(s, "health", 0, NULL, NULL, NULL, &err);

	PQclear(r);
	return r != NULL;
}

int
store_locations_json(struct store *s, struct buf *out)
{
	int err, rows;
	PGresult *r = store_exec(s, "locations", 0, NULL, NULL, NULL, &err);
	json_t *a;
	char *text;

	if (r == NULL)
		return err == STORE_DOWN ? STORE_DOWN : STORE_ERROR;
	a = json_array();
	rows = PQntuples(r);
	for (int i = 0; i < rows; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "slug",
		    PQgetvalue(r, i, 0), "name", PQgetvalue(r, i, 1)));
	PQclear(r);
	/* Compact, keys in docs/interface.md's order: the page's script and any
	 * cache see the same bytes every time. */
	text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (text == NULL)
		return STORE_ERROR;
	buf_adds(out, text);
	free(text);
	return STORE_OK;
}

/* The post was sent twice, the link having broken, and the second found
 * the reference taken: the first committed. Answer as it would have
 * (a 40-bit reference drawn at that very moment by another post is not
 * worth a thought). */
static int
store_submitted(struct store *s, struct store_posted *out)
{
	const char *vals[] = { out->reference };
	int err;
	PGresult *r = store_exec(s, "submitted", 1, vals, NULL, NULL, &err);

	if (r == NULL)
		return err == STORE_DOWN ? STORE_DOWN : STORE_ERROR;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return STORE_ERROR;
	}
	out->location = out->stored = true;
	if (!PQgetisnull(r, 0, 0))
		snprintf(out->thank_you_url, sizeof(out->thank_you_url), "%s",
		    PQgetvalue(r, 0, 0));
	PQclear(r);
	log_info("submit_recovered", "reference=%s", out->reference);
	return STORE_OK;
}

static void
copy_value(const PGresult *r, int col, char *buf, size_t size)
{
	snprintf(buf, size, "%s", PQgetisnull(r, 0, col) ? "" :
	    PQgetvalue(r, 0, col));
}

/* The answer of a post that failed: the database's over-the-limit
 * (FD429: the request was stored, then the count found the address over
 * its limit, and nothing was kept), a reference taken (STORE_DUPLICATE),
 * or an error, logged. Clears failed. */
static int
store_post_failed(struct store *s, PGresult *failed, int err,
    struct store_posted *out)
{
	const char *code = PQresultErrorField(failed, PG_DIAG_SQLSTATE);
	const char *detail = PQresultErrorField(failed,
	    PG_DIAG_MESSAGE_DETAIL);
	char q[256];

	if (code != NULL && strcmp(code, "FD429") == 0) {
		out->retry_after = detail != NULL ? atol(detail) : 0;
		/* Never too little: the longest a post can count. */
		if (out->retry_after <= 0 || out->retry_after > 3660)
			out->retry_after = 3660;
		PQclear(failed);
		return STORE_OK;
	}
	if (err != STORE_DUPLICATE)
		log_error("db_query_failed", "statement=post error=%s",
		    db_error(s->conn, failed, q, sizeof(q)));
	PQclear(failed);
	return err;
}

int
store_post(struct store *s, const struct store_post *in,
    struct store_posted *out)
{
	const struct appointment *a = in->a;
	char lim[24];

	memset(out, 0, sizeof(*out));
	snprintf(lim, sizeof(lim), "%ld", in->limit);
	/* A new reference that collides with an old one is drawn again. */
	for (int tries = 0; tries < 5; tries++) {
		const char *vals[17] = { in->addr, lim, out->reference,
		    a->location, in->store ? "t" : "f", in->spam ? "t" : "f",
		    a->first_name, a->last_name, a->email, a->phone, a->service,
		    a->preferred_time, a->message, a->consent ? "t" : "f",
		    in->key, in->key != NULL ? in->fp : NULL, in->msgid_domain };
		int lens[17] = { 0 }, formats[17] = { 0 };
		PGresult *r, *failed;
		int err;

		lens[15] = (int)in->fplen;
		formats[15] = 1;
		if (reference_new(out->reference) == -1)
			return STORE_ERROR;
		r = store_exec_failed(s, "post", 17, vals, lens, formats, &err,
		    &failed);
		if (r == NULL && failed != NULL)
			err = store_post_failed(s, failed, err, out);
		if (r == NULL && err == STORE_DUPLICATE && s->retried)
			return store_submitted(s, out);
		if (r == NULL && err == STORE_DUPLICATE)
			continue;
		if (r == NULL)
			return err;
		out->retry_after = atol(PQgetvalue(r, 0, 0));
		out->location = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		copy_value(r, 2, out->thank_you_url, sizeof(out->thank_you_url));
		if (!PQgetisnull(r, 0, 3)) {
			out->key = strcmp(PQgetvalue(r, 0, 4), "t") == 0 ?
			    KEY_SAME : KEY_OTHER;
			copy_value(r, 3, out->key_reference,
			    sizeof(out->key_reference));
			copy_value(r, 5, out->key_thank_you_url,
			    sizeof(out->key_thank_you_url));
		}
		out->stored = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
		PQclear(r);
		return STORE_OK;
	}
	return STORE_ERROR;
}

int
store_outbox_stats(struct store *s, struct buf *out)
{
	static const char *const lines[] = {
		"# HELP frontdesk_outbox_depth Messages waiting to be sent.\n"
		"# TYPE frontdesk_outbox_depth gauge\nfrontdesk_outbox_depth %s\n",
		"# HELP frontdesk_outbox_oldest_pending_seconds Age of the oldest "
		"message waiting.\n# TYPE frontdesk_outbox_oldest_pending_seconds "
		"gauge\nfrontdesk_outbox_oldest_pending_seconds %s\n",
		"# HELP frontdesk_outbox_dead Messages given up on.\n# TYPE "
		"frontdesk_outbox_dead gauge\nfrontdesk_outbox_dead %s\n",
		/* A gauge, not a counter: purge takes old attempts away with
		 * their requests, and a counter must never go down. */
		"# HELP frontdesk_delivery_attempts Delivery attempts on record "
		"(purge removes old ones), by outcome.\n# TYPE "
		"frontdesk_delivery_attempts gauge\n"
		"frontdesk_delivery_attempts{outcome=\"sent\"} %s\n",
		"frontdesk_delivery_attempts{outcome=\"retry\"} %s\n",
		"frontdesk_delivery_attempts{outcome=\"dead\"} %s\n",
	};
	int err;
	PGresult *r = store_exec(s, "outbox_stats", 0, NULL, NULL, NULL, &err);

	if (r == NULL)
		return err == STORE_DOWN ? STORE_DOWN : STORE_ERROR;
	for (int i = 0; i < 6; i++)
		buf_printf(out, lines[i], PQgetvalue(r, 0, i));
	PQclear(r);
	return STORE_OK;
}

int
store_mailer_heartbeat(struct store *s, struct buf *out)
{
	int err;
	PGresult *r = store_exec(s, "mailer_heartbeat", 0, NULL, NULL, NULL,
	    &err);

	if (r == NULL)
		return err == STORE_DOWN ? STORE_DOWN : STORE_ERROR;
	buf_printf(out, "# HELP frontdesk_mailer_heartbeat_age_seconds Seconds "
	    "since a mailer last wrote its heartbeat (every 5 s while it runs; "
	    "+Inf: never).\n# TYPE frontdesk_mailer_heartbeat_age_seconds "
	    "gauge\nfrontdesk_mailer_heartbeat_age_seconds %s\n",
	    PQgetisnull(r, 0, 0) ? "+Inf" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return STORE_OK;
}

int
store_active_locations(struct store *s, char ***pairs, size_t *n)
{
	int err, rows;
	PGresult *r = store_exec(s, "active_locations", 0, NULL, NULL, NULL,
	    &err);

	*pairs = NULL;
	*n = 0;
	if (r == NULL)
		return err == STORE_DOWN ? STORE_DOWN : STORE_ERROR;
	rows = PQntuples(r);
	if ((*pairs = calloc(2 * (size_t)rows + 1, sizeof(**pairs))) == NULL) {
		PQclear(r);
		return STORE_ERROR;
	}
	for (int i = 0; i < rows; i++) {
		char *slug = strdup(PQgetvalue(r, i, 0));
		char *url = strdup(PQgetvalue(r, i, 1));

		if (slug == NULL || url == NULL) {
			free(slug);
			free(url);
			continue;
		}
		(*pairs)[2 * *n] = slug;
		(*pairs)[2 * *n + 1] = url;
		(*n)++;
	}
	PQclear(r);
	return STORE_OK;
}

/* Does the database refuse these values for good? A data exception
 * (class 22) or an integrity violation (23) is the entry's own: the same
 * values meet the same refusal on every try. A unique violation (23505)
 * is not: the statement handles the reference and the key that a replay
 * can meet, so one is a race with a twin being committed, which the next
 * try sees. Every other refusal (a revoked grant, 42501, or a schema not
 * migrated yet, class 42; a lock, 55; a timeout or a shutdown, 57;
 * resources, 53; ...) is the database's state, which an operator fixes:
 * for now. */
static bool
refused_for_good(const char *state)
{
	return (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) &&
	    strcmp(state, "23505") != 0;
}

/* One line per replayed entry: key=new (stored under its key, or with
 * none), key=same (a repost of a post stored before: stored nothing, the
 * reference is an alias of the first), key=other (the key was the first
 * post's: stored without it). */
static void
store_log_replayed(const struct spool_entry *e, const char *inserted,
    const char *how, const char *first)
{
	char q[64];

	if (e->key == NULL || strcmp(how, "new") == 0)
		log_info("spool_replayed", "reference=%s inserted=%s",
		    e->reference, log_value(q, sizeof(q), inserted));
	else if (strcmp(how, "same") == 0)
		log_info("spool_replayed", "reference=%s inserted=0 key=same "
		    "alias_of=%s", e->reference, log_value(q, sizeof(q), first));
	else
		log_warn("spool_replayed", "reference=%s inserted=%s key=other "
		    "key_reference=%s hint=\"its key was taken for other fields "
		    "first: stored without it\"", e->reference,
		    inserted[0] == '1' ? "1" : "0", log_value(q, sizeof(q),
		    first));
}

int
store_replay(struct store *s, const struct spool_entry *e, char state[6])
{
	const struct appointment *a = &e->a;
	unsigned char fp[FINGERPRINT_LEN];
	const char *vals[15] = { e->reference, a->location,
	    e->spam ? "spam" : "received", a->first_name, a->last_name,
	    a->email, a->phone, a->service, a->preferred_time, a->message,
	    a->consent ? "t" : "f", e->key, e->created_at,
	    e->key ? (const char *)fp : NULL, e->msgid_domain };
	int lens[15] = { 0 }, formats[15] = { 0 };
	int err, result;
	PGresult *r, *failed;

	/* The entry holds the request as validation stored it: its digest
	 * is its post's (fingerprint.h). */
	fingerprint_digest(a, NULL, fp);
	lens[13] = (int)sizeof(fp);
	formats[13] = 1;
	state[0] = '\0';
	r = store_exec_failed(s, "replay", 15, vals, lens, formats, &err,
	    &failed);
	if (r == NULL && err == STORE_DOWN)
		return STORE_DOWN;
	if (r == NULL) {
		const char *code = failed != NULL ?
		    PQresultErrorField(failed, PG_DIAG_SQLSTATE) : NULL;

		if (code != NULL)
			snprintf(state, 6, "%.5s", code);
		PQclear(failed);
		return refused_for_good(state) ? STORE_REFUSED : STORE_ERROR;
	}
	result = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? STORE_OK :
	    STORE_LOCATION_GONE;
	/* The reference passed reference_valid (FD- and 8 of Crockford's
	 * alphabet): nothing in it to quote, and bare as in every other
	 * line, so that reference=FD-... follows a request through the log.
	 * The key's own reference comes from the database: a value like any
	 * other. */
	if (result == STORE_OK)
		store_log_replayed(e, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
		    PQgetvalue(r, 0, 3));
	PQclear(r);
	return result;
}
