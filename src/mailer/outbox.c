/* outbox: the mailer's side of the queue: claim, route, record. */
#include <sys/random.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db/db.h"
#include "common/log.h"
#include "alert.h"
#include "outbox.h"

/* The next due message, claimed: pending and due, or sending under a
 * lease that ran out (its mailer died). SKIP LOCKED lets several mailers
 * claim side by side; the lease keeps each message to one of them. LEASE
 * is the lease's parameter, NOT an id that may not be claimed (the one
 * being recorded in the same statement). */
#define CLAIM_CTES(LEASE, NOT) \
	"c AS (" \
	"  SELECT id FROM outbox" \
	"  WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()" \
	"   AND (status = 'pending' OR lease_until < now())" NOT \
	"  ORDER BY next_attempt_at LIMIT 1" \
	"  FOR UPDATE SKIP LOCKED" \
	"), n AS (" \
	"  UPDATE outbox o SET status = 'sending', claimed_by = $2," \
	"   lease_until = now() + make_interval(secs => " LEASE "::integer)" \
	"  FROM c WHERE o.id = c.id" \
	"  RETURNING o.id, o.request_id, o.message_id, o.attempts, o.created_at" \
	")"
/* The claimed message with its location's routes, a row each (NULLs
 * when there are none): read as it is sent, so a route change reaches
 * mail still queued. One row of NULLs when nothing was claimed. */
#define CLAIM_ROWS \
	" n.id, n.message_id, n.attempts," \
	"  floor(extract(epoch FROM now() - n.created_at))::bigint," \
	"  r.location_id, r.reference, l.name, r.first_name, r.last_name," \
	"  r.email, r.phone, r.service, r.preferred_time, r.message," \
	"  r.consent, floor(extract(epoch FROM r.created_at))::bigint," \
	"  ro.email, ro.kind" \
	" FROM (n JOIN appointment_requests r ON r.id = n.request_id" \
	"  JOIN locations l ON l.id = r.location_id" \
	"  LEFT JOIN routes ro ON ro.location_id = r.location_id)" \
	" RIGHT JOIN (SELECT 1) AS one ON true ORDER BY ro.id"
/* The outcome and its attempt row. The row moves on only while the
 * claim is still ours. */
#define RECORD_CTES \
	"u AS (" \
	"  UPDATE outbox SET status = $3, attempts = attempts + 1," \
	"   next_attempt_at = CASE WHEN $3 = 'pending'" \
	"    THEN now() + make_interval(secs => $5::integer)" \
	"    ELSE next_attempt_at END," \
	"   lease_until = NULL," \
	"   last_error = CASE WHEN $3 = 'sent' THEN NULL ELSE $7 END," \
	"   sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END" \
	"  WHERE id = $1 AND status = 'sending' AND claimed_by = $2" \
	"  RETURNING id" \
	"), a AS (" \
	"  INSERT INTO outbox_attempts (outbox_id, outcome, smtp_code, reply)" \
	"  VALUES ($1, $4, $6, $7)" \
	")"

/* One prepared statement per question the mailer asks. */
static const struct db_statement statements[] = {
	{ "claim", "WITH " CLAIM_CTES("$1", "") " SELECT NULL::bigint,"
	    CLAIM_ROWS, 2 },
	{ "record", "WITH " RECORD_CTES " SELECT count(*) FROM u", 7 },
	/* A message recorded and the next claimed, in one round trip and
	 * one transaction (the next one's lease starts as it is sent). */
	{ "record_claim", "WITH " RECORD_CTES ", "
	    CLAIM_CTES("$8", " AND id <> $1::bigint")
	    " SELECT (SELECT count(*) FROM u)," CLAIM_ROWS, 8 },
	/* A claimed message not sent (the mailer is stopping): due again at
	 * once, for any mailer. */
	{ "release",
	    "UPDATE outbox SET status = 'pending', lease_until = NULL"
	    " WHERE id = $1 AND status = 'sending' AND claimed_by = $2"
	    " RETURNING id", 2 },
};

enum claim_col { C_RECORDED, C_ID, C_MSGID, C_ATTEMPTS, C_AGE, C_LOCATION_ID,
    C_REFERENCE, C_LOCATION, C_FIRST, C_LAST, C_EMAIL, C_PHONE, C_SERVICE,
    C_TIME, C_MESSAGE, C_CONSENT, C_RECEIVED, C_ROUTE_EMAIL, C_ROUTE_KIND };

static int
outbox_prepare(struct outbox *o)
{
	if (db_prepare(o->conn, statements, sizeof(statements) /
	    sizeof(statements[0])) == -1)
		return -1;
	return alert_prepare(o->conn);
}

/* Statements answer within outbox_statement_ms (a quarter of the SMTP
 * timeout, at least a second), so a message's work stays inside its
 * lease (outbox_lease counts them). */
static int
outbox_session(struct outbox *o)
{
	char sql[64], q[256];
	PGresult *r;
	int ok;

	snprintf(sql, sizeof(sql), "SET statement_timeout = %ld",
	    outbox_statement_ms(o->cfg->smtp_timeout));
	r = PQexec(o->conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		log_error("db_session_failed", "error=%s", db_error(o->conn, r,
		    q, sizeof(q)));
	PQclear(r);
	return ok ? 0 : -1;
}

/* Host (cut to 63 bytes), pid (a long: 20 characters at most), nonce. */
_Static_assert(sizeof(((struct outbox *)0)->claimer) >= 63 + 1 + 20 + 1 +
    16 + 1, "claimer too small");

/*
 * Tells this process apart from any other: mailers in containers may
 * share a host name and all be PID 1. Drawn once: outbox_open runs again
 * on every reconnect, and the message in flight is recorded only where
 * claimed_by still names us.
 */
static uint64_t
outbox_nonce(void)
{
	static uint64_t nonce;
	static bool drawn;

	if (!drawn) {
		/* GRND_NONBLOCK: early at boot, a weaker nonce beats a hang. */
		if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(nonce))
			nonce = (uint64_t)time(NULL) ^ (uint64_t)getpid();
		drawn = true;
	}
	return nonce;
}

int
outbox_open(struct outbox *o, const struct config *cfg)
{
	/* Our defaults come first so that the conninfo can override them.
	 * tcp_user_timeout: a primary that vanished (a failover) is noticed
	 * in seconds even with a claim unanswered, where keepalives do not
	 * apply; read-write: the primary of a multi-host conninfo's hosts. */
	const char *keys[] = { "application_name", "connect_timeout",
	    "keepalives_idle", "keepalives_interval", "keepalives_count",
	    "tcp_user_timeout", "target_session_attrs", "dbname", NULL };
	const char *vals[] = { "frontdesk-mailer", "5", "10", "5", "3",
	    "15000", "read-write", cfg->db_conninfo, NULL };
	char host[64], q[256];

	o->cfg = cfg;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(o->claimer, sizeof(o->claimer), "%s:%ld:%016" PRIx64, host,
	    (long)getpid(), outbox_nonce());
	o->lease = outbox_lease(cfg->smtp_timeout, cfg->mail_retry_max);
	outbox_close(o);
	o->conn = PQconnectdbParams(keys, vals, 1);
	if (o->conn == NULL || PQstatus(o->conn) != CONNECTION_OK) {
		log_warn("db_connect_failed", "error=%s", log_quote(q, sizeof(q),
		    o->conn ? PQerrorMessage(o->conn) : "out of memory"));
		outbox_close(o);
		return -1;
	}
	if (outbox_session(o) == -1 || outbox_prepare(o) == -1) {
		outbox_close(o);
		return -1;
	}
	return 0;
}

void
outbox_close(struct outbox *o)
{
	if (o->conn != NULL)
		PQfinish(o->conn);
	o->conn = NULL;
}

/* Runs a prepared statement; NULL after logging the error (and dropping
 * a broken connection, for the caller to open again). */
static PGresult *
outbox_exec(struct outbox *o, const char *name, int n,
    const char *const *vals)
{
	PGresult *r;
	char q[256];

	if (o->conn == NULL)
		return NULL;
	r = PQexecPrepared(o->conn, name, n, vals, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	log_error("db_query_failed", "statement=%s error=%s", name,
	    db_error(o->conn, r, q, sizeof(q)));
	if (db_lost(o->conn, r))
		outbox_close(o);
	PQclear(r);
	return NULL;
}

struct pg_result *
outbox_query(struct outbox *o, const char *name, int n,
    const char *const *vals)
{
	return outbox_exec(o, name, n, vals);
}

static const char *
col(PGresult *r, int c)
{
	return PQgetisnull(r, 0, c) ? NULL : PQgetvalue(r, 0, c);
}

/* The lease's end as the claim is sent: the lease on the server ends no
 * earlier than this. */
static long long
lease_end_ms(const struct outbox *o)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 +
	    (long long)o->lease * 1000;
}

/* The claimed message of r (CLAIM_ROWS): 1, and m owns r; 0, none. */
static int
claimed(PGresult *r, long long lease_end, struct outbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (PQntuples(r) == 0 || PQgetisnull(r, 0, C_ID))
		return 0;
	m->res = r;
	m->lease_end_ms = lease_end;
	m->id = strtoll(col(r, C_ID), NULL, 10);
	m->attempts = atoi(col(r, C_ATTEMPTS));
	m->age = strtol(col(r, C_AGE), NULL, 10);
	snprintf(m->location_id, sizeof(m->location_id), "%s",
	    col(r, C_LOCATION_ID));
	m->mail.message_id = col(r, C_MSGID);
	m->mail.reference = col(r, C_REFERENCE);
	m->mail.location = col(r, C_LOCATION);
	m->mail.first_name = col(r, C_FIRST);
	m->mail.last_name = col(r, C_LAST);
	m->mail.email = col(r, C_EMAIL);
	m->mail.phone = col(r, C_PHONE);
	m->mail.service = col(r, C_SERVICE);
	m->mail.preferred_time = col(r, C_TIME);
	m->mail.message = col(r, C_MESSAGE);
	m->mail.consent = strcmp(col(r, C_CONSENT), "t") == 0;
	m->mail.received = (time_t)strtoll(col(r, C_RECEIVED), NULL, 10);
	return 1;
}

int
outbox_claim(struct outbox *o, struct outbox_msg *m)
{
	char lease[32];
	const char *vals[] = { lease, o->claimer };
	long long end = lease_end_ms(o);
	PGresult *r;

	memset(m, 0, sizeof(*m));
	snprintf(lease, sizeof(lease), "%ld", o->lease);
	if ((r = outbox_exec(o, "claim", 2, vals)) == NULL)
		return -1;
	if (claimed(r, end, m) == 0) {
		PQclear(r);
		return 0;
	}
	return 1;
}

void
outbox_recipients(struct outbox *o, const struct outbox_msg *m,
    struct route_rcpts *rc)
{
	const char *emails[ROUTE_MAX_ROWS], *kinds[ROUTE_MAX_ROWS];
	PGresult *r = m->res;
	int rows = PQgetisnull(r, 0, C_ROUTE_EMAIL) ? 0 : PQntuples(r);
	int n = rows > ROUTE_MAX_ROWS ? ROUTE_MAX_ROWS : rows;

	for (int i = 0; i < n; i++) {
		emails[i] = PQgetvalue(r, i, C_ROUTE_EMAIL);
		kinds[i] = PQgetvalue(r, i, C_ROUTE_KIND);
	}
	route_resolve(rc, emails, kinds, (size_t)n, o->cfg->mail_default_to);
	rc->skipped += (size_t)(rows - n);
}

static void
record_params(const struct outbox *o, const struct outbox_msg *m,
    const struct outbox_result *res, char id[32], char delay[32],
    char code[16], const char *vals[7])
{
	static const char *const status[] = { "sent", "pending", "dead" };
	static const char *const outcome[] = { "sent", "retry", "dead" };

	snprintf(id, 32, "%lld", m->id);
	snprintf(delay, 32, "%ld", res->delay);
	snprintf(code, 16, "%ld", res->smtp_code);
	vals[0] = id;
	vals[1] = o->claimer;
	vals[2] = status[res->outcome];
	vals[3] = outcome[res->outcome];
	vals[4] = delay;
	vals[5] = res->smtp_code ? code : NULL;
	vals[6] = res->reply;
}

static void
check_recorded(const char *count, const struct outbox_msg *m)
{
	if (strcmp(count, "1") != 0)
		log_warn("lease_lost", "outbox_id=%lld reference=%s "
		    "hint=\"another mailer claimed it: it may arrive twice\"",
		    m->id, m->mail.reference);
}

int
outbox_record(struct outbox *o, const struct outbox_msg *m,
    const struct outbox_result *res)
{
	char id[32], delay[32], code[16];
	const char *vals[7];
	PGresult *r;

	record_params(o, m, res, id, delay, code, vals);
	if ((r = outbox_exec(o, "record", 7, vals)) == NULL)
		return -1;
	check_recorded(PQgetvalue(r, 0, 0), m);
	PQclear(r);
	return 0;
}

int
outbox_record_claim(struct outbox *o, const struct outbox_msg *m,
    const struct outbox_result *res, struct outbox_msg *next)
{
	char id[32], delay[32], code[16], lease[32];
	const char *vals[8];
	long long end = lease_end_ms(o);
	PGresult *r;

	memset(next, 0, sizeof(*next));
	record_params(o, m, res, id, delay, code, vals);
	snprintf(lease, sizeof(lease), "%ld", o->lease);
	vals[7] = lease;
	if ((r = outbox_exec(o, "record_claim", 8, vals)) == NULL)
		return -1;
	check_recorded(PQgetvalue(r, 0, C_RECORDED), m);
	if (claimed(r, end, next) == 0) {
		PQclear(r);
		return 0;
	}
	return 1;
}

void
outbox_release(struct outbox *o, const struct outbox_msg *m)
{
	char id[32];
	const char *vals[] = { id, o->claimer };

	snprintf(id, sizeof(id), "%lld", m->id);
	PQclear(outbox_exec(o, "release", 2, vals));
}

void
outbox_msg_free(struct outbox_msg *m)
{
	PQclear(m->res);
	memset(m, 0, sizeof(*m));
}

void
outbox_result_free(struct pg_result *res)
{
	PQclear(res);
}
